"""solve(problem, time_limit, seed) -> Plan: exact flow or CP-SAT, part by part."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from solver import flow, nearest
from solver.assemble import build_plan
from solver.bound import capacity_bound, served_upper_bound
from solver.candidates import Candidates, build_candidates, pairs_in_reach
from solver.certify import Budget, count_variant_likely, served_ceiling, solve_nearest
from solver.cpsat import model_fits, solve_cpsat
from solver.decompose import parts, solve_parts
from solver.greedy import Choice, sec_order, solve_greedy
from solver.index import Index, build_index, distinct
from solver.plan import Plan
from solver.problem import Problem
from solver.repair import repair

# Quiet-machine costs, used to size the work from the nominal budget (never from the clock):
PRE_S_PER_PAIR = 2.0e-6  # building the candidates, sorting them, the greedy pass, per pair
BOUND_S_PER_PAIR = 1.0e-6  # the flow relaxation, per pair
MOVES_PER_S = 20_000  # repair moves tried per second
LOAD_ALLOWANCE = 2.0  # plans are the same on machines up to this much slower than quiet
BOUND_SHARE = 0.5  # most of the nominal budget left the bound may take
BOUND_SLACK = 1e-4  # lower tiers counted in full when they weigh at most this share
REPAIR_SHARE = 0.2  # share of what is left that repair may take before CP-SAT
MIN_MOVES = 2_000
# the plan's assembly, reserved: 2.1e-5 measured at 10,000 and 2.5e-5 at 100,000 (quiet)
ASSEMBLY_S_PER_REQUEST = 6.0e-5
# the work after the budgeted steps, quiet: joining the pairs found (0.55 s at 100,000,
# full) and the plan's assembly (2 s), with a margin. On a machine so slow that the
# reserve would not cover it at the pace of the steps so far, those stop earlier
# (certify.Budget)
ASSEMBLY_QUIET_S_PER_REQUEST = 3.0e-5
ALL_PAIRS_MAX = 20_000_000  # pairs in reach beyond which a request keeps only its nearest


@dataclass
class PartResult:
    choices: dict[int, Choice]   # pairs given by their global ids (Candidates.p_id)
    method: str
    optimal: bool
    served_bound: int            # upper bound on the part's served weight P


def served_weight(ix: Index, choices: dict[int, Choice]) -> int:
    return sum(ix.r_weight[ri] for ri in choices)


def _global(cand: Candidates, choices: dict[int, Choice]) -> dict[int, Choice]:
    return {ri: Choice(tuple(int(cand.p_id[p]) for p in c.pairs), c.start, c.fund)
            for ri, c in choices.items()}


def flow_choices(cand: Candidates, chosen) -> dict[int, Choice]:
    """Choices (global pair ids) from the flow's chosen pair per unit, built in bulk."""
    units = np.flatnonzero(chosen >= 0)
    reqs = cand.u_req[units].tolist()
    pairs = cand.p_id[chosen[units]].tolist()
    return {r: Choice((p,), None, None) for r, p in zip(reqs, pairs, strict=True)}


def solve_part(ix: Index, cand: Candidates, time_limit: float, seed: int,
               deadline: float | None = None, *, stop: threading.Event | None = None,
               on_solution: Callable[[float, float], None] | None = None) -> PartResult:
    """One independent part with a nominal `time_limit` in seconds and a wall-clock
    `deadline`: the exact flow when it applies, else greedy, repair, and CP-SAT when its
    model fits the nominal budget (skipped, or cut short, once `stop` is set).

    Every choice of method and effort follows the nominal budget and the part's size, never
    the clock, so the same input and seed give the same plan; the deadline is a safety net
    that only a machine more than LOAD_ALLOWANCE times slower than a quiet one reaches."""
    if flow.is_count_variant(ix, cand):
        res = flow.solve_flow(ix, cand)
        return PartResult(flow_choices(cand, res.chosen), "flow", res.optimal,
                          res.served_bound)
    started = time.perf_counter()
    until = started + time_limit if deadline is None else min(deadline, started + time_limit)
    n_pairs = len(cand.p_unit)
    cand = cand.take(sec_order(cand))
    greedy = solve_greedy(ix, cand, presorted=True, deadline=until)
    # nominal seconds left once the quiet-machine costs are paid LOAD_ALLOWANCE times over
    left = time_limit - LOAD_ALLOWANCE * PRE_S_PER_PAIR * n_pairs
    relax, bound_s = part_bound(ix, cand, greedy, left, until)
    left -= LOAD_ALLOWANCE * bound_s
    left = max(left, 0.0)
    # repair takes a share of what is left when CP-SAT follows, else all of it
    cp_left = left * (1 - REPAIR_SHARE)
    use_cp = model_fits(cand, cp_left / LOAD_ALLOWANCE)
    effort = max(MIN_MOVES, int((left - cp_left if use_cp else left) * MOVES_PER_S
                                / LOAD_ALLOWANCE))
    best = repair(ix, cand, greedy, effort=effort, deadline=until)
    method = "greedy"
    if not use_cp:
        return PartResult(_global(cand, best), method, False, relax)
    left = cp_left
    if (served_weight(ix, best) >= relax and time_limit < 1.0) or (
            stop is not None and stop.is_set()):
        return PartResult(_global(cand, best), method, False, relax)
    res = solve_cpsat(ix, cand, best, left / LOAD_ALLOWANCE, until, seed, stop=stop,
                      on_solution=on_solution)
    bound = relax if res.served_bound is None else min(relax, res.served_bound)
    if res.status != "timeout_no_solution" and served_weight(ix, res.choices) >= served_weight(
            ix, best):
        # the model may hold only each unit's cheapest pairs: re-fill what it left over
        refilled = repair(ix, cand, res.choices, effort=0, deadline=deadline)
        optimal = res.optimal and served_weight(ix, refilled) == served_weight(ix, res.choices)
        return PartResult(_global(cand, refilled), "cpsat", optimal, bound)
    return PartResult(_global(cand, best), method, False, bound)


