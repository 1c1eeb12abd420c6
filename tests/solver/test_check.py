"""The independent checker catches each hard constraint when a valid plan is broken."""

from __future__ import annotations

import pytest

from solver.check import check, haversine_m, objective, travel_minutes
from tests.solver.instances import (
    assignment,
    at,
    base_plan,
    base_problem,
    broken,
    plan,
    problem,
    request,
    responder,
)


@pytest.fixture
def base():
    prob = base_problem()
    return prob, base_plan(prob)


def codes(prob: dict, pl: dict) -> set[str]:
    return {v.code for v in check(prob, pl)}


def find(pl: dict, request_id: str) -> dict:
    return next(a for a in pl["assignments"] if a["request_id"] == request_id)


def replace(prob: dict, pl: dict, request_id: str, responder_ids: list[str], **kw) -> None:
    """Swap one assignment for a fresh one (with true travel) on other responders."""
    old = find(pl, request_id)
    kw.setdefault("start", old["start"])
    kw.setdefault("fund_id", old["fund_id"])
    kw.setdefault("fixed", old["fixed"])
    pl["assignments"][pl["assignments"].index(old)] = assignment(
        prob, request_id, responder_ids, **kw
    )


def test_base_plan_is_clean(base):
    """The hand-made base plan breaks no hard constraint."""
    assert check(*base) == []


def test_haversine_known_distance():
    """One degree of latitude is about 111.19 km on the 6,371 km sphere."""
    assert haversine_m([121.0, 30.0], [121.0, 31.0]) == pytest.approx(111_194.9, abs=0.5)


def test_travel_minutes_rounds_up():
    """1000 m at 15 km/h is exactly 4 min; one metre more is 5."""
    assert (travel_minutes(1000, 15.0), travel_minutes(1001, 15.0)) == (4, 5)


def test_missing_request(base):
    """A request neither assigned nor unassigned is a coverage violation."""
    prob, pl = broken(*base)
    pl["unassigned"] = []
    assert [(v.code, v.request_id) for v in check(prob, pl)] == [("coverage", "r5")]


def test_request_twice(base):
    """A request both assigned and unassigned is a coverage violation."""
    prob, pl = broken(*base)
    pl["unassigned"].append({"request_id": "r1", "reason": "capacity"})
    assert codes(prob, pl) == {"coverage"}


def test_unknown_ids(base):
    """Assignments naming unknown requests or responders are caught."""
    prob, pl = broken(*base)
    find(pl, "r2")["responder_ids"] = ["ghost"]
    pl["assignments"].append(assignment(prob, "r1", ["v1"], start=560) | {"request_id": "zz"})
    assert codes(prob, pl) == {"unknown_responder", "unknown_request"}


def test_unknown_reason(base):
    """An unassigned reason outside the contract's codes is caught."""
    prob, pl = broken(*base)
    pl["unassigned"][0]["reason"] = "bad_luck"
    assert codes(prob, pl) == {"reason_code"}


def test_missing_qualification(base):
    """A responder without a required qualification may not serve."""
    prob, pl = broken(*base)
    prob["responders"][0]["qualifications"] = []  # v1 serves r1, which needs 'medicine'
    assert codes(prob, pl) == {"qualification"}


def test_licence_too_low(base):
    """A responder below the request's minimum licence may not serve."""
    prob, pl = broken(*base)
    replace(prob, pl, "r2", ["sw2"])
    prob["responders"][2]["qualifications"] = ["counselling"]  # sw2: assistant < intermediate
    assert codes(prob, pl) == {"qualification"}


def test_team_slot_licence(base):
    """A team member below its slot's licence fails the slot matching."""
    prob, pl = broken(*base)
    prob["responders"][2]["licence"] = "none"  # sw2 fills a min-assistant slot
    assert codes(prob, pl) == {"qualification"}


def test_team_role_mismatch(base):
    """A member whose kind has no slot in the team breaks the role rule."""
    prob, pl = broken(*base)
    replace(prob, pl, "r3", ["st1", "sw1", "sw2", "org1"])
    assert "role" in codes(prob, pl)


def test_reported_roles_match_kinds(base):
    """The plan's roles list must equal the members' kinds."""
    prob, pl = broken(*base)
    find(pl, "r1")["roles"] = ["social_worker"]
    assert codes(prob, pl) == {"role"}


def test_organization_category(base):
    """An organization serves only its own categories."""
    prob, pl = broken(*base)
    prob["responders"][4]["categories"] = ["elder_care_visit"]
    assert codes(prob, pl) == {"category"}


def test_team_incomplete(base):
    """A team request with a slot left empty is not served."""
    prob, pl = broken(*base)
    replace(prob, pl, "r3", ["st1", "sw1", "v2"])
    assert codes(prob, pl) == {"team_complete"}


def test_single_request_with_two(base):
    """A single-responder request carries exactly one responder."""
    prob, pl = broken(*base)
    replace(prob, pl, "r2", ["sw1", "sw2"])
    assert "team_complete" in codes(prob, pl)


