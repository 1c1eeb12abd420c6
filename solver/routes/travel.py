"""Metres and minutes between places: great-circle by default, or the client's matrix.

Every place of a problem (bases, route ends, pickup points, gates, doors) gets an index into
one table of points; models ask for sub-matrices over the indices they use.
"""

from __future__ import annotations

import numpy as np

from solver import geo
from solver.routes.problem import RoutesProblem


class Places:
    """The table of distinct points and the travel figures between them."""

    def __init__(self, problem: RoutesProblem):
        self._index: dict[tuple[float, float], int] = {}
        self.points: list[tuple[float, float]] = []
        self._matrix_row = None
        self._metres = self._minutes = None
        t = problem.travel
        if t is not None:
            self._metres = np.asarray(t.metres, dtype=np.int64)
            if t.minutes is not None:
                self._minutes = np.asarray(t.minutes, dtype=np.int64)
            self._matrix_at = {p: i for i, p in enumerate(t.points)}

    def add(self, point: tuple[float, float]) -> int:
        i = self._index.get(point)
        if i is None:
            i = self._index[point] = len(self.points)
            self.points.append(point)
        return i

    def freeze(self) -> None:
        self.xy = np.asarray(self.points, dtype=np.float64).reshape(-1, 2)
        if self._metres is not None:
            self._matrix_row = np.array([self._matrix_at[p] for p in self.points],
                                        dtype=np.int64)

    def metres(self, ia: np.ndarray, ib: np.ndarray) -> np.ndarray:
        """Integer metres from points ia to points ib (broadcasting)."""
        ia, ib = np.asarray(ia), np.asarray(ib)
        if self._matrix_row is not None:
            return self._metres[self._matrix_row[ia], self._matrix_row[ib]]
        return geo.distance_m(self.xy[ia, 0], self.xy[ia, 1], self.xy[ib, 0], self.xy[ib, 1])

    def both(self, ia: np.ndarray, ib: np.ndarray, speed_kmh: float
             ) -> tuple[np.ndarray, np.ndarray]:
        """`metres(ia, ib)` and `minutes(ia, ib, speed_kmh)` from one distance lookup."""
        m = self.metres(ia, ib)
        if self._minutes is not None:
            return m, self._minutes[self._matrix_row[np.asarray(ia)],
                                    self._matrix_row[np.asarray(ib)]]
        return m, geo.travel_minutes(m, speed_kmh)

    def minutes(self, ia: np.ndarray, ib: np.ndarray, speed_kmh: float) -> np.ndarray:
        """Whole travel minutes (the matrix's, else metres at `speed_kmh`, rounded up)."""
        if self._minutes is not None:
            return self._minutes[self._matrix_row[np.asarray(ia)],
                                 self._matrix_row[np.asarray(ib)]]
        return geo.travel_minutes(self.metres(ia, ib), speed_kmh)
