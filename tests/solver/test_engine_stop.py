"""solve(stop=..., on_progress=...): stopping early keeps a valid plan; progress is reported."""

import random
import threading
import time

from conftest import problem, req, resp

from solver import solve
from solver.check import check


def _hard_instance(n_req=300, n_resp=40, seed=5):
    """Timed work with overlapping windows and tight caps: CP-SAT has plenty to search."""
    rng = random.Random(seed)
    reqs = [req(f"r{i}", rng.uniform(0, 3000), window=[a := rng.randint(480, 900), a + 45],
                duration=rng.randint(15, 45), urgency=rng.choice(["normal", "urgent"]),
                quantity=rng.randint(0, 3))
            for i in range(n_req)]
    resps = [resp(f"v{j}", rng.uniform(0, 3000), shifts=[[480, 1000]], max_tasks=5,
                  max_minutes=200, load_capacity=6)
             for j in range(n_resp)]
    return problem(reqs, resps)


def test_stop_set_before_solving_returns_a_valid_plan_at_once():
    """A stop already set skips the search: the greedy plan comes back quickly and checks."""
    p = _hard_instance()
    stop = threading.Event()
    stop.set()
    began = time.perf_counter()
    plan = solve(p, time_limit=60, stop=stop)
    assert time.perf_counter() - began < 10
    assert check(p, plan) == []
    assert len(plan.assignments) + len(plan.unassigned) == len(p.requests)


def test_stop_set_mid_search_ends_it_and_keeps_the_best_plan():
    """Setting the stop during a long search ends it within seconds; the plan checks."""
    p = _hard_instance()
    stop = threading.Event()
    timer = threading.Timer(1.0, stop.set)
    timer.start()
    began = time.perf_counter()
    plan = solve(p, time_limit=120, stop=stop)
    timer.cancel()
    assert time.perf_counter() - began < 30
    assert check(p, plan) == []
    assert plan.assignments


def test_on_progress_reports_parts_and_ends_with_the_plan_figures():
    """Progress calls carry the agreed keys; the last one is phase done with the plan's figures."""
    p = _hard_instance(80, 15)
    calls: list[dict] = []
    plan = solve(p, time_limit=2, on_progress=calls.append)
    assert calls
    assert all(
        set(c) == {"phase", "parts_done", "parts_total", "best_objective", "bound"} for c in calls
    )
    assert calls[-1]["phase"] == "done"
    assert calls[-1]["best_objective"] == plan.objective and calls[-1]["bound"] == plan.bound
    assert calls[-1]["parts_done"] == calls[-1]["parts_total"]


def test_without_the_new_arguments_the_plan_is_unchanged():
    """stop and on_progress are additive: unset, the same seed gives the same plan as before."""
    p = _hard_instance(60, 12)
    a = solve(p, time_limit=2, seed=1)
    b = solve(p, time_limit=2, seed=1, stop=threading.Event(), on_progress=lambda _: None)
    assert a.assignments == b.assignments