def test_team_member_twice(base):
    """One responder fills at most one slot of a team."""
    prob, pl = broken(*base)
    replace(prob, pl, "r3", ["st1", "sw1", "sw1", "v2"])
    assert "team_distinct" in codes(prob, pl)


def test_beyond_radius(base):
    """A request beyond the responder's radius is out of range."""
    prob, pl = broken(*base)
    prob["responders"][0]["radius_m"] = 900  # r1 is 1000 m from v1
    assert codes(prob, pl) == {"radius"}


def test_beyond_request_limit(base):
    """A request's own max_distance_m binds too."""
    prob, pl = broken(*base)
    prob["requests"][1]["max_distance_m"] = 1000  # sw1 is ~1.3 km from r2
    assert codes(prob, pl) == {"max_distance"}


def test_start_outside_window(base):
    """A timed request's start lies in its window."""
    prob, pl = broken(*base)
    find(pl, "r1")["start"] = 610
    assert codes(prob, pl) == {"window"}


def test_timed_request_without_start(base):
    """A timed request needs a start."""
    prob, pl = broken(*base)
    find(pl, "r1")["start"] = None
    assert codes(prob, pl) == {"window"}


def test_untimed_request_with_start(base):
    """An untimed request is not scheduled, so it carries no start."""
    prob, pl = broken(*base)
    find(pl, "r2")["start"] = 600
    assert codes(prob, pl) == {"window"}


def test_busy_interval_outside_shift(base):
    """The round trip [start-travel, start+duration+travel] lies inside one shift."""
    prob, pl = broken(*base)
    prob["responders"][0]["shifts"] = [[480, 560]]  # r1 busy 556..584
    assert codes(prob, pl) == {"shift"}


def test_busy_interval_across_two_shifts(base):
    """Two touching shifts do not make one: the interval must fit inside a single shift."""
    prob, pl = broken(*base)
    prob["responders"][0]["shifts"] = [[480, 570], [570, 720]]
    assert codes(prob, pl) == {"shift"}


def test_untimed_needs_long_enough_shift(base):
    """An untimed task needs a shift of at least duration + 2*travel."""
    prob, pl = broken(*base)
    prob["responders"][1]["shifts"] = [[480, 530], [676, 729]]  # r2 needs 60 + 2*4 = 68
    assert codes(prob, pl) == {"shift"}


def test_team_shares_start_inside_each_shift(base):
    """The team's shared start must fit every member's own shifts."""
    prob, pl = broken(*base)
    prob["responders"][2]["shifts"] = [[480, 700]]  # sw2 busy until ~729
    assert codes(prob, pl) == {"shift"}


def test_overlap(base):
    """One responder's busy intervals may not overlap."""
    prob, pl = broken(*base)
    prob["requests"][0]["window"] = [540, 700]
    prob["responders"][0]["shifts"] = [[480, 800]]
    find(pl, "r1")["start"] = 690  # v1 busy 686..714
    replace(prob, pl, "r3", ["st1", "sw1", "sw2", "v1"])  # v1 busy ~675..730
    assert codes(prob, pl) == {"overlap"}


def test_touching_intervals_do_not_overlap():
    """Back-to-back round trips (one ends when the next begins) are allowed."""
    prob = problem(
        [request("a", window=[500, 500]), request("b", window=[520, 520])], [responder("v")]
    )
    pl = plan([assignment(prob, "a", ["v"], start=500), assignment(prob, "b", ["v"], start=520)])
    assert check(prob, pl) == []


def test_max_tasks_counts_fixed_work(base):
    """Tasks, fixed ones included, stay within max_tasks."""
    prob, pl = broken(*base)
    prob["responders"][4]["max_tasks"] = 1
    prob["requests"][4] = request("r5", location=at(900, 900), category="meal_delivery")
    pl["unassigned"] = []
    pl["assignments"].append(assignment(prob, "r5", ["org1"]))
    assert codes(prob, pl) == {"max_tasks"}


def test_max_minutes_includes_round_trip(base):
    """Service plus round-trip travel minutes stay within max_minutes."""
    prob, pl = broken(*base)
    prob["responders"][0]["max_minutes"] = 27  # r1: 20 + 2*4 = 28
    assert codes(prob, pl) == {"max_minutes"}


def test_load_capacity(base):
    """Boxes carried stay within load_capacity."""
    prob, pl = broken(*base)
    prob["responders"][0]["load_capacity"] = 1
    assert codes(prob, pl) == {"load_capacity"}


def test_sealed_zone_needs_clearance(base):
    """A sealed-zone request is served only by a cleared responder."""
    prob, pl = broken(*base)
    prob["responders"][0]["zone_clearances"] = []
    assert codes(prob, pl) == {"zone"}


def test_precaution_zone_open_to_all(base):
    """A precaution-zone request needs no clearance."""
    prob, pl = broken(*base)
    prob["requests"][0]["zone_status"] = "precaution"
    prob["responders"][0]["zone_clearances"] = []
    assert check(prob, pl) == []


def test_paid_request_without_fund(base):
    """A request with cost > 0 must be charged to a fund."""
    prob, pl = broken(*base)
    prob["fixed"] = []
    find(pl, "r4").update(fund_id=None, fixed=False)
    assert codes(prob, pl) == {"fund"}


