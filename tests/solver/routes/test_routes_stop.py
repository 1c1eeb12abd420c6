"""A stop asked of a routes solve: the searches under way end at their next solution and the
plan keeps what they had, in the calling process and in the forked workers alike."""

from __future__ import annotations

import threading
import time

import pytest

from bench.routes_instances import generate
from solver.routes import RoutesProblem, solve_routes
from solver.routes.check import check
from solver.routes.explain import NOT_FITTED

LIMIT = 120.0  # its guided search alone would run for about a minute


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stop_ends_the_search_with_the_routes_it_had(workers):
    d = generate(300, 40, seed=3)
    problem = RoutesProblem.from_dict(d)
    stop = threading.Event()
    heard: list[dict] = []
    timer = threading.Timer(3.0, stop.set)
    began = time.perf_counter()
    timer.start()
    try:
        plan = solve_routes(problem, time_limit=LIMIT, workers=workers, stop=stop,
                            on_progress=heard.append)
    finally:
        timer.cancel()
    took = time.perf_counter() - began
    assert stop.is_set() and took < 15, took
    out = plan.to_dict()
    assert check(d, out) == []
    served = plan.figures["served"]
    assert served > 0.5 * len(d["deliveries"])  # the insertion's routes, at least
    assert len(out["unserved"]) == len(d["deliveries"]) - served
    assert all(u["reason"] for u in out["unserved"])
    # what the stopped search left is feasible but not fitted, never called impossible
    assert plan.figures["feasible"] - served == sum(
        u["reason"] in NOT_FITTED for u in out["unserved"])
    assert [h["phase"] for h in heard] == ["parts"]
    assert heard[0]["best_objective"] > 0


def test_a_stop_before_the_start_still_routes_every_part_by_insertion():
    """Stopped from the start: no search at all, yet each part gets its cheapest insertion,
    so the plan is made in a moment and serves most of what a search would."""
    d = generate(300, 40, seed=3)
    problem = RoutesProblem.from_dict(d)
    stop = threading.Event()
    stop.set()
    began = time.perf_counter()
    plan = solve_routes(problem, time_limit=LIMIT, stop=stop)
    assert time.perf_counter() - began < 10
    out = plan.to_dict()
    assert check(d, out) == []
    assert plan.figures["served"] > 0.5 * len(d["deliveries"])
    assert plan.figures["repaired"] == 0  # no repair after a stop


def test_solves_in_two_threads_take_turns_and_each_gets_its_own_plan():
    """The service may run two routes runs in threads of one process: the forked workers
    must each see their own problem (the module's shared state serves one solve at a time)."""
    problems = [generate(120, 12, seed=5), generate(90, 10, seed=6)]
    plans: dict[int, dict] = {}

    def run(k: int) -> None:
        plans[k] = solve_routes(RoutesProblem.from_dict(problems[k]), time_limit=4.0,
                                workers=2).to_dict()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(plans) == [0, 1]
    for k, d in enumerate(problems):
        assert check(d, plans[k]) == []
        ids = {o for r in plans[k]["routes"] for s in r["stops"] for o in s["orders"]}
        assert ids and ids <= {x["id"] for x in d["deliveries"]}
        assert plans[k]["figures"]["served"] > 0.5 * len(d["deliveries"])
