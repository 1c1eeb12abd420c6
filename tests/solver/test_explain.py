"""Unassigned requests carry a reason code, a sentence and a concrete remedy."""

from conftest import plan_of, req, resp


def _why(plan, rid="r1"):
    return next(u for u in plan.unassigned if u.request_id == rid)


def test_out_of_range_remedy_names_the_distance():
    """The remedy says how near a responder must be and how far the nearest is."""
    u = _why(plan_of([req("r1", max_distance_m=1000)], [resp("v1", 4200)]))
    assert u.reason == "out_of_range" and "1.0 km" in u.remedy and "4.2 km" in u.remedy


def test_no_qualified_remedy_names_licence_and_skill():
    """A missing senior counsellor is named in the remedy."""
    u = _why(plan_of([req("r1", min_licence="senior", qualifications=["counselling"])],
                     [resp("v1")]))
    assert u.reason == "no_qualified_responder"
    assert "senior-licensed" in u.remedy and "counselling" in u.remedy


def test_no_time_remedy_says_how_much_wider():
    """A window missing the only shift by 30 minutes asks for a window 30 minutes wider."""
    u = _why(plan_of([req("r1", 0, window=[400, 450], duration=10)],
                     [resp("v1", 0, shifts=[[480, 600]])]))
    assert u.reason == "no_time" and u.remedy == "a window 30 minutes wider"


def test_fund_shortfall_in_yuan():
    """A fund 20 yuan short asks for exactly 20 yuan more in that fund."""
    u = _why(plan_of([req("r1", cost=12_000)], [resp("v1")],
                     funds=[{"id": "f1", "balance": 10_000}]))
    assert u.reason == "fund_exhausted" and u.remedy == "20.00 yuan more in fund f1"


def test_excluded_and_zone_reasons():
    """Exclusion and missing zone clearance are told apart."""
    plan = plan_of([req("r1", excluded_responders=["v1"]),
                    req("r2", zone_id="z1", zone_status="controlled")], [resp("v1")])
    assert _why(plan, "r1").reason == "excluded"
    assert _why(plan, "r2").reason == "zone_not_cleared"


def test_outranked_by_heavier_work():
    """A request that lost its only responder to an emergency is 'outranked'."""
    plan = plan_of([req("e", urgency="emergency"), req("r1")], [resp("v1", max_tasks=1)])
    u = _why(plan)
    assert u.reason == "outranked" and "free" in u.remedy


def test_every_request_is_served_or_explained(small_problem):
    """Each request appears exactly once, served or unassigned with a message."""
    from solver import solve

    plan = solve(small_problem, time_limit=5)
    ids = [a.request_id for a in plan.assignments] + [u.request_id for u in plan.unassigned]
    assert sorted(ids) == sorted(r.id for r in small_problem.requests)
    assert all(u.message and u.remedy for u in plan.unassigned)


def test_accepted_work_blocking_the_window_is_no_time():
    """A window fully taken by accepted work is 'no_time', with the hours in the remedy."""
    plan = plan_of([req("old", 0, window=[600, 600], duration=60),
                    req("r1", 0, window=[610, 620], duration=10)], [resp("v1")],
                   fixed=[{"request_id": "old", "responder_ids": ["v1"], "start": 600}])
    u = _why(plan)
    assert u.reason == "no_time" and "10:10" in u.remedy
