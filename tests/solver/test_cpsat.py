"""Coupled hard constraints (time, caps, teams, funds, fixed work) in the CP-SAT model."""

from conftest import plan_of, reason_of, req, resp, who_serves


def test_visit_starts_inside_window_and_shift_with_travel():
    """The start is in the window and the round trip (travel both ways) inside the shift."""
    plan = plan_of([req("r1", window=[480, 600], duration=30)],
                   [resp("v1", 2500, shifts=[[500, 700]])])
    a = plan.assignments[0]
    t = a.travel_minutes[0]
    assert 480 <= a.start <= 600 and a.start - t >= 500 and a.start + 30 + t <= 700


def test_shift_outside_window_rules_out_responder():
    """A nearer responder whose shift misses the window is passed over."""
    plan = plan_of([req("r1", window=[600, 620])],
                   [resp("near", 100, shifts=[[480, 560]]), resp("far", 2000)])
    assert who_serves(plan) == {"r1": ("far",)}


def test_no_overlap_of_one_responders_visits():
    """One responder cannot do two visits whose round trips overlap."""
    plan = plan_of([req("a", 1000, window=[600, 600], duration=30),
                    req("b", 1000, window=[610, 610], duration=30)], [resp("v1")])
    assert len(plan.assignments) == 1


def test_back_to_back_visits_are_allowed():
    """Round trips that touch end-to-start do not overlap."""
    plan = plan_of([req("a", 0, window=[600, 600], duration=30),
                    req("b", 0, window=[630, 630], duration=30)], [resp("v1")])
    assert len(plan.assignments) == 2


def test_fixed_visit_blocks_its_time():
    """Accepted (fixed) work keeps its slot: a new visit cannot overlap it."""
    plan = plan_of([req("old", 0, window=[600, 600], duration=60),
                    req("new", 0, window=[620, 620], duration=10)], [resp("v1")],
                   fixed=[{"request_id": "old", "responder_ids": ["v1"], "start": 600}])
    assert who_serves(plan) == {"old": ("v1",)}
    assert plan.assignments[0].fixed


def test_max_tasks_counts_fixed_work():
    """max_tasks caps new work plus accepted work."""
    plan = plan_of([req("old"), req("a"), req("b")], [resp("v1", max_tasks=2)],
                   fixed=[{"request_id": "old", "responder_ids": ["v1"]}])
    assert len(plan.assignments) == 2


def test_max_minutes_count_travel():
    """Minutes caps count the round trip, not just the service time."""
    plan = plan_of([req("a", 1500, duration=20, window=[480, 900]),
                    req("b", 1500, duration=20, window=[480, 900])],
                   [resp("v1", max_minutes=60)])
    assert plan.assignments[0].travel_minutes == (6,)
    assert len(plan.assignments) == 1


def test_load_capacity():
    """Boxes carried over the problem stay within load capacity."""
    plan = plan_of([req("a", quantity=6, window=[480, 900]),
                    req("b", quantity=6, window=[480, 900])], [resp("v1", load_capacity=10)])
    assert len(plan.assignments) == 1


def test_organization_slots():
    """An organization's slots (max_tasks) cap its visits."""
    org = resp("org", kind="organization", max_tasks=1)
    plan = plan_of([req("a", window=[480, 900]), req("b", window=[480, 900])], [org])
    assert len(plan.assignments) == 1


def test_team_all_or_nothing():
    """A team needing two social workers is not half-served by the one there is."""
    team = [{"role": "social_worker", "count": 2}, {"role": "volunteer", "count": 1}]
    plan = plan_of([req("t", team=team)],
                   [resp("sw1", kind="social_worker"), resp("v1")])
    assert who_serves(plan) == {}
    assert reason_of(plan, "t") == "team_incomplete"


def test_team_slots_filled_by_role_and_members_share_start():
    """Every slot gets members of its role, distinct, starting together."""
    team = [{"role": "social_worker", "count": 1, "min_licence": "assistant"},
            {"role": "volunteer", "count": 2}]
    plan = plan_of([req("t", team=team, window=[480, 700], duration=30)],
                   [resp("sw1", 200, kind="social_worker", licence="senior"),
                    resp("sw2", 100, kind="social_worker"),
                    resp("v1", 300), resp("v2", 400), resp("v3", 900)])
    a = plan.assignments[0]
    assert sorted(zip(a.roles, a.responder_ids, strict=True)) == [
        ("social_worker", "sw1"), ("volunteer", "v1"), ("volunteer", "v2")]
    assert a.start is not None


def test_team_needs_a_common_start():
    """Members whose shifts never meet in the window cannot form the team."""
    team = [{"role": "social_worker", "count": 1}, {"role": "volunteer", "count": 1}]
    plan = plan_of([req("t", team=team, window=[480, 700], duration=30)],
                   [resp("sw1", kind="social_worker", shifts=[[480, 540]]),
                    resp("v1", shifts=[[600, 700]])])
    assert who_serves(plan) == {}


def test_cost_needs_an_eligible_fund():
    """A paid request is not served when no fund may pay for its category."""
    plan = plan_of([req("r1", cost=500)], [resp("v1")],
                   funds=[{"id": "f1", "balance": 10_000, "categories": ["meal"]}])
    assert who_serves(plan) == {}
    assert reason_of(plan, "r1") == "no_eligible_fund"


def test_fund_balance_is_a_hard_limit():
    """Two 60-yuan requests cannot both be paid from a 100-yuan fund."""
    plan = plan_of([req("a", cost=6000), req("b", cost=6000)], [resp("v1")],
                   funds=[{"id": "f1", "balance": 10_000}])
    assert len(plan.assignments) == 1
    assert plan.assignments[0].fund_id == "f1"


def test_fund_balance_counts_fixed_charges():
    """What fixed work already charged to a fund is not available again."""
    plan = plan_of([req("old", cost=6000), req("new", cost=6000)], [resp("v1"), resp("v2")],
                   funds=[{"id": "f1", "balance": 10_000}],
                   fixed=[{"request_id": "old", "responder_ids": ["v1"], "fund_id": "f1"}])
    assert who_serves(plan) == {"old": ("v1",)}
    assert reason_of(plan, "new") == "fund_exhausted"


def test_free_request_charges_no_fund():
    """A request with no cost is never charged to a fund."""
    plan = plan_of([req("a", window=[480, 900])], [resp("v1")],
                   funds=[{"id": "f1", "balance": 10_000}])
    assert plan.assignments[0].fund_id is None


def test_one_responder_fills_at_most_one_slot():
    """Two volunteer slots cannot both be filled by the only volunteer."""
    team = [{"role": "volunteer", "count": 1}, {"role": "volunteer", "count": 1,
                                                 "qualifications": []}]
    plan = plan_of([req("t", team=team, window=[480, 600])], [resp("v1")])
    assert who_serves(plan) == {}


def test_fixed_assignment_is_kept_as_given():
    """Accepted work keeps its responder, start and fund though another would be nearer."""
    plan = plan_of([req("r1", 0, window=[480, 600], cost=500)],
                   [resp("far", 3000), resp("near", 10)],
                   funds=[{"id": "f1", "balance": 1000}, {"id": "f2", "balance": 9000}],
                   fixed=[{"request_id": "r1", "responder_ids": ["far"], "start": 590,
                           "fund_id": "f1"}])
    a = plan.assignments[0]
    assert (a.responder_ids, a.start, a.fund_id, a.fixed) == (("far",), 590, "f1", True)