def test_ineligible_fund(base):
    """The fund charged must be eligible by category, community and resident tags."""
    prob, pl = broken(*base)
    prob["funds"][0]["resident_tags"] = ["disabled"]  # r4 resident is low_income only
    assert codes(prob, pl) == {"fund"}


def test_fund_balance(base):
    """Costs charged to a fund stay within its balance."""
    prob, pl = broken(*base)
    prob["funds"][0]["balance"] = 2999
    assert codes(prob, pl) == {"fund_balance"}


def test_fixed_assignment_changed(base):
    """A fixed assignment appears unchanged in the plan."""
    prob, pl = broken(*base)
    prob["responders"][5].update(kind="organization", categories=None)
    replace(prob, pl, "r4", ["v2"])
    assert "fixed" in codes(prob, pl)


def test_fixed_assignment_dropped(base):
    """A fixed assignment may not be left unassigned."""
    prob, pl = broken(*base)
    pl["assignments"] = [a for a in pl["assignments"] if a["request_id"] != "r4"]
    pl["unassigned"].append({"request_id": "r4", "reason": "capacity"})
    assert codes(prob, pl) == {"fixed"}


def test_excluded_responder(base):
    """An excluded responder never serves that request."""
    prob, pl = broken(*base)
    prob["requests"][1]["excluded_responders"] = ["sw1"]
    assert codes(prob, pl) == {"excluded"}


def test_reported_distance_must_be_geodesic(base):
    """Reported metres must match the haversine distance."""
    prob, pl = broken(*base)
    find(pl, "r1")["distance_m"] = [900]
    assert codes(prob, pl) == {"travel_report"}


def test_reported_minutes_must_match(base):
    """Reported minutes must be ceil(metres / speed)."""
    prob, pl = broken(*base)
    find(pl, "r2")["travel_minutes"] = [3]
    assert codes(prob, pl) == {"travel_report"}


def test_travel_matrix_overrides_geodesic(base):
    """A travel-matrix entry replaces the computed travel for reporting and feasibility."""
    prob, pl = broken(*base)
    prob["travel"] = [{"responder": "v1", "request": "r1", "minutes": 90, "metres": 1500}]
    assert codes(prob, pl) == {"travel_report", "shift"}  # busy 470..670 leaves 480..720
    find(pl, "r1").update(travel_minutes=[90], distance_m=[1500])
    assert codes(prob, pl) == {"shift"}


def tiny_objective_case() -> tuple[dict, dict]:
    prob = problem(
        [
            request("a", location=at(1000, 0), resident_tags=["elderly"]),
            request("b", urgency="urgent", community_id=None, previous_responder="v"),
        ],
        [responder("v")],
        travel=[
            {"responder": "v", "request": "a", "minutes": 4, "metres": 1000},
            {"responder": "v", "request": "b", "minutes": 0, "metres": 0},
        ],
    )
    return prob, plan([assignment(prob, "a", ["v"]), assignment(prob, "b", ["v"])])


def test_objective_by_hand():
    """Tiers, travel, fairness, bonuses and the scale U follow the README formula."""
    # v(a)=1200 normal, v(b)=1000 urgent -> M=1,2; P=3200. T=10, F=5, C=30+10 -> -25.
    # B = 2*(10*5+10) + 30*2 + 5*1 = 185 -> U = 186.
    assert objective(*tiny_objective_case()) == pytest.approx(3200 + 25 / 186, rel=1e-12)


def test_objective_of_empty_plan_is_zero():
    """With nothing served and nothing fixed the objective is 0."""
    prob, _ = tiny_objective_case()
    assert objective(prob, plan([], [("a", "outranked"), ("b", "outranked")])) == 0.0


def test_one_urgent_outweighs_all_normal(base):
    """Serving the urgent team request beats serving every normal request."""
    prob, pl = base
    urgent_only = plan([a for a in pl["assignments"] if a["request_id"] in ("r3", "r4")])
    normal_only = plan([a for a in pl["assignments"] if a["request_id"] in ("r2", "r4")])
    assert objective(prob, urgent_only) > objective(prob, normal_only)


def test_one_metre_rounding_is_tolerated(base):
    """Reported metres one off the haversine pass when the minutes follow from them."""
    prob, pl = broken(*base)
    a = find(pl, "r1")
    a["distance_m"] = [a["distance_m"][0] + 1]
    a["travel_minutes"] = [travel_minutes(a["distance_m"][0], 15.0)]
    assert check(prob, pl) == []


def test_free_request_charged_to_fund(base):
    """A request without cost is not charged to a fund."""
    prob, pl = broken(*base)
    find(pl, "r2")["fund_id"] = "f1"
    assert codes(prob, pl) == {"fund"}


def test_marked_fixed_without_being_fixed(base):
    """Only the problem's fixed assignments may carry fixed: true."""
    prob, pl = broken(*base)
    find(pl, "r2")["fixed"] = True
    assert codes(prob, pl) == {"fixed"}
