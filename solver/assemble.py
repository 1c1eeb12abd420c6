"""Turn internal choices (pair indices, start, fund) into a Plan with its figures."""

from __future__ import annotations

import time

import numpy as np

from solver import objective as obj
from solver.candidates import Candidates
from solver.explain import explain_unassigned
from solver.greedy import Choice
from solver.index import Index, pair_travel, travel_overrides
from solver.plan import Assignment, Plan


def fixed_assignments(ix: Index) -> list[Assignment]:
    problem = ix.problem
    overrides = travel_overrides(problem, ix.req_pos, ix.resp_pos)
    out = []
    for f in problem.fixed:
        ri = ix.req_pos[f.request_id]
        r = problem.requests[ri]
        metres, minutes = [], []
        for rid in f.responder_ids:
            m, t = pair_travel(problem, r, ix.resp_pos[rid], ix.j_lon, ix.j_lat, ix.j_speed,
                               overrides, ri)
            metres.append(m)
            minutes.append(t)
        roles = tuple(problem.responders[ix.resp_pos[rid]].kind for rid in f.responder_ids)
        out.append(Assignment(r.id, tuple(f.responder_ids), roles, f.start, tuple(minutes),
                              tuple(metres), f.fund_id, fixed=True))
    return out


def to_assignments(ix: Index, cand: Candidates, choices: dict[int, Choice]) -> list[Assignment]:
    problem = ix.problem
    resps = problem.responders
    # pair data gathered once into Python lists: per-element numpy access is slow at 1e5
    ids = sorted(choices)
    flat = np.array([p for ri in ids for p in choices[ri].pairs], dtype=np.int64)
    slot = dict(zip(flat.tolist(), cand.u_slot[cand.p_unit[flat]].tolist(), strict=True))
    resp = dict(zip(flat.tolist(), cand.p_resp[flat].tolist(), strict=True))
    mins = dict(zip(flat.tolist(), cand.p_minutes[flat].tolist(), strict=True))
    metres = dict(zip(flat.tolist(), cand.p_metres[flat].tolist(), strict=True))
    out = []
    for ri in ids:
        c = choices[ri]
        r = problem.requests[ri]
        pairs = c.pairs if len(c.pairs) == 1 else sorted(
            c.pairs, key=lambda p: (slot[p], resps[resp[p]].id))
        out.append(Assignment(
            request_id=r.id, responder_ids=tuple(resps[resp[p]].id for p in pairs),
            roles=tuple(r.team[slot[p]].role if slot[p] >= 0 else resps[resp[p]].kind
                        for p in pairs),
            start=c.start, travel_minutes=tuple(mins[p] for p in pairs),
            distance_m=tuple(metres[p] for p in pairs),
            fund_id=None if c.fund is None else problem.funds[c.fund].id))
    return out


def bonus_ceiling(ix: Index) -> float:
    """Most the bonuses C can add: what the bound adds on top of a served-weight bound."""
    p = ix.problem.params
    return (p.continuity_bonus * len(ix.problem.requests)
            + p.same_community_bonus * sum(r.members for r in ix.problem.requests))


def build_plan(ix: Index, cand: Candidates, choices: dict[int, Choice], *, status: str,
               method: str, started: float, served_bound: int | None,
               optimal: bool) -> Plan:
    """`served_bound`: upper bound on P over all feasible plans (None when unknown)."""
    assignments = fixed_assignments(ix) + to_assignments(ix, cand, choices)
    assignments.sort(key=lambda a: a.request_id)
    fig = obj.figures(ix.problem, assignments, scale=ix.scale_u,
                      weight={r.id: w for r, w in zip(ix.problem.requests, ix.r_weight,
                                                      strict=True)})
    value = fig.objective
    if optimal:
        bound = value
    elif served_bound is None:
        bound = float(sum(ix.r_weight)) + bonus_ceiling(ix) / ix.scale_u
    else:
        bound = max(value, served_bound + bonus_ceiling(ix) / ix.scale_u)
    served = {a.request_id for a in assignments}
    unassigned = explain_unassigned(ix, cand, choices, served)
    return Plan(status="optimal" if optimal else status, method=method, objective=value,
                bound=bound, gap=0.0 if optimal else obj.gap(value, bound),
                time_s=round(time.perf_counter() - started, 4),
                assignments=tuple(assignments), unassigned=tuple(unassigned))
