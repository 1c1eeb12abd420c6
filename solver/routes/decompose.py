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
    for j, (kind, z) in enumerate(part_key):
        if kind == "zone":
            allowed[:, j] = [z in prep.clear[v] for v in vids]
    cost = np.where(allowed, dist, np.inf)
    order = np.argsort(cost, axis=None, kind="stable")
    taken = np.zeros(nv, dtype=bool)
    room = quota.copy()
    members: list[list[int]] = [[] for _ in parts]
    flat_cost = cost.ravel()
    left = int(room.sum())
    for k in order:
        if left == 0 or not np.isfinite(flat_cost[k]):
            break
        v, j = divmod(int(k), len(parts))
        if taken[v] or room[j] == 0:
            continue
        taken[v] = True
        room[j] -= 1
        left -= 1
        members[j].append(int(vids[v]))
    return [(sorted(int(i) for i in p), sorted(m)) for p, m in zip(parts, members, strict=True)]


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
