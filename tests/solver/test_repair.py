"""repair: re-fill, eject-and-relocate and augmenting chains never break a rule and never
lose served weight; a chain serves what one move cannot."""

import time

import pytest
from conftest import east, problem, req, resp
from instances import random_problem

from solver import Problem
from solver.assemble import build_plan
from solver.candidates import build_candidates
from solver.check import check
from solver.engine import _global, served_weight
from solver.greedy import Choice, sec_order, solve_greedy
from solver.index import build_index
from solver.repair import repair


def _setup(prob: Problem):
    ix = build_index(prob)
    full = build_candidates(ix)
    cand = full.take(sec_order(full))
    return ix, full, cand, solve_greedy(ix, cand, presorted=True)


def _plan_dict(ix, full, cand, choices) -> dict:
    plan = build_plan(ix, full, _global(cand, choices), status="feasible", method="greedy",
                      started=time.perf_counter(), served_bound=None, optimal=False)
    return plan.to_dict()


def _served(ix, cand, choices) -> set[str]:
    return {ix.problem.requests[ri].id for ri in choices}


def test_a_chain_serves_what_one_move_cannot():
    """r1 and r2 take the nearest of their two responders; r3 can only use a, which r1
    holds, and r1's other option b is held by r2. Only the chain r3->a, r1->b, r2->c
    serves all three (one task each)."""
    prob = problem(
        [req("r1", 0, urgency="urgent", resident_tags=["elderly"]),
         req("r2", 2000, urgency="urgent"),
         req("r3", -1500)],
        [resp("a", -500, max_tasks=1, radius_m=1200),
         resp("b", 1000, max_tasks=1, radius_m=1200),
         resp("c", 3000, max_tasks=1, radius_m=1200)])
    ix, full, cand, greedy = _setup(prob)
    assert _served(ix, cand, greedy) == {"r1", "r2"}
    better = repair(ix, cand, greedy, effort=100)
    assert _served(ix, cand, better) == {"r1", "r2", "r3"}
    d = _plan_dict(ix, full, cand, better)
    assert check(prob.to_dict(), d) == []
    assert {a["request_id"]: a["responder_ids"] for a in d["assignments"]} == {
        "r1": ["b"], "r2": ["c"], "r3": ["a"]}


def test_a_chain_respects_windows():
    """The same chain is closed when moving r2 to c would miss r2's window."""
    prob = problem(
        [req("r1", 0, urgency="urgent", resident_tags=["elderly"]),
         req("r2", 2000, urgency="urgent", window=[480, 490]),
         req("r3", -1500)],
        [resp("a", -500, max_tasks=1, radius_m=1200),
         resp("b", 1000, max_tasks=1, radius_m=1200),
         resp("c", 3000, max_tasks=1, radius_m=1200, shifts=[[600, 900]])])
    ix, full, cand, greedy = _setup(prob)
    better = repair(ix, cand, greedy, effort=100)
    assert _served(ix, cand, better) == {"r1", "r2"}


def test_a_heavier_request_displaces_a_lighter_one():
    """Nowhere to move the normal request: the urgent one takes its place."""
    prob = problem([req("n", 0), req("u", 300, urgency="urgent")],
                   [resp("a", 100, max_tasks=1)])
    ix, full, cand, _ = _setup(prob)
    # hand it a plan that serves the normal request only
    pair = next(p for p in range(len(cand.p_unit)) if cand.p_req[p] == 0)
    only_normal = {0: Choice((pair,), None, None)}
    better = repair(ix, cand, only_normal, effort=10)
    assert _served(ix, cand, better) == {"u"}


@pytest.mark.parametrize("seed", range(25))
def test_repair_keeps_every_rule_and_the_served_weight(seed):
    raw = random_problem(seed, n_requests=30, n_responders=8, spread_m=3000)
    prob = Problem.from_dict(raw)
    ix, full, cand, greedy = _setup(prob)
    better = repair(ix, cand, greedy, effort=5000)
    assert served_weight(ix, better) >= served_weight(ix, greedy)
    assert check(raw, _plan_dict(ix, full, cand, better)) == []


def test_east_helper_is_metres():
    """The builders place points by metres, which the chain tests rely on."""
    from solver.geo import distance_m

    assert abs(int(distance_m(*east(0), *east(1200))) - 1200) <= 1
