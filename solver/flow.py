"""Exact solution of the count variant by min-cost flow.

The count variant: single-responder requests, untimed, no cost, and minute/load caps that
cannot bind. The requests a plan can serve then form a transversal matroid, so the served set
that maximises the tiered weight `M[tier] * v(r)` is the same for every weighting that orders
requests the same way. The flow therefore uses each request's dense rank among the distinct
weights (small integers) times a scale larger than any secondary difference; that is exactly
the README's lexicographic objective without forming huge products in int64. Fairness is
convex per volunteer, so it is exact as parallel unit arcs with rising cost.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from ortools.graph.python import min_cost_flow

from solver.candidates import Candidates
from solver.index import BIG, Index
from solver.problem import KINDS

VOLUNTEER = KINDS.index("volunteer")
_COST_LIMIT = 2**62  # OR-Tools multiplies costs by (nodes + 1); stay clear of int64
QUICK_SPREADS = 2  # solve_flow(quick=True): the scale tried, in spreads of one pair's cost
POTENTIAL_CYCLE_CHECK = 16  # potentials: passes between looks for a negative cycle


@dataclass
class FlowResult:
    chosen: np.ndarray      # pair index per unit, -1 when unserved
    optimal: bool           # proven optimal for the README objective (on these pairs)
    served_bound: int       # upper bound on P (equals P when optimal)
    arcs: tuple = ()        # (tails, heads, caps, costs, flows) for the optimality certificate
    nodes: int = 0
    first_pair_arc: int = 0
    cost_unit: int = 1      # secondary costs in the arcs are milli-points divided by this
    pair_arcs: np.ndarray | None = None  # arc index of each pair (with keep_arcs)
    method: str = "flow"    # "greedy" when certify.solve_nearest had no time for a flow


def is_count_variant(ix: Index, cand: Candidates) -> bool:
    """Whether the flow is exact for this problem (see module docstring)."""
    problem = ix.problem
    open_reqs = [r for r, fixed in zip(problem.requests, ix.r_fixed, strict=True) if not fixed]
    if any(r.team is not None or r.window is not None or r.cost > 0 for r in open_reqs):
        return False
    return not (_caps_may_bind(ix, cand, cand.p_minutes * 2 + _dur(ix)[cand.p_req],
                               ix.j_minutes_left)
                or _caps_may_bind(ix, cand, _qty(ix)[cand.p_req], ix.j_load_left))


def _dur(ix):
    return np.array([r.duration for r in ix.problem.requests], dtype=np.int64)


def _qty(ix):
    return np.array([r.quantity for r in ix.problem.requests], dtype=np.int64)


def _caps_may_bind(ix: Index, cand: Candidates, use: np.ndarray, left: np.ndarray) -> bool:
    """True unless each responder's `max_tasks` largest uses fit in what is left."""
    capped = left[cand.p_resp] < BIG
    if not capped.any():
        return False
    pj, u = cand.p_resp[capped], use[capped]
    order = np.lexsort((-u, pj))
    pj, u = pj[order], u[order]
    starts = np.searchsorted(pj, pj, side="left")
    rank = np.arange(len(pj)) - starts
    top = rank < ix.j_tasks_left[pj]
    total = np.bincount(pj[top], weights=u[top], minlength=len(left))
    return bool(np.any(total > left))


