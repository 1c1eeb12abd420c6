"""The same problem and seed give the same plan, whatever the clock says.

Every choice of method and effort in `solve` follows the nominal time limit and the size of
the problem; the wall clock is only a safety net. The second test runs the solver under a
clock that goes 1.8 times too fast (a machine 1.8 times slower, within the allowance) and
still expects the very same plan.
"""

import time

import pytest
from instances import random_problem

import solver.engine as engine
from solver import Problem, solve
from solver.check import check


def _plan(prob: dict, **kw) -> dict:
    plan = solve(Problem.from_dict(prob), **kw).to_dict()
    assert check(prob, plan) == []
    plan.pop("time_s")
    return plan


def _busy_problem(seed: int) -> dict:
    """Enough requests that capacity binds, the greedy pass, repair and CP-SAT all work."""
    return random_problem(seed, n_requests=70, n_responders=14, spread_m=3000)


@pytest.mark.parametrize("seed", [0, 1])
def test_same_seed_same_plan(seed):
    prob = _busy_problem(seed)
    first = _plan(prob, time_limit=2.0, seed=seed)
    assert first["assignments"]
    assert _plan(prob, time_limit=2.0, seed=seed) == first


def test_plan_does_not_follow_a_slow_clock(monkeypatch):
    prob = _busy_problem(3)
    reference = _plan(prob, time_limit=2.0, seed=0)
    real = time.perf_counter
    t0 = real()
    monkeypatch.setattr(time, "perf_counter", lambda: t0 + 1.8 * (real() - t0))
    assert _plan(prob, time_limit=2.0, seed=0) == reference


def test_effort_follows_the_nominal_limit_not_the_clock(monkeypatch):
    """The repair effort handed down is a function of the limit and the size alone."""
    seen = []
    original = engine.repair

    def spy(ix, cand, choices, *, effort, deadline=None):
        seen.append(effort)
        return original(ix, cand, choices, effort=effort, deadline=deadline)

    monkeypatch.setattr(engine, "repair", spy)
    prob = _busy_problem(4)
    _plan(prob, time_limit=2.0, seed=0)
    real = time.perf_counter
    t0 = real()
    monkeypatch.setattr(time, "perf_counter", lambda: t0 + 1.8 * (real() - t0))
    _plan(prob, time_limit=2.0, seed=0)
    assert len(seen) >= 2 and seen[: len(seen) // 2] == seen[len(seen) // 2:]
