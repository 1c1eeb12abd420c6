"""Unserved orders: "infeasible" (no responder could deliver it even with nothing else to
do) told apart from "feasible but not fitted" (the plan gave what it needs to others)."""

from __future__ import annotations

from solver.routes import check as checker
from solver.routes.explain import INFEASIBLE, NOT_FITTED
from tests.solver.routes_builders import order, pickup, problem, reasons, responder, solved


def test_reason_codes_fall_in_exactly_one_class():
    """Every reason code the checker accepts is either infeasible or not fitted."""
    assert set(INFEASIBLE) | set(NOT_FITTED) == checker.REASONS
    assert not set(INFEASIBLE) & set(NOT_FITTED)


def test_route_limit_puts_an_order_out_of_reach():
    """The door is reachable by the deadline, but no 30-minute route gets there and back:
    out of reach, not "booked"."""
    d = problem([responder("v", max_route_minutes=30)], [pickup("P")], [order("a", 4000)])
    plan = solved(d)
    assert reasons(plan) == {"a": "out_of_reach"}
    assert plan["figures"]["feasible"] == 0


def test_capacity_and_time_together_put_an_order_out_of_reach():
    """The big van is too far to be in time and the nearby bike too small: each alone is not
    the reason, together they are."""
    d = problem([responder("bike", 500, capacity=2), responder("van", 30000, capacity=10)],
                [pickup("P")], [order("a", 1000, boxes=3, window=[480, 520])])
    plan = solved(d)
    assert reasons(plan) == {"a": "out_of_reach"}


def test_booked_responder_is_not_fitted():
    """One responder, two doors 6 km apart due in the same ten minutes: one is served, the
    other could have been alone, so it is not fitted (no_time_left) and counted feasible."""
    d = problem([responder("v")], [pickup("P")],
                [order("a", 3000, window=[500, 510]), order("b", -3000, window=[500, 510])])
    plan = solved(d)
    (left, reason), = reasons(plan).items()
    assert reason == "no_time_left" and reason in NOT_FITTED
    assert plan["figures"]["feasible"] == 2 and plan["figures"]["served"] == 1


def test_unreachable_deadline_stays_infeasible():
    """A deadline before anyone could arrive is infeasible, and not counted feasible."""
    d = problem([responder("v", shift=[600, 1080])], [pickup("P")],
                [order("a", 1000, window=[480, 590])])
    plan = solved(d)
    assert reasons(plan) == {"a": "deadline_too_early"}
    assert "deadline_too_early" in INFEASIBLE
    assert plan["figures"]["feasible"] == 0