def flow_costing(ix: Index, cand: Candidates) -> tuple[int, int, bool]:
    """(g, scale, exact): the common factor of all secondary costs (dividing it out changes
    nothing but the cost range, which cost scaling's running time grows with) and a scale,
    in those units, above any difference in secondary cost between two flows on these
    pairs; exact is False when the numbers would not fit int64 after OR-Tools' scaling."""
    fw = int(round(1000 * ix.problem.params.fairness_weight))
    js, p_local = np.unique(cand.p_resp, return_inverse=True)
    cap = np.minimum(ix.j_tasks_left[js], np.bincount(p_local, minlength=len(js)) + 1)
    vol = (ix.j_kind[js] == VOLUNTEER) & (fw > 0)
    v_j = np.repeat(np.flatnonzero(vol), cap[vol])
    v_k = np.arange(len(v_j)) - np.repeat(np.cumsum(cap[vol]) - cap[vol], cap[vol])
    v_cost = fw * (ix.j_fixed_tasks[js][v_j] + v_k)
    both = np.concatenate([np.abs(cand.p_sec), np.abs(v_cost)])
    g = int(np.gcd.reduce(both)) if len(both) else 1
    g = max(g, 1)
    n_units = len(cand.u_req)
    sec_hi = np.zeros(n_units, dtype=np.int64)
    sec_lo = np.zeros(n_units, dtype=np.int64)
    if len(cand.p_unit):
        np.maximum.at(sec_hi, cand.p_unit, cand.p_sec // g)
        np.minimum.at(sec_lo, cand.p_unit, cand.p_sec // g)
    scale = int(sec_hi.sum()) - int(sec_lo.sum()) + int((v_cost // g).sum()) + 1
    levels = len({ix.r_weight[int(r)] for r in cand.u_req})
    nodes = 2 + n_units + len(js)
    top = levels * scale + int(np.abs(cand.p_sec).max(initial=0)) // g
    return g, scale, top * (nodes + 1) < _COST_LIMIT


def solve_flow(ix: Index, cand: Candidates, keep_arcs: bool = False,
               costing: tuple[int, int, bool] | None = None,
               quick: bool = False) -> FlowResult:
    """Min-cost flow: source -> unit (cost -level * scale) -> responder (secondary cost) ->
    sink (rising unit costs for volunteers: fairness), plus a source -> sink bypass for
    whatever stays unserved. `costing` (from flow_costing on a superset of these pairs)
    makes a pruned network price everything exactly as the full one would.

    `quick` (with keep_arcs) hands OR-Tools a scale of a few single pairs' spread instead:
    cost scaling then needs fewer phases, about half the time at 10,000 requests. Such a
    flow is usually optimal for the true scale too, but not always; the arcs kept carry the
    true costs, so `potentials` on them proves it or finds it wanting (see solve_proven)."""
    n_units = len(cand.u_req)
    fw = int(round(1000 * ix.problem.params.fairness_weight))
    weights = [ix.r_weight[int(r)] for r in cand.u_req]
    levels_of = {w: i + 1 for i, w in enumerate(sorted(set(weights)))}
    level = np.array([levels_of[w] for w in weights], dtype=np.int64)
    # responders are renumbered to those with pairs, so parts do not carry every node
    js, p_local = np.unique(cand.p_resp, return_inverse=True)
    nj = len(js)
    deg = np.bincount(p_local, minlength=nj)
    # one arc more than the pairs can fill: it stays unsaturated, which is what lets
    # certify.py vouch for responders' arcs that pruning left out
    cap = np.minimum(ix.j_tasks_left[js], deg + 1)
    vol = (ix.j_kind[js] == VOLUNTEER) & (fw > 0)
    # one unit arc per volunteer task (cost rising with the task count), one arc otherwise
    v_j = np.repeat(np.flatnonzero(vol), cap[vol])
    v_k = np.arange(len(v_j)) - np.repeat(np.cumsum(cap[vol]) - cap[vol], cap[vol])
    v_cost = fw * (ix.j_fixed_tasks[js][v_j] + v_k)
    g, scale, optimal_secondary = costing or flow_costing(ix, cand)
    p_sec, v_cost = cand.p_sec // g, v_cost // g
    nodes = 2 + n_units + nj
    if not optimal_secondary:
        # far beyond any real instance; keep the served set exact and drop the tie-breaks
        scale, p_sec, v_cost = 1, np.zeros_like(p_sec), np.zeros_like(v_cost)
    spread = (int(p_sec.max(initial=0)) - int(p_sec.min(initial=0))
              + int(v_cost.max(initial=0)) + 1)
    trial = min(scale, QUICK_SPREADS * spread) if quick and keep_arcs else scale
    src, snk = 0, 1
    unit_node = 2 + np.arange(n_units, dtype=np.int64)
    resp_node = 2 + n_units + np.arange(nj, dtype=np.int64)
    other = ~vol & (cap > 0)
    tails = np.concatenate([np.full(n_units, src), unit_node[cand.p_unit], resp_node[v_j],
                            resp_node[other], [src]]).astype(np.int64)
    heads = np.concatenate([unit_node, resp_node[p_local], np.full(len(v_j), snk),
                            np.full(int(other.sum()), snk), [snk]]).astype(np.int64)
    caps = np.concatenate([np.ones(n_units + len(cand.p_unit) + len(v_j), dtype=np.int64),
                           cap[other], [n_units]])
    costs = np.concatenate([-level * scale, p_sec, v_cost,
                            np.zeros(int(other.sum()) + 1, dtype=np.int64)]).astype(np.int64)
    smcf = min_cost_flow.SimpleMinCostFlow()
    if trial == scale:
        smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    else:
        smcf.add_arcs_with_capacity_and_unit_cost(
            tails, heads, caps, np.concatenate([-level * trial, costs[n_units:]]))
    n_arcs = len(tails)
    if not keep_arcs:  # OR-Tools holds its own copy; at 7 M arcs ours is 200+ MB
        tails = heads = caps = costs = None
    supplies = np.zeros(nodes, dtype=np.int64)
    supplies[src], supplies[snk] = n_units, -n_units
    smcf.set_nodes_supplies(np.arange(nodes), supplies)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    if keep_arcs:
        flows = smcf.flows(np.arange(n_arcs))
        pair_flows = flows[n_units:n_units + len(cand.p_unit)]
    else:
        pair_flows = smcf.flows(np.arange(n_units, n_units + len(cand.p_unit)))
    chosen = np.full(n_units, -1, dtype=np.int64)
    used = np.flatnonzero(pair_flows > 0)
    chosen[cand.p_unit[used]] = used
    served = sum(ix.r_weight[int(cand.u_req[u])] for u in np.flatnonzero(chosen >= 0))
    return FlowResult(chosen=chosen, optimal=optimal_secondary and trial == scale,
                      served_bound=served,
                      arcs=(tails, heads, caps, costs, flows) if keep_arcs else (),
                      nodes=nodes, first_pair_arc=n_units, cost_unit=g,
                      pair_arcs=n_units + np.arange(len(cand.p_unit)) if keep_arcs else None)


def network_nodes(ix: Index, cand: Candidates, new: Candidates) -> np.ndarray | None:
    """Per new pair, its responder's place among the network's responders (solve_flow on
    `cand`); None if one is missing, or has sink arcs sized by its pair count, which the
    new pairs could fill."""
    deg = np.bincount(cand.p_resp, minlength=len(ix.j_lon))  # pairs per responder
    if np.any(deg[new.p_resp] == 0) or np.any(deg[new.p_resp] + 1
                                              < ix.j_tasks_left[new.p_resp]):
        return None
    return (np.cumsum(deg > 0) - 1)[new.p_resp]  # solve_flow numbers them in order


def reoptimise(ix: Index, cand: Candidates, res: FlowResult, d: np.ndarray,
               new: Candidates) -> tuple[FlowResult, np.ndarray] | None:
    """`res` (solved with keep_arcs on `cand`) re-optimised after the pairs `new` join, given
    node potentials `d` that prove it (every residual arc has `cost + d(tail) - d(head) >=
    0`). The change is a min-cost circulation in the residual graph on reduced costs, where
    only the new pairs can be negative; a cycle that improves the plan gains at most `B`,
    the new pairs' negative reduced costs summed, so no residual arc costing more than `B`
    can lie on one, whatever else the circulation does. The circulation is solved by
    OR-Tools on the arcs within `B` only (few when the new pairs gain little: the last
    rounds), then the potentials come from Bellman-Ford. The result is for `cand` with
    `new` appended. None when a new pair needs a node or arc the network lacks (a responder
    not yet in it, or one whose sink arcs were sized by its pair count): solve afresh then."""
    pos = network_nodes(ix, cand, new)
    if pos is None:
        return None
    tails, heads, caps, costs, flows = res.arcs
    n_units = len(cand.u_req)
    nodes, n_arcs = res.nodes, len(tails)
    tails = np.concatenate([tails, 2 + new.p_unit])
    heads = np.concatenate([heads, 2 + n_units + pos])
    caps = np.concatenate([caps, np.ones(len(pos), dtype=np.int64)])
    costs = np.concatenate([costs, new.p_sec // res.cost_unit])
    flows = np.concatenate([flows, np.zeros(len(pos), dtype=np.int64)])
    rc = costs + d[tails] - d[heads]
    room = caps - flows
    gain = -int((np.minimum(rc, 0) * room).sum())  # only new pairs are negative
    if gain > 0:
        fwd = np.flatnonzero((room > 0) & (rc <= gain))
        back = np.flatnonzero((flows > 0) & (-rc <= gain))
        sub_t = np.concatenate([tails[fwd], heads[back]])
        sub_h = np.concatenate([heads[fwd], tails[back]])
        ends = np.concatenate([sub_t, sub_h])
        seen = np.zeros(nodes, dtype=bool)
        seen[ends] = True
        local = np.flatnonzero(seen)
        renum = (np.cumsum(seen) - 1)[ends]  # as np.unique would number them
        if gain * (len(local) + 1) >= _COST_LIMIT:
            return None
        smcf = min_cost_flow.SimpleMinCostFlow()
        smcf.add_arcs_with_capacity_and_unit_cost(
            renum[:len(sub_t)], renum[len(sub_t):],
            np.concatenate([room[fwd], flows[back]]), np.concatenate([rc[fwd], -rc[back]]))
        if smcf.solve() != smcf.OPTIMAL:
            return None
        moved = smcf.flows(np.arange(len(sub_t)))
        flows[fwd] += moved[:len(fwd)]
        flows[back] -= moved[len(fwd):]
    arcs = (tails, heads, caps, costs, flows)
    d = potentials(nodes, arcs)
    if d is None:  # not proven: leave it to a fresh solve
        return None
    pair = np.concatenate([res.pair_arcs, n_arcs + np.arange(len(pos))])
    used = np.flatnonzero(flows[pair] > 0)
    chosen_pair = np.full(n_units, -1, dtype=np.int64)
    unit_of = np.concatenate([cand.p_unit, new.p_unit])
    chosen_pair[unit_of[used]] = used
    served = sum(ix.r_weight[int(cand.u_req[u])] for u in np.flatnonzero(chosen_pair >= 0))
    return FlowResult(chosen=chosen_pair, optimal=res.optimal, served_bound=served,
                      arcs=arcs, nodes=nodes, first_pair_arc=n_units, cost_unit=res.cost_unit,
                      pair_arcs=pair), d


def solve_proven(ix: Index, cand: Candidates,
                 costing: tuple[int, int, bool]) -> tuple[FlowResult, np.ndarray | None]:
    """solve_flow on `cand` (keep_arcs) and the potentials that prove it optimal: the quick
    scale first, the true one only if the quick flow is not optimal for it."""
    res = solve_flow(ix, cand, keep_arcs=True, costing=costing, quick=True)
    d = potentials(res.nodes, res.arcs)
    if d is not None:
        return replace(res, optimal=costing[2]), d
    res = solve_flow(ix, cand, keep_arcs=True, costing=costing)
    return res, potentials(res.nodes, res.arcs)


def potentials(nodes: int, arcs) -> np.ndarray | None:
    """Shortest distances from a virtual root (0 to every node) in the residual graph, by
    Bellman-Ford that only relaxes arcs leaving nodes whose distance just changed; None
    when the graph has a negative cycle (the flow is not optimal). Each node keeps the
    tail of the arc that last lowered it; a cycle among those links is a negative cycle
    (each link was a strict improvement), and is looked for every few passes, so a flow
    that is not optimal is found out long before the `nodes` passes that would prove it."""
    tails, heads, caps, costs, flows = arcs
    fwd = flows < caps
    back = flows > 0
    t = np.concatenate([tails[fwd], heads[back]])
    h = np.concatenate([heads[fwd], tails[back]])
    c = np.concatenate([costs[fwd], -costs[back]])
    order = np.argsort(t)  # grouped by tail; the order within a group does not matter
    t, h, c = t[order], h[order], c[order]
    start = np.searchsorted(t, np.arange(nodes + 1))
    d = np.zeros(nodes, dtype=np.int64)
    parent = np.full(nodes + 1, nodes, dtype=np.int64)  # `nodes`: the virtual root
    frontier = np.arange(nodes)
    for step in range(1, nodes + 2):
        counts = start[frontier + 1] - start[frontier]
        total = int(counts.sum())
        if total == 0:
            return d
        first = np.repeat(start[frontier], counts)
        idx = first + np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        via = d[t[idx]] + c[idx]
        better = np.flatnonzero(via < d[h[idx]])
        if len(better) == 0:
            return d
        idx, via = idx[better], via[better]
        hb = h[idx]
        np.minimum.at(d, hb, via)  # a node lowered twice in a pass keeps the lower value
        won = via == d[hb]
        parent[hb[won]] = t[idx[won]]
        lowered = np.zeros(nodes, dtype=bool)
        lowered[hb] = True
        frontier = np.flatnonzero(lowered)
        if step % POTENTIAL_CYCLE_CHECK == 0 and _has_cycle(parent):
            return None
    return None


def _has_cycle(parent: np.ndarray) -> bool:
    """Whether following `parent` (the last entry, the root, is its own parent) from some
    node never reaches the root: by doubling, each node's 2**k-th ancestor."""
    up = parent
    for _ in range(max(1, int(len(parent)).bit_length())):  # up[up] is a new array
        up = up[up]
    return bool(np.any(up != len(parent) - 1))
