"""solve(problem, time_limit, seed) -> Plan: pick the exact flow or CP-SAT per component."""

from __future__ import annotations

import time

from solver.assemble import build_plan
from solver.candidates import Candidates, build_candidates, sort_pairs
from solver.greedy import Choice, solve_greedy
from solver.index import Index, build_index
from solver.plan import Plan
from solver.problem import Problem


def served_weight(ix: Index, choices: dict[int, Choice]) -> int:
    return sum(ix.r_weight[ri] for ri in choices)


def fixed_weight(ix: Index) -> int:
    return sum(w for w, fixed in zip(ix.r_weight, ix.r_fixed, strict=True) if fixed)


def solve_part(ix: Index, cand: Candidates, time_limit: float, seed: int):
    """(choices, method, optimal, served bound of the open requests) for one component."""
    from solver import flow
    from solver.bound import served_upper_bound

    if flow.is_count_variant(ix, cand):
        res = flow.solve_flow(ix, cand)
        chosen = {int(cand.u_req[u]): Choice((int(p),), None, None)
                  for u, p in enumerate(res.chosen) if p >= 0}
        return chosen, "flow", res.optimal, res.served_bound, cand
    started = time.perf_counter()
    cand = sort_pairs(cand)
    greedy = solve_greedy(ix, cand)
    relax = served_upper_bound(ix, cand)
    from solver.cpsat import solve_cpsat

    left = time_limit - (time.perf_counter() - started)
    res = solve_cpsat(ix, cand, greedy, left, seed)
    bound = relax if res.served_bound is None else min(relax, res.served_bound)
    if res.status == "timeout_no_solution" or served_weight(ix, res.choices) < served_weight(
            ix, greedy):
        return greedy, "greedy", False, bound, cand
    return res.choices, "cpsat", res.optimal, bound, cand


def solve(problem: Problem, time_limit: float = 10.0, seed: int = 0) -> Plan:
    """The best plan found within `time_limit` seconds; never raises on a timeout."""
    started = time.perf_counter()
    ix = build_index(problem)
    cand = build_candidates(ix)
    budget = time_limit - (time.perf_counter() - started)
    choices, method, optimal, bound, cand = solve_part(ix, cand, budget, seed)
    return build_plan(ix, cand, choices, status="feasible", method=method, started=started,
                      served_bound=bound + fixed_weight(ix), optimal=optimal)
