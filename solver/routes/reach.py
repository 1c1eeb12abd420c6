"""Could one responder, from an empty route, make a delivery at all?

The test behind "infeasible" versus "feasible but not fitted": for every responder at once
(numpy over vehicles), can it leave its base within its shift, fetch the boxes at the
order's pickup point while it is open, reach the door inside the window and be back at its
route's end within its shift and its `max_route_minutes`, carrying the boxes and cleared
for the door's zone? A handoff (sealed zone with a gate) needs someone to bring the boxes
to the gate and a cleared responder to take them on from there.

Leaving later never makes a route longer here (it only cuts waiting), and every deadline
only bounds the departure from above, so the latest departure that meets every deadline
decides: one forward pass from it per responder, no search.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.routes.prepare import Prepared

INF = 10**9


@dataclass(frozen=True)
class Leg:
    """One pickup-and-drop from an empty route: fetch at `origin` (a point index) within
    `hours`, spending `origin_service`; serve `dest` within `window`, spending
    `dest_service`; `boxes` on board in between."""

    origin: int
    hours: tuple[int, int]
    origin_service: int
    dest: int
    window: tuple[int, int]
    dest_service: int
    boxes: int


class Fleet:
    """Per-vehicle arrays the tests need, built once per problem."""

    def __init__(self, prep: Prepared):
        pb = prep.problem
        self.prep = prep
        self.speed = np.array([v.speed_kmh for v in pb.vehicles], dtype=np.float64)
        shift = np.array([v.shift for v in pb.vehicles], dtype=np.int64).reshape(-1, 2)
        self.shift0, self.shift1 = shift[:, 0], shift[:, 1]
        self.cap = np.array([v.capacity for v in pb.vehicles], dtype=np.int64)
        self.longest = np.array([INF if v.max_route_minutes is None else v.max_route_minutes
                                 for v in pb.vehicles], dtype=np.int64)
        self._cleared: dict[int, np.ndarray] = {}

    def cleared(self, zone: int) -> np.ndarray:
        if zone not in self._cleared:
            self._cleared[zone] = np.array([zone in c for c in self.prep.clear], dtype=bool)
        return self._cleared[zone]

    def _minutes(self, a, b) -> np.ndarray:
        a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
        return np.asarray(self.prep.places.minutes(a, b, self.speed), dtype=np.int64)

    def leg_ok(self, leg: Leg, allowed: np.ndarray) -> np.ndarray:
        """Per vehicle: can it do `leg` alone, leaving its base and ending at its end?"""
        prep = self.prep
        a = self._minutes(prep.base, leg.origin)
        b = self._minutes(leg.origin, np.full(len(a), leg.dest))
        c = self._minutes(leg.dest, prep.end)
        sp, sd = leg.origin_service, leg.dest_service
        (h0, h1), (w0, w1) = leg.hours, leg.window
        latest = np.minimum.reduce([h1 - a, w1 - a - sp - b, self.shift1 - a - sp - b - sd - c])
        s = np.maximum(latest, self.shift0)
        at_origin = np.maximum(s + a, h0)
        at_dest = np.maximum(at_origin + sp + b, w0)
        back = at_dest + sd + c
        return (allowed & (self.cap >= leg.boxes) & (latest >= self.shift0) & (at_origin <= h1)
                & (at_dest <= w1) & (back <= self.shift1) & (back - s <= self.longest))

    def gate_ready(self, origin: int, hours: tuple[int, int], origin_service: int,
                   gate: int, gate_service: int, due: int, boxes: int) -> int:
        """Earliest minute anyone could have handed boxes over at the gate (drop start +
        gate service), or INF."""
        prep = self.prep
        a = self._minutes(prep.base, origin)
        g = self._minutes(origin, np.full(len(a), gate))
        c = self._minutes(gate, prep.end)
        s = np.maximum(self.shift0, hours[0] - a)   # no waiting at the pickup point
        at_origin = np.maximum(s + a, hours[0])
        drop = at_origin + origin_service + g
        back = drop + gate_service + c
        ok = ((self.cap >= boxes) & (at_origin <= hours[1]) & (drop <= due)
              & (back <= self.shift1) & (back - s <= self.longest))
        return int((drop + gate_service)[ok].min()) if ok.any() else INF

    def can_deliver(self, pickup: int, door: int, window: tuple[int, int], service: int,
                    boxes: int, zone: int | None, handoff: bool) -> bool:
        """Whether some responder (two for a handoff) could deliver these boxes from
        pickup point `pickup` to `door` inside `window`, each from an empty route."""
        prep = self.prep
        pb = prep.problem
        pp = pb.pickup_points[pickup]
        origin = int(prep.pickup_point[pickup])
        allowed = np.ones(len(self.cap), dtype=bool) if zone is None else self.cleared(zone)
        if not handoff:
            return bool(self.leg_ok(Leg(origin, pp.hours, pp.service_minutes, door, window,
                                        service, boxes), allowed).any())
        gate = int(prep.gate_point[zone])
        gs = pb.zones[zone].gate_service_minutes
        ready = self.gate_ready(origin, pp.hours, pp.service_minutes, gate, gs, window[1],
                                boxes)
        if ready >= INF:
            return False
        return bool(self.leg_ok(Leg(gate, (ready, window[1]), 0, door, window, service, boxes),
                                allowed).any())
