"""The count variant on each request's nearest responders only, proven optimal for all.

Solving the flow on the k nearest feasible responders per request is much faster than on
every pair. Optimality for the full problem is then certified from node potentials: the
shortest-path distances d (<= 0) in the residual graph of the restricted optimum. A left-out
pair (u, j) could only improve the plan if its reduced cost `cost(u, j) + d(u) - d(j)` were
negative; since d(j) <= 0 and every left-out pair of u costs at least
`lb(u) = tw * (metres to u's nearest unexplored responder) - largest bonus`, the check
`lb(u) + d(u) >= 0` proves it for all of them. Requests that fail it get more neighbours
and the flow is solved again; the last resort looks at every responder in reach.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.spatial import cKDTree

from solver import geo
from solver.candidates import Candidates, build_candidates
from solver.flow import FlowResult, solve_flow
from solver.index import BIG, Index
from solver.problem import KINDS

VOLUNTEER = KINDS.index("volunteer")

FIRST_K = 16
ROUNDS = 3
SAMPLE = 500   # requests looked at to decide whether the nearest responders will do
GIVE_UP = 0.1  # share of requests left uncertified after the first round that means "stop"


def potentials(nodes: int, arcs) -> np.ndarray | None:
    """Shortest distances from a virtual root (0 to every node) in the residual graph, by
    Bellman-Ford that only relaxes arcs leaving nodes whose distance just changed."""
    tails, heads, caps, costs, flows = arcs
    fwd = flows < caps
    back = flows > 0
    t = np.concatenate([tails[fwd], heads[back]])
    h = np.concatenate([heads[fwd], tails[back]])
    c = np.concatenate([costs[fwd], -costs[back]])
    order = np.argsort(t, kind="stable")
    t, h, c = t[order], h[order], c[order]
    start = np.searchsorted(t, np.arange(nodes + 1))
    d = np.zeros(nodes, dtype=np.int64)
    frontier = np.arange(nodes)
    for _ in range(nodes + 1):
        counts = start[frontier + 1] - start[frontier]
        total = int(counts.sum())
        if total == 0:
            return d
        first = np.repeat(start[frontier], counts)
        idx = first + np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        new = d.copy()
        np.minimum.at(new, h[idx], d[t[idx]] + c[idx])
        frontier = np.flatnonzero(new < d)
        d = new
        if len(frontier) == 0:
            return d
    return None  # a negative cycle: the flow was not optimal (should not happen)


def uncertified(ix: Index, cand: Candidates, res: FlowResult) -> np.ndarray:
    """Requests whose left-out responders might still improve the plan."""
    open_ = cand.r_unexplored[cand.u_req] < geo.BIG_M
    if not open_.any():
        return np.zeros(0, dtype=np.int64)
    d = potentials(res.nodes, res.arcs)
    if d is None:
        return cand.u_req[open_]
    p = ix.problem.params
    if res.optimal:
        lb = np.floor((np.floor(p.travel_weight_per_km * cand.r_unexplored[cand.u_req])
                       - 1000 * (p.continuity_bonus + p.same_community_bonus) - 1)
                      / res.cost_unit)
    else:
        lb = np.zeros(len(cand.u_req))
    n_units = len(cand.u_req)
    d_unit = d[2 + np.arange(n_units)]
    # a responder outside u's neighbours has potential at most d(t) if it has work (its
    # used sink arc runs backwards from t) or is absent from the graph (we may give it d(t));
    # idle ones present in the graph have their own d(j)
    js = np.unique(cand.p_resp)
    busy = np.zeros(len(js), dtype=bool)
    served = res.chosen[res.chosen >= 0]
    busy[np.searchsorted(js, cand.p_resp[served])] = True
    d_resp = d[2 + n_units + np.arange(len(js))]
    top = max(int(d[1]), int(d_resp[~busy].max(initial=d[1])))
    return np.unique(cand.u_req[open_ & (lb + d_unit - top < 0)])


def _merge(old: Candidates, new: Candidates, reqs: np.ndarray) -> Candidates:
    """Old pairs, with those of `reqs` replaced by the new ones."""
    keep = np.flatnonzero(~np.isin(old.p_req, reqs))
    add = np.flatnonzero(np.isin(new.p_req, reqs))
    merged = old.take(keep)
    cat = {f: np.concatenate([getattr(merged, f), getattr(new, f)[add]])
           for f in ("p_unit", "p_req", "p_resp", "p_metres", "p_minutes", "p_sec")}
    unexplored = old.r_unexplored.copy()
    unexplored[reqs] = new.r_unexplored[reqs]
    return replace(merged, **cat, p_id=np.arange(len(cat["p_unit"]), dtype=np.int64),
                   r_unexplored=unexplored)


def _promising(ix: Index) -> bool:
    """Whether the nearest responders are likely to be enough, judged on a sample of
    requests: the k-th nearest responder must be farther than what fairness and bonuses could
    make worth travelling (in metres) beyond the nearest one."""
    p = ix.problem.params
    open_reqs = np.flatnonzero(~ix.r_fixed)
    nj = len(ix.j_lon)
    if len(open_reqs) == 0 or nj <= FIRST_K:
        return True
    if p.travel_weight_per_km <= 0:
        return False
    sample = open_reqs[:: max(1, len(open_reqs) // SAMPLE)]
    tree = cKDTree(geo.to_sphere(ix.j_lon, ix.j_lat))
    dist, _ = tree.query(geo.to_sphere(ix.r_lon[sample], ix.r_lat[sample]), k=FIRST_K)
    vol = ix.j_kind == VOLUNTEER
    steps = int(np.minimum(ix.j_tasks_left[vol], len(open_reqs)).max(initial=1)) - 1
    worth = (p.fairness_weight * steps + p.continuity_bonus + p.same_community_bonus) \
        / p.travel_weight_per_km * 1000
    return bool(np.median(dist[:, -1]) > np.median(dist[:, 0]) + worth)


def solve_nearest(ix: Index) -> tuple[Candidates, FlowResult] | None:
    """Candidates actually used and the certified flow result on them; None when the
    nearest responders are unlikely to suffice (the caller then takes every pair)."""
    if not _promising(ix):
        return None
    k = FIRST_K
    cand = build_candidates(ix, knn=k)
    for round_ in range(ROUNDS + 1):
        res = solve_flow(ix, cand, keep_arcs=True)
        todo = uncertified(ix, cand, res)
        if len(todo) == 0:
            return cand, res
        if round_ == 0 and len(todo) > GIVE_UP * len(cand.u_req):
            return None
        k *= 4
        last = round_ == ROUNDS - 1 or k >= len(ix.j_lon)
        more = build_candidates(ix, knn=None if last else k, only=todo)
        cand = _merge(cand, more, todo)
    res = solve_flow(ix, cand, keep_arcs=True)
    res.optimal = res.optimal and len(uncertified(ix, cand, res)) == 0
    return cand, res


def count_variant_likely(ix: Index) -> bool:
    """Request-level conditions of the count variant, and minute/load caps that cannot bind
    whatever the pairs (each responder's task cap times its largest possible use)."""
    problem = ix.problem
    open_reqs = [r for r, f in zip(problem.requests, ix.r_fixed, strict=True) if not f]
    if any(r.team is not None or r.window is not None or r.cost > 0 for r in open_reqs):
        return False
    if not open_reqs:
        return True
    dur = max(r.duration for r in open_reqs)
    qty = max(r.quantity for r in open_reqs)
    worst_min = geo.travel_minutes(ix.j_radius, ix.j_speed)
    for t in problem.travel or ():
        j = ix.resp_pos[t.responder]
        worst_min[j] = max(worst_min[j], t.minutes)
    tasks = ix.j_tasks_left.astype(np.float64)
    minutes_ok = (ix.j_minutes_left >= BIG) | (tasks * (dur + 2 * worst_min)
                                               <= ix.j_minutes_left)
    load_ok = (ix.j_load_left >= BIG) | (tasks * qty <= ix.j_load_left)
    return bool(np.all(minutes_ok & load_ok))
