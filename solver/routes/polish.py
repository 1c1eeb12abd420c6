"""Polish: neighbouring routes solved again together, starting from the routes they have.

The parts are solved apart, so a route near a part's edge was planned without the work just
across it, and the cuts between parts stay where they fell. Polish groups the routes of one
stage across those cuts: route centres (the mean of their drops) are split recursively at
the median along axes turned 45 degrees from the parts' cuts, until a group holds about
`size` jobs; each group also takes the nearest responders no route uses (at most IDLE per
group). A group is one routing model (`model.solve_part`) warm-started from its routes, so
its search starts where the parts stopped and only improves on it; it is kept when it
serves every job the old routes served, over fewer metres.

The groups are a pure function of the routes; how far each group's search gets is set by
its share of the clock (`solve._polish`), so a polished plan can differ from run to run.
"""

from __future__ import annotations

import numpy as np

from solver.routes import model
from solver.routes.model import Visit
from solver.routes.prepare import Prepared

IDLE = 2  # unused responders joined to each group, nearest to its centre
_DROPS = (model.DELIVER, model.GATE_DROP)


def _turned(xy: np.ndarray) -> np.ndarray:
    """Planar coordinates (longitude shrunk by the latitude's cosine) turned 45 degrees."""
    x = xy[:, 0] * np.cos(np.radians(xy[:, 1].mean())) if len(xy) else xy[:, 0]
    y = xy[:, 1]
    return np.column_stack([x + y, x - y]) / np.sqrt(2.0)


def _split(ids: np.ndarray, pts: np.ndarray, weight: np.ndarray, size: int, out: list) -> None:
    if weight[ids].sum() <= size or len(ids) <= 1:
        out.append(ids)
        return
    span = pts[ids].max(axis=0) - pts[ids].min(axis=0)
    axis = int(np.argmax(span))
    order = ids[np.lexsort((ids, pts[ids, axis]))]
    cum = np.cumsum(weight[order])
    half = int(np.clip(np.searchsorted(cum, cum[-1] / 2.0), 1, len(order) - 1))
    _split(order[:half], pts, weight, size, out)
    _split(order[half:], pts, weight, size, out)


def groups(prep: Prepared, routes: dict[int, list[Visit]], jobs: list[tuple[int, int, int, int]],
           vehicles: list[int], size: int) -> list[tuple[list[int], list[int], list]]:
    """Groups as (indices into `jobs`, vehicle ids, initial routes for `model.solve_part`)
    over the routes of `vehicles` (those of `routes` among them); only routes made of
    `jobs` are taken."""
    job_of = {(t, leg): j for j, (t, leg, _, _) in enumerate(jobs)}
    legs = {model.DELIVER: (model.DIRECT, model.LEG_FROM_GATE), model.GATE_DROP:
            (model.LEG_TO_GATE,), model.PICKUP: (model.DIRECT, model.LEG_TO_GATE),
            model.GATE_PICKUP: (model.LEG_FROM_GATE,)}
    mine = set(vehicles)
    busy, seqs, centre, weight = [], [], [], []
    for v in sorted(routes):
        if v not in mine:
            continue
        seq = []
        for x in routes[v][1:-1]:
            j = next((job_of[(x.task, leg)] for leg in legs[x.kind]
                      if (x.task, leg) in job_of), None)
            if j is None:
                break
            seq.append((j, x.kind in _DROPS))
        else:
            drops = [_drop_point(prep, jobs[j]) for j, d in seq if d]
            busy.append(v)
            seqs.append(seq)
            centre.append(prep.places.xy[drops].mean(axis=0))
            weight.append(len(drops))
    if not busy:
        return []
    pts = _turned(np.asarray(centre))
    cuts: list[np.ndarray] = []
    _split(np.arange(len(busy)), pts, np.asarray(weight, dtype=np.float64), size, cuts)
    cuts = [c for c in cuts if len(c) > 1]  # a lone route was polished by its part
    taken = set(busy)
    idle = [v for v in vehicles if v not in taken]
    extra = _share_idle(prep, idle, [np.asarray(centre)[c].mean(axis=0) for c in cuts])
    out = []
    for c, more in zip(cuts, extra, strict=True):
        js = sorted({j for i in c for j, _ in seqs[i]})
        local = {j: k for k, j in enumerate(js)}
        vids = [busy[i] for i in c] + more
        initial = [[(local[j], d) for j, d in seqs[i]] for i in c] + [[] for _ in more]
        out.append((js, vids, initial))
    return out


def _drop_point(prep: Prepared, job: tuple[int, int, int, int]) -> int:
    t = prep.tasks[job[0]]
    return int(prep.gate_point[t.zone]) if job[1] == model.LEG_TO_GATE else int(t.door)


def _share_idle(prep: Prepared, idle: list[int], centres: list[np.ndarray]) -> list[list[int]]:
    """Up to IDLE unused responders per group, each to one group, nearest pairs first."""
    out: list[list[int]] = [[] for _ in centres]
    if not idle or not centres:
        return out
    base = prep.places.xy[prep.base[np.asarray(idle)]]
    c = np.asarray(centres)
    lat = np.cos(np.radians(c[:, 1].mean()))
    d = np.hypot((base[:, None, 0] - c[None, :, 0]) * lat, base[:, None, 1] - c[None, :, 1])
    near = np.argsort(d, axis=0, kind="stable")[:IDLE * 4]  # per group, its nearest few
    rows = near.ravel()
    cols = np.tile(np.arange(len(centres)), near.shape[0])
    used = set()
    for k in np.lexsort((cols, rows, d[rows, cols])):
        i, g = int(rows[k]), int(cols[k])
        if i in used or len(out[g]) >= IDLE:
            continue
        used.add(i)
        out[g].append(idle[i])
    return out


def length(prep: Prepared, routes: dict[int, list[Visit]]) -> int:
    """The routes' metres in all."""
    return sum(metres(prep, v, r) for v, r in routes.items())


def metres(prep: Prepared, v: int, visits: list[Visit]) -> int:
    """A route's length: base, its visits' places, end."""
    pts = [int(prep.base[v])] + [point(prep, x) for x in visits[1:-1]] + [int(prep.end[v])]
    a = np.asarray(pts, dtype=np.int64)
    return int(prep.places.metres(a[:-1], a[1:]).sum())


def point(prep: Prepared, x: Visit) -> int:
    """The place index where visit x happens."""
    t = prep.tasks[x.task]
    if x.kind == model.PICKUP:
        return int(prep.pickup_point[t.pickup])
    if x.kind in (model.GATE_DROP, model.GATE_PICKUP):
        return int(prep.gate_point[t.zone])
    return int(t.door)