def part_bound(ix: Index, cand: Candidates, greedy: dict[int, Choice], nominal: float,
               until: float) -> tuple[int, float]:
    """(upper bound on the part's served weight, its estimated quiet-machine seconds).

    The flow relaxation (bound.py) is run only on the tiers that matter: the lowest tiers
    whose whole weight is at most BOUND_SLACK of the greedy plan's are counted in full
    instead (one emergency outweighs every normal request, so this costs a gap of at most
    BOUND_SLACK and saves most of the flow). When even that flow does not fit the nominal
    budget, the capacity bound. Chosen by size and budget only (deterministic), except on
    a machine so slow that the flow would overrun `until` (then only the bound is looser)."""
    reqs = distinct(cand.p_req)
    tiers = ix.r_tier[reqs]
    weight = [ix.r_weight[int(ri)] for ri in reqs]
    slack = BOUND_SLACK * max(served_weight(ix, greedy), 1)
    cut = 0  # requests below tier `cut` are counted in full
    for t in range(1, int(tiers.max(initial=0)) + 1):
        if sum(w for w, tr in zip(weight, tiers.tolist(), strict=True) if tr < t) <= slack:
            cut = t
    low = sum(w for w, tr in zip(weight, tiers.tolist(), strict=True) if tr < cut)
    top = np.flatnonzero(ix.r_tier[cand.p_req] >= cut) if cut else np.arange(len(cand.p_req))
    cost = BOUND_S_PER_PAIR * len(top)
    if LOAD_ALLOWANCE * cost > BOUND_SHARE * nominal or (
            time.perf_counter() + 2 * LOAD_ALLOWANCE * cost > until):
        return low + capacity_bound(ix, cand.take(top)), 0.0
    return low + served_upper_bound(ix, cand.take(top)), cost


def solve(problem: Problem, time_limit: float = 10.0, seed: int = 0, *,
          stop: threading.Event | None = None,
          on_progress: Callable[[dict[str, Any]], None] | None = None) -> Plan:
    """The best plan found within `time_limit` seconds; never raises on a timeout.

    `stop`, once set, ends the search early: parts not yet solved get the greedy plan, the
    part being searched keeps its best solution so far, and the plan is still valid.
    `on_progress` is called (from the solving thread) with `{phase, parts_done, parts_total,
    best_objective, bound}` as parts finish and improving CP-SAT solutions arrive; during the
    search `best_objective` and `bound` are the served weight (the objective's leading term,
    fixed work included) and its upper bound, and the final call carries the plan's objective
    and bound. Parts solved in parallel processes report only when they finish.

    The objects alive when the solve starts (the problem's: millions at 100,000 requests)
    are kept out of the cyclic collector's passes until it ends (`gc.freeze`): each full
    pass over them took 0.1-0.4 s, several seconds of a 30-s solve at that size, and the
    problem's cannot become garbage while it runs (any other cycle among them waits for
    the end). Reference counting frees memory as usual. A caller that froze objects
    itself (say, before forking workers) is left as it is."""
    if gc.get_freeze_count():
        return _solve(problem, time_limit, seed, stop, on_progress)
    gc.freeze()
    try:
        return _solve(problem, time_limit, seed, stop, on_progress)
    finally:
        gc.unfreeze()


