"""The problem compiled into numpy arrays, plus the load already taken by fixed work.

Everything downstream (candidates, flow, CP-SAT, greedy, matching) reads these arrays rather
than the dataclasses, so model building stays vectorised at 100,000 requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from solver import geo
from solver.problem import KINDS, LICENCE_RANK, URGENCIES, Problem

BIG = 10**9  # "no limit" for caps and times; far above any minute count in one problem
NO_SHIFT_START, NO_SHIFT_END = -BIG, BIG


def distinct(values: np.ndarray) -> np.ndarray:
    """np.unique(values), by sorting: NumPy 2.4's hash-based unique takes seconds on
    millions of distinct int64 keys (3.4 s against 0.2 s for 3 M pair keys here)."""
    s = np.sort(values)
    return s[np.concatenate(([True], s[1:] != s[:-1]))] if len(s) else s


def _codes(values) -> dict[str, int]:
    return {v: i for i, v in enumerate(sorted(set(values)))}


def _bitmasks(sets: list[tuple[str, ...]], codes: dict[str, int]) -> np.ndarray:
    """(n, words) uint64 masks; several words when there are more than 64 distinct names."""
    words = max(1, (len(codes) + 63) // 64)
    out = np.zeros((len(sets), words), dtype=np.uint64)
    for i, names in enumerate(sets):
        if not names:
            continue
        for name in names:
            c = codes.get(name)
            if c is not None:
                out[i, c // 64] |= np.uint64(1) << np.uint64(c % 64)
    return out


@dataclass
class Index:
    problem: Problem
    req_pos: dict[str, int]
    resp_pos: dict[str, int]
    fund_pos: dict[str, int]
    # responders
    j_lon: np.ndarray
    j_lat: np.ndarray
    j_trig: np.ndarray
    j_radius: np.ndarray
    j_speed: np.ndarray
    j_licence: np.ndarray
    j_kind: np.ndarray
    j_quals: np.ndarray
    j_shift_start: np.ndarray  # (nJ, S); padded with empty shifts (start > end)
    j_shift_end: np.ndarray
    j_tasks_left: np.ndarray   # caps minus fixed work (BIG when uncapped)
    j_minutes_left: np.ndarray
    j_load_left: np.ndarray
    j_fixed_tasks: np.ndarray
    j_busy: list[list[tuple[int, int]]]  # fixed busy intervals per responder
    # requests
    r_lon: np.ndarray
    r_lat: np.ndarray
    r_trig: np.ndarray
    r_tier: np.ndarray
    r_value: np.ndarray       # v(r)
    r_weight: list[int]        # M[tier] * v(r), Python ints (may exceed int64)
    r_licence: np.ndarray
    r_quals: np.ndarray
    r_fixed: np.ndarray        # bool
    qual_codes: dict[str, int]
    fund_left: np.ndarray      # balance minus fixed charges
    scale_u: int               # U of the objective
    masks: dict = field(default_factory=dict)  # cached responder masks, see responder_mask


def per_problem(ix: Index, key: str, build: Callable[[], Any]) -> Any:
    """`build()`, kept in `ix.masks` under `key` for as long as the problem's request tuple
    is the same object (so a new problem never reads another's arrays)."""
    cached = ix.masks.get(key)
    if cached is None or cached[0] is not ix.problem.requests:
        ix.masks[key] = cached = (ix.problem.requests, build())
    return cached[1]


def responder_mask(ix: Index, what: str, key) -> np.ndarray:
    """Per-responder booleans for a key: 'category' (may serve it), 'zone' (cleared for it),
    'community' (serves it). All keys of one kind are built in a single pass, once."""
    if what not in ix.masks:
        resps = ix.problem.responders
        nj = len(resps)
        default = np.zeros(nj, dtype=bool)
        if what == "category":
            default = np.array([j.categories is None for j in resps], dtype=bool)
        names = {"category": "categories", "zone": "zone_clearances",
                 "community": "community_ids"}[what]
        cache: dict = {}
        for ji, j in enumerate(resps):
            for name in getattr(j, names) or ():
                if name not in cache:
                    cache[name] = default.copy()
                cache[name][ji] = True
        ix.masks[what] = (cache, default)
    cache, default = ix.masks[what]
    return cache.get(key, default)


def tier_multipliers(problem: Problem, values: np.ndarray, tiers: np.ndarray) -> list[int]:
    """M[tier] per README: one request of a tier outweighs all lower tiers together."""
    uw = problem.params.urgency_weight
    sums = [int(values[tiers == t].sum()) for t in range(len(URGENCIES))]
    mult: list[int] = []
    below = 0
    for t, name in enumerate(URGENCIES):
        m = uw[name] if t == 0 else max(uw[name], below // 1000 + 1)
        mult.append(m)
        below += m * sums[t]
    return mult


def request_values(problem: Problem) -> np.ndarray:
    tw = problem.params.tag_weight
    return np.array([1000 + sum(tw.get(t, 0) for t in set(r.resident_tags))
                     for r in problem.requests], dtype=np.int64)


def scale_u(problem: Problem) -> int:
    """U of the objective (README step 5), exact in Python floats/ints."""
    p = problem.params
    rmax = max((j.radius_m for j in problem.responders), default=0)
    n = sum(r.members for r in problem.requests)
    b = 0.0
    for r in problem.requests:
        d = rmax if r.max_distance_m is None else min(rmax, r.max_distance_m)
        b += r.members * (p.travel_weight_per_km * d / 1000 + p.same_community_bonus)
    b += p.continuity_bonus * len(problem.requests) + p.fairness_weight * n * (n - 1) / 2
    return int(np.floor(b)) + 1


def build_index(problem: Problem) -> Index:
    reqs, resps = problem.requests, problem.responders
    req_pos = {r.id: i for i, r in enumerate(reqs)}
    resp_pos = {j.id: i for i, j in enumerate(resps)}
    fund_pos = {f.id: i for i, f in enumerate(problem.funds)}
    names = [q for j in resps for q in j.qualifications]
    names += [q for r in reqs for q in r.qualifications]
    names += [q for r in reqs for s in (r.team or ()) for q in s.qualifications]
    qual_codes = _codes(names)
    nj = len(resps)
    n_shift = max([len(j.shifts) for j in resps if j.shifts is not None] + [1])
    ss = np.full((nj, n_shift), 1, dtype=np.int64)
    se = np.full((nj, n_shift), 0, dtype=np.int64)
    for i, j in enumerate(resps):
        for k, (a, b) in enumerate(j.shifts if j.shifts is not None else
                                   [(NO_SHIFT_START, NO_SHIFT_END)]):
            ss[i, k], se[i, k] = a, b

    def cap(values):
        return np.array([BIG if v is None else v for v in values], dtype=np.int64)

    tasks, minutes, load = (cap(j.max_tasks for j in resps), cap(j.max_minutes for j in resps),
                            cap(j.load_capacity for j in resps))
    fixed_tasks = np.zeros(nj, dtype=np.int64)
    busy: list[list[tuple[int, int]]] = [[] for _ in range(nj)]
    fund_left = np.array([f.balance for f in problem.funds], dtype=np.int64)
    j_lon = np.array([j.location[0] for j in resps], dtype=np.float64)
    j_lat = np.array([j.location[1] for j in resps], dtype=np.float64)
    j_speed = np.array([j.speed_kmh for j in resps], dtype=np.float64)
    overrides = travel_overrides(problem, req_pos, resp_pos)
    fixed_mask = np.zeros(len(reqs), dtype=bool)
    for f in problem.fixed:
        ri = req_pos[f.request_id]
        r = reqs[ri]
        fixed_mask[ri] = True
        for rid in f.responder_ids:
            ji = resp_pos[rid]
            metres, mins = pair_travel(problem, r, ji, j_lon, j_lat, j_speed, overrides, ri)
            fixed_tasks[ji] += 1
            minutes[ji] -= r.duration + 2 * mins
            load[ji] -= r.quantity
            if f.start is not None:
                busy[ji].append((f.start - mins, f.start + r.duration + mins))
        if f.fund_id is not None:
            fund_left[fund_pos[f.fund_id]] -= r.cost
    tasks = np.where(tasks >= BIG, BIG, tasks - fixed_tasks)
    values = request_values(problem)
    tiers = np.array([URGENCIES.index(r.urgency) for r in reqs], dtype=np.int64)
    mult = tier_multipliers(problem, values, tiers)
    return Index(
        problem=problem, req_pos=req_pos, resp_pos=resp_pos, fund_pos=fund_pos,
        j_lon=j_lon, j_lat=j_lat, j_trig=geo.trig(j_lon, j_lat),
        j_radius=np.array([j.radius_m for j in resps], np.int64),
        j_speed=j_speed, j_licence=np.array([LICENCE_RANK[j.licence] for j in resps], np.int64),
        j_kind=np.array([KINDS.index(j.kind) for j in resps], dtype=np.int64),
        j_quals=_bitmasks([j.qualifications for j in resps], qual_codes),
        j_shift_start=ss, j_shift_end=se, j_tasks_left=tasks,
        j_minutes_left=np.where(minutes >= BIG // 2, BIG, minutes),
        j_load_left=np.where(load >= BIG // 2, BIG, load), j_fixed_tasks=fixed_tasks,
        j_busy=[sorted(b) for b in busy],
        r_lon=np.array([r.location[0] for r in reqs], dtype=np.float64),
        r_lat=np.array([r.location[1] for r in reqs], dtype=np.float64),
        r_trig=geo.trig([r.location[0] for r in reqs], [r.location[1] for r in reqs]),
        r_tier=tiers, r_value=values,
        r_weight=[mult[int(t)] * int(v) for t, v in zip(tiers, values, strict=True)],
        r_licence=np.array([LICENCE_RANK[r.min_licence] for r in reqs], dtype=np.int64),
        r_quals=_bitmasks([r.qualifications for r in reqs], qual_codes),
        r_fixed=fixed_mask, qual_codes=qual_codes, fund_left=fund_left,
        scale_u=scale_u(problem))


def travel_overrides(problem: Problem, req_pos, resp_pos) -> dict[tuple[int, int], tuple[int, int]]:
    """(request, responder) -> (metres, minutes) from the problem's `travel` entries."""
    out: dict[tuple[int, int], tuple[int, int]] = {}
    for t in problem.travel or ():
        out[(req_pos[t.request], resp_pos[t.responder])] = (t.metres, t.minutes)
    return out


def pair_travel(problem, request, ji, j_lon, j_lat, j_speed, overrides, ri) -> tuple[int, int]:
    """(metres, minutes) for one pair, honouring `travel` overrides."""
    if (ri, ji) in overrides:
        return overrides[(ri, ji)]
    metres = int(geo.distance_m(j_lon[ji], j_lat[ji], request.location[0], request.location[1]))
    return metres, int(geo.travel_minutes(metres, j_speed[ji]))
