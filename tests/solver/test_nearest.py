"""The plan beyond memory (solver/nearest.py): each request's nearest, heavier chunks first."""

import pytest
from conftest import problem, req, resp, who_serves

import solver.engine as engine
import solver.nearest as nearest
from solver import solve
from solver.check import check


@pytest.fixture
def beyond_memory(monkeypatch):
    """Every problem takes the nearest-pairs path, each request keeping its nearest one."""
    monkeypatch.setattr(engine, "ALL_PAIRS_MAX", 0)
    monkeypatch.setattr(nearest, "NEAREST_K", 1)
    monkeypatch.setattr(nearest, "TREES_S", 0.0)
    monkeypatch.setattr(nearest, "CHUNK", 1)


def _crowd():
    """x is the nearest of h0 and h, y the nearest of l; each takes one task. h0 is the
    heaviest and takes x; h (heavier than l) then needs y, which is l's nearest."""
    reqs = [req("l", 2100, window=[480, 720]),  # listed first: weight decides, not order
            req("h", 100, resident_tags=["elderly"], window=[480, 720]),
            req("h0", 0, resident_tags=["lives_alone", "disabled"], window=[480, 720])]
    resps = [resp("x", 0, max_tasks=1, radius_m=3000, shifts=[[480, 1000]]),
             resp("y", 2000, max_tasks=1, radius_m=3000, shifts=[[480, 1000]])]
    return problem(reqs, resps)


def test_a_heavier_request_widens_before_a_lighter_one_is_placed(beyond_memory):
    """h's nearest is taken, so h widens to y before l, a lighter request of the same
    urgency, is placed on y: the heavier request is served, as the reference greedy
    serves it."""
    p = _crowd()
    plan = solve(p, time_limit=5)
    assert who_serves(plan) == {"h0": ("x",), "h": ("y",)}
    assert check(p.to_dict(), plan.to_dict()) == []


def test_one_chunk_for_the_whole_tier_would_serve_the_lighter_request(beyond_memory,
                                                                     monkeypatch):
    """The same crowd placed as one chunk: l takes y before h widens. What the chunks
    prevent (and so what the test above would catch if they were dropped)."""
    monkeypatch.setattr(nearest, "CHUNK", 100)
    plan = solve(_crowd(), time_limit=5)
    assert who_serves(plan) == {"h0": ("x",), "l": ("y",)}


def test_loads_carry_from_chunk_to_chunk(beyond_memory):
    """Each chunk is placed on what the earlier ones left: a responder with two tasks
    serves two requests of different chunks, never a third, and one with 70 minutes does
    two 30-minute visits, never a third: of five requests, four are served."""
    reqs = [req(f"r{i}", 10 * i, duration=30, window=[480, 900]) for i in range(5)]
    resps = [resp("a", 0, max_tasks=2, shifts=[[480, 1000]]),
             resp("b", 50, max_tasks=5, max_minutes=70, shifts=[[480, 1000]])]
    p = problem(reqs, resps)
    plan = solve(p, time_limit=5)
    served = who_serves(plan)
    assert len(served) == 4
    assert sorted(served.values()).count(("a",)) == 2
    assert check(p.to_dict(), plan.to_dict()) == []
