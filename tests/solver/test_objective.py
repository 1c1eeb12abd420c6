"""The objective of README § Objective: tiers dominate, then travel, fairness, preferences."""

import json

from conftest import plan_of, req, resp, who_serves

from solver import Problem, solve
from solver.check import objective as checker_objective
from solver.objective import objective


def test_one_emergency_outranks_many_normal_requests():
    """A responder with minutes for either one emergency or three normals takes the emergency."""
    plan = plan_of([req("e", 0, urgency="emergency", duration=90),
                    req("n1", 0, duration=30), req("n2", 0, duration=30),
                    req("n3", 0, duration=30)], [resp("v1", max_minutes=100)])
    assert who_serves(plan) == {"e": ("v1",)}


def test_vulnerability_breaks_ties_within_a_tier():
    """With one slot, the elderly resident living alone is served before a plain request."""
    plan = plan_of([req("plain", 0), req("frail", 900, resident_tags=["elderly",
                                                                      "lives_alone"])],
                   [resp("v1", max_tasks=1)])
    assert who_serves(plan) == {"frail": ("v1",)}


def test_less_travel_preferred():
    """Of two equally able responders the nearer one serves."""
    plan = plan_of([req("r1")], [resp("far", 3000), resp("near", 500)])
    assert who_serves(plan) == {"r1": ("near",)}


def test_continuity_bonus_keeps_the_previous_social_worker():
    """The previous social worker serves again when only slightly farther."""
    plan = plan_of([req("r1", previous_responder="sw2")],
                   [resp("sw1", 500, kind="social_worker"),
                    resp("sw2", 1500, kind="social_worker")])
    assert who_serves(plan) == {"r1": ("sw2",)}


def test_same_community_preferred():
    """A responder from the resident's community wins over a slightly nearer outsider."""
    plan = plan_of([req("r1", community_id="c1")],
                   [resp("out", 500), resp("own", 900, community_ids=["c1"])])
    assert who_serves(plan) == {"r1": ("own",)}


def test_fairness_spreads_volunteer_work():
    """Two requests go to two volunteers rather than both to the nearest one."""
    plan = plan_of([req("a", 0), req("b", 0)], [resp("v1", 100), resp("v2", 300)])
    assert sorted(r for ids in who_serves(plan).values() for r in ids) == ["v1", "v2"]


def test_reported_objective_matches_both_recomputations(small_problem):
    """plan.objective equals solver.objective and the independent checker's value."""
    plan = solve(small_problem, time_limit=5)
    mine = objective(small_problem, plan.assignments)
    theirs = checker_objective(small_problem.to_dict(), plan.to_dict())
    assert abs(plan.objective - mine) < 1e-9 and abs(plan.objective - theirs) < 1e-6


def test_tier_multipliers_follow_readme():
    """M[urgent] = M[normal]*V[normal] // 1000 + 1 as written in the README."""
    p = Problem.from_dict(json.loads(json.dumps({
        "requests": [req("n1"), req("n2", resident_tags=["child"]), req("u", urgency="urgent")],
        "responders": []})))
    from solver.objective import weights

    assert weights(p) == {"n1": 1000, "n2": 1200, "u": 3 * 1000}
