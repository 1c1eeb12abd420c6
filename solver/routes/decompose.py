"""Split a big problem into parts small enough for one routing model each.

Jobs are grouped by what they need: jobs that enter a restricted zone (direct deliveries
into a controlled or gateless zone, second legs of handoffs) by zone, as they need that
zone's cleared responders; the others (including first legs, pickup point -> gate) all
together. A group larger than
`part_size` is cut in two at the median of its doors' longer axis, recursively, so parts are
compact (a part's tasks may come from several pickup points; they are mostly each door's
nearest). Responders are then shared out in proportion to each part's work (largest
remainder, at least one each) and matched to parts nearest-first: all (responder, part)
pairs sorted by the responder base's distance to the part (the mean of its doors and pickup
points), each taken while the part still has room. Zone parts take cleared responders
only.
Everything here is a pure function of the problem, so parts are the same run after run.
"""

from __future__ import annotations

import numpy as np

from solver import geo
from solver.routes.model import LEG_FROM_GATE, LEG_TO_GATE
from solver.routes.prepare import Prepared

NEAR = 24  # parts per vehicle considered in the first matching pass


def _split(ids: np.ndarray, xy: np.ndarray, part_size: int, out: list) -> None:
    if len(ids) <= part_size:
        out.append(ids)
        return
    pts = xy[ids]
    span = pts.max(axis=0) - pts.min(axis=0)
    axis = int(np.argmax(span * np.array([np.cos(np.radians(pts[:, 1].mean())), 1.0])))
    order = np.lexsort((ids, pts[:, axis]))
    half = len(ids) // 2
    _split(ids[order[:half]], xy, part_size, out)
    _split(ids[order[half:]], xy, part_size, out)


def decompose(prep: Prepared, jobs: list[tuple[int, int, int, int]], part_size: int,
              vehicle_ids=None) -> list[tuple[list[int], list[int]]]:
    """Parts as (indices into `jobs`, vehicle indices) over the given vehicles (default:
    all); every vehicle in at most one part."""
    tasks = prep.tasks
    vids = np.arange(len(prep.problem.vehicles)) if vehicle_ids is None else np.asarray(
        vehicle_ids, dtype=np.int64)
    nv = len(vids)
    if not jobs or nv == 0:
        return []
    xy = prep.places.xy
    where = np.array([prep.gate_point[tasks[t].zone] if leg == LEG_TO_GATE else tasks[t].door
                      for t, leg, _, _ in jobs], dtype=np.int64)
    door_xy = xy[where]
    groups: dict[tuple, list[int]] = {}
    for j, (t, leg, _, _) in enumerate(jobs):
        z = tasks[t].zone
        key = ("zone", z) if z is not None and leg != LEG_TO_GATE else ("free", -1)
        groups.setdefault(key, []).append(j)
    # at least one responder per part
    part_size = max(part_size, -(-len(jobs) // max(1, nv // 2)))
    parts: list[np.ndarray] = []
    part_key: list[tuple] = []
    for key in sorted(groups):
        out: list[np.ndarray] = []
        _split(np.array(groups[key], dtype=np.int64), door_xy, part_size, out)
        parts.extend(out)
        part_key.extend([key] * len(out))

    work = np.array([sum(tasks[jobs[j][0]].boxes for j in p) + len(p) for p in parts],
                    dtype=np.float64)
    quota = _shares(work, nv)
    start = [np.array([prep.gate_point[tasks[jobs[j][0]].zone] if jobs[j][1] == LEG_FROM_GATE
                       else prep.pickup_point[tasks[jobs[j][0]].pickup] for j in p])
             for p in parts]
    centre = np.array([np.vstack((door_xy[p], xy[s])).mean(0) for p, s in zip(parts, start,
                                                                              strict=True)])
    base_xy = xy[prep.base[vids]]
    dist = geo.haversine_m(base_xy[:, None, 0], base_xy[:, None, 1], centre[None, :, 0],
                           centre[None, :, 1])
    allowed = np.ones((nv, len(parts)), dtype=bool)
    cleared_for: dict[int, np.ndarray] = {}
    for j, (kind, z) in enumerate(part_key):
        if kind == "zone":
            if z not in cleared_for:
                cleared_for[z] = np.array([z in prep.clear[v] for v in vids], dtype=bool)
            allowed[:, j] = cleared_for[z]
    cost = np.where(allowed, dist, np.inf)
    members: list[list[int]] = [[] for _ in parts]
    for v, j in _match(cost, quota):
        members[j].append(int(vids[v]))
    return [(sorted(int(i) for i in p), sorted(m)) for p, m in zip(parts, members, strict=True)]


def _match(cost: np.ndarray, quota: np.ndarray) -> list[tuple[int, int]]:
    """(vehicle, part) pairs, cheapest first, each vehicle once and each part up to its
    quota. Pairs are first taken among each vehicle's NEAR nearest parts (a few hundred
    thousand pairs instead of millions), then the rest among what is left."""
    nv, npart = cost.shape
    taken = np.zeros(nv, dtype=bool)
    room = quota.copy()
    out = []
    k = min(npart, NEAR)
    near = np.argpartition(cost, k - 1, axis=1)[:, :k] if k < npart else np.tile(
        np.arange(npart), (nv, 1))
    rows = np.repeat(np.arange(nv), k)
    for pairs in ((rows, near.ravel()), None):
        rows_, cols = pairs if pairs is not None else (None, None)
        if rows_ is None:  # second pass: everything still open
            free = np.flatnonzero(~taken)
            open_ = np.flatnonzero(room > 0)
            if not len(free) or not len(open_):
                break
            rows_ = np.repeat(free, len(open_))
            cols = np.tile(open_, len(free))
        c = cost[rows_, cols]
        order = np.lexsort((cols, rows_, c))
        left = int(room.sum())
        for i in order:
            if left == 0 or not np.isfinite(c[i]):
                break
            v, j = int(rows_[i]), int(cols[i])
            if taken[v] or room[j] == 0:
                continue
            taken[v] = True
            room[j] -= 1
            left -= 1
            out.append((v, j))
    return out


def _shares(work: np.ndarray, n: int) -> np.ndarray:
    """n whole units in proportion to work, at least one each while units last."""
    k = len(work)
    if n <= k:
        out = np.zeros(k, dtype=np.int64)
        out[np.argsort(-work, kind="stable")[:n]] = 1
        return out
    exact = 1 + (n - k) * work / work.sum()
    out = np.floor(exact).astype(np.int64)
    rest = n - out.sum()
    out[np.argsort(-(exact - out), kind="stable")[:rest]] += 1
    return out
