"""The plan beyond memory (solver/nearest.py): each request's nearest, heavier chunks first."""

import numpy as np
import pytest
from conftest import problem, req, resp, who_serves

import solver.engine as engine
import solver.nearest as nearest
from solver import solve
from solver.check import check
from solver.index import build_index


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


def test_normal_requests_keep_a_quarter_of_the_nearest_urgent_ones_keep(monkeypatch):
    """Normal requests are most of a city and their nearest are mostly full by their turn,
    so they start with a quarter of the nearest an urgent or emergency request keeps (and
    widen later): 8 and 2 of 20 responders in reach."""
    monkeypatch.setattr(nearest, "NEAREST_K", 8)
    p = problem([req("e", 0, urgency="emergency"), req("u", 0, urgency="urgent"),
                 req("n", 0)],
                [resp(f"j{i}", 50 * i, max_tasks=1) for i in range(20)])
    ix = build_index(p)
    cand = nearest.first_candidates(ix)
    per_request = dict(zip(*np.unique(cand.p_req, return_counts=True), strict=True))
    assert {p.requests[r].id: int(k) for r, k in per_request.items()} == {"e": 8, "u": 8,
                                                                          "n": 2}
    assert nearest.first_pairs_s(ix) == pytest.approx(
        (nearest.FIRST_S + nearest.PLACE_S) * (8 + 8 + 2))


def test_an_emergency_left_out_by_the_greedy_order_is_served_by_moving_another(
        beyond_memory, monkeypatch):
    """e1 (heavier) takes a, its cheapest; e2 reaches only a, and nobody else has room in
    its reach, so the chunks leave it out. The repair after the last emergency chunk moves
    e1 to b, its other pair, and gives a to e2: both emergencies are served."""
    monkeypatch.setattr(nearest, "NEAREST_K", 2)
    reqs = [req("e2", -1000, urgency="emergency", window=[480, 720]),
            req("e1", 1400, urgency="emergency", resident_tags=["elderly"],
                window=[480, 720])]
    resps = [resp("a", 0, max_tasks=1, radius_m=2000, shifts=[[480, 1000]]),
             resp("b", 3000, max_tasks=1, radius_m=2000, shifts=[[480, 1000]])]
    p = problem(reqs, resps)
    plan = solve(p, time_limit=5)
    assert who_serves(plan) == {"e1": ("b",), "e2": ("a",)}
    assert check(p.to_dict(), plan.to_dict()) == []


def test_a_machine_far_slower_than_the_estimates_stops_the_chunks_early(beyond_memory,
                                                                        monkeypatch):
    """Estimates a million times too low make the steps' pace enormous: the work after
    them (the plan's assembly) would not end by the time limit at that pace, so the chunks
    stop at once, and the plan left is still valid. With estimates that hold, both
    responders serve."""
    import solver.certify as certify

    p = _crowd()
    assert len(solve(p, time_limit=10).assignments) == 2
    monkeypatch.setattr(certify, "PACE_MIN_QUIET_S", 0.0)
    monkeypatch.setattr(nearest, "FIRST_S", 1e-12)
    monkeypatch.setattr(nearest, "PLACE_S", 1e-12)
    plan = solve(p, time_limit=10)
    assert len(plan.assignments) == 0 and len(plan.unassigned) == 3
    assert check(p.to_dict(), plan.to_dict()) == []