def _solve(problem: Problem, time_limit: float, seed: int, stop: threading.Event | None,
           on_progress: Callable[[dict[str, Any]], None] | None) -> Plan:
    started = time.perf_counter()
    report = _Reporter(on_progress)
    ix = build_index(problem)
    fixed = sum(w for w, f in zip(ix.r_weight, ix.r_fixed, strict=True) if f)
    # leave time to explain the unassigned and assemble the plan after the models stop
    count = count_variant_likely(ix)
    reserve = 0.3 + ASSEMBLY_S_PER_REQUEST * len(problem.requests)
    budget = max(0.1, time_limit - reserve)
    deadline = started + budget
    paced = {"end": started + time_limit,
             "after_s": 0.3 + ASSEMBLY_QUIET_S_PER_REQUEST * len(problem.requests)}
    if count:
        report.parts(1, fixed)
        cand, res = solve_nearest(
            ix, Budget(budget, LOAD_ALLOWANCE, deadline, stop, **paced),
            on_round=lambda served, bound: report.round(fixed + served, fixed + bound))
        return report.done(build_plan(ix, cand, flow_choices(cand, res.chosen),
                                      status="feasible", method=res.method, started=started,
                                      served_bound=fixed + res.served_bound,
                                      optimal=res.optimal), 1)
    in_reach = pairs_in_reach(ix)
    if in_reach > ALL_PAIRS_MAX:  # 100,000 x 20,000: 1.4e8 pairs would not fit
        report.parts(1, fixed)
        steps = Budget(budget, LOAD_ALLOWANCE, deadline, stop, **paced)
        steps.charge(nearest.first_pairs_s(ix))
        cand, choices = nearest.solve_in_chunks(
            ix, nearest.first_candidates(ix), steps,
            in_reach / max(int((~ix.r_fixed).sum()), 1))
        return report.done(build_plan(ix, cand, choices, status="feasible", method="greedy",
                                      started=started,
                                      served_bound=fixed + served_ceiling(ix, cand),
                                      optimal=False), 1)
    cand = build_candidates(ix)
    units = parts(ix, cand)
    report.parts(len(units), fixed)
    if len(units) <= 1:
        results = [solve_part(ix, cand, budget, seed, deadline, stop=stop,
                              on_solution=report.solution)]
        report.part_done(ix, results[0])
    else:
        results = solve_parts(ix, cand, units, budget, seed, deadline, stop=stop,
                              on_part=lambda res: report.part_done(ix, res))
    choices: dict[int, Choice] = {}
    for res in results:
        choices.update(res.choices)
    methods = {res.method for res in results}
    method = methods.pop() if len(methods) == 1 else ("mixed" if methods else "flow")
    return report.done(build_plan(ix, cand, choices, status="feasible", method=method,
                                  started=started,
                                  served_bound=fixed + sum(r.served_bound for r in results),
                                  optimal=all(r.optimal for r in results)), len(units))


class _Reporter:
    """Turns part results and CP-SAT solutions into `on_progress` calls (or nothing)."""

    def __init__(self, on_progress: Callable[[dict[str, Any]], None] | None) -> None:
        self.on_progress = on_progress
        self.total = 0
        self.done_parts = 0
        self.served = 0
        self.bound = 0

    def _emit(self, phase: str, best: float | None, bound: float | None) -> None:
        if self.on_progress is not None:
            self.on_progress({"phase": phase, "parts_done": self.done_parts,
                              "parts_total": self.total, "best_objective": best,
                              "bound": bound})

    def parts(self, total: int, fixed: int) -> None:
        self.total, self.served, self.bound = total, fixed, fixed
        self._emit("solving", None, None)

    def solution(self, objective: float, bound: float) -> None:
        # CP-SAT's figures are in internal units; the served weight so far is what we report
        self._emit("solving", float(self.served), None)

    def round(self, served: int, bound: int) -> None:
        """A column-generation round of the count path: its plan and a bound."""
        self._emit("solving", float(served), float(bound))

    def part_done(self, ix: Index, res: PartResult) -> None:
        self.done_parts += 1
        self.served += served_weight(ix, res.choices)
        self.bound += res.served_bound
        self._emit("solving", float(self.served), float(self.bound))

    def done(self, plan: Plan, parts_total: int) -> Plan:
        self.total = self.done_parts = parts_total
        self._emit("done", plan.objective, plan.bound)
        return plan
