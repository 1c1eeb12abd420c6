"""Delivery routes: each hard constraint on a small case built so that dropping the
constraint changes the plan (every plan also passes the independent checker)."""

from __future__ import annotations

from tests.solver.routes_builders import (
    order,
    pickup,
    problem,
    reasons,
    responder,
    served,
    solved,
    stops,
)


def test_capacity_forces_a_second_trip():
    """Four boxes on a three-box bike: two trips to the pharmacy, never more than 3 aboard."""
    d = problem([responder("v", capacity=3)], [pickup("P", 500)],
                [order("a", 1500, boxes=2), order("b", 1500, 300, boxes=2)])
    plan = solved(d)
    assert served(plan) == {"a", "b"}
    assert max(s["load_after"] for s in stops(plan)) <= 3
    assert sum(s["kind"] == "pickup" for s in stops(plan)) == 2


def test_time_windows_set_the_order_of_stops():
    """The far door closes early, so it is served first though the near one is on the way."""
    d = problem([responder("v")], [pickup("P")],
                [order("near", 400, window=[600, 1080]), order("far", 2000, window=[480, 560])])
    plan = solved(d)
    drops = [s["orders"][0] for s in stops(plan) if s["kind"] == "deliver"]
    assert drops == ["far", "near"]
    assert all(480 <= s["start"] for s in stops(plan))


def test_pickup_waits_for_opening_hours():
    """A pharmacy opening at 10:00 is not visited before 10:00 even though the shift starts
    at 08:00."""
    d = problem([responder("v")], [pickup("P", 300, hours=[600, 1200])],
                [order("a", 800)])
    plan = solved(d)
    (p,) = [s for s in stops(plan) if s["kind"] == "pickup"]
    assert p["start"] >= 600
    assert served(plan) == {"a"}


def test_closed_pickup_point_is_never_used():
    """A pharmacy that closes before the deadline can be reached is skipped for an open one."""
    d = problem([responder("v")],
                [pickup("early", 200, hours=[300, 400]), pickup("open", -1500)],
                [order("a", 400)])
    plan = solved(d)
    assert [s["place_id"] for s in stops(plan) if s["kind"] == "pickup"] == ["open"]


def test_pickup_precedes_delivery_on_the_same_vehicle():
    """A responder living at the door still has to fetch the medicine from the pharmacy;
    the one who picks it up is the one who delivers it."""
    d = problem([responder("home", 3000), responder("far", -6000)], [pickup("P")],
                [order("a", 3000)])
    plan = solved(d)
    for r in plan["routes"]:
        kinds = [s["kind"] for s in r["stops"]]
        if "deliver" in kinds:
            assert "pickup" in kinds and kinds.index("pickup") < kinds.index("deliver")


def test_stock_sends_orders_to_the_next_pharmacy():
    """The near pharmacy holds one box of insulin; the second order goes to the far one."""
    d = problem([responder("v")],
                [pickup("near", 300, stock={"insulin": 1}),
                 pickup("far", -2000, stock={"insulin": 5})],
                [order("a", 500, item="insulin"), order("b", 600, item="insulin")])
    plan = solved(d)
    used = [s["place_id"] for s in stops(plan) if s["kind"] == "pickup"]
    assert sorted(used) == ["far", "near"]
    assert served(plan) == {"a", "b"}


def test_no_stock_anywhere_is_explained():
    """An item nobody holds is unserved with reason no_stock and a remedy."""
    d = problem([responder("v")], [pickup("P", stock={"general": 5})],
                [order("a", 500, item="insulin", boxes=2)])
    plan = solved(d)
    assert reasons(plan) == {"a": "no_stock"}
    assert "insulin" in plan["unserved"][0]["remedy"]


def test_zone_clearance_chooses_the_cleared_responder():
    """A door in a controlled zone is served by the far cleared responder, not the near one."""
    zones = [{"id": "Z", "status": "controlled"}]
    d = problem([responder("near", 900), responder("cleared", -3000, zone_clearances=["Z"])],
                [pickup("P")], [order("a", 1000, zone_id="Z")], zones)
    plan = solved(d)
    assert served(plan) == {"a"}
    assert [s["orders"] for s in stops(plan, "cleared") if s["kind"] == "deliver"] == [["a"]]
    assert not stops(plan, "near")


def test_no_cleared_responder_is_explained():
    """Nobody cleared for the zone: unserved, reason no_cleared_responder naming it."""
    zones = [{"id": "Z", "status": "sealed"}]
    d = problem([responder("v")], [pickup("P")], [order("a", 1000, zone_id="Z")], zones)
    plan = solved(d)
    assert reasons(plan) == {"a": "no_cleared_responder"}
    assert "Z" in plan["unserved"][0]["message"]


def _gated(responders, deliveries):
    zones = [{"id": "Z", "status": "sealed", "gate": [121.0, 30.71],
              "gate_service_minutes": 3}]
    return problem(responders, [pickup("P", -2000)], deliveries, zones)


def test_handoff_second_leg_starts_after_the_first_arrives():
    """Outside volunteers bring the boxes to the gate; the cleared one inside leaves the
    gate only after the handover (drop start + gate service)."""
    from tests.solver.routes_builders import at
    inside = at(300, 1300)
    d = _gated([responder("out1", -2500), responder("out2", 2500),
                responder("in", 0, 1200, zone_clearances=["Z"])],
               [order("a", 300, 1300, zone_id="Z"), order("b", 200, 1250, zone_id="Z",
                                                         location=inside)])
    d["deliveries"][1]["location"] = inside
    plan = solved(d)
    assert served(plan) == {"a", "b"}
    drops = {o: s["start"] + 3 for s in stops(plan) if s["kind"] == "gate_drop"
             for o in s["orders"]}
    picks = {o: s["start"] for s in stops(plan) if s["kind"] == "gate_pickup"
             for o in s["orders"]}
    assert drops.keys() == picks.keys() == {"a", "b"}
    assert all(picks[o] >= drops[o] for o in drops)
    assert all(s["kind"] != "deliver" for s in stops(plan, "out1") + stops(plan, "out2"))


def test_handoff_is_both_legs_or_neither():
    """The only outside responder cannot carry the boxes to the gate, so the cleared one's
    gate -> door leg is not planned either."""
    d = _gated([responder("out", -2500, capacity=1),
                responder("in", 0, 1200, zone_clearances=["Z"])],
               [order("a", 300, 1300, zone_id="Z", boxes=3)])
    plan = solved(d)
    assert reasons(plan) == {"a": "capacity"} or reasons(plan) == {"a": "no_time_left"}
    assert not [s for s in stops(plan) if s["kind"].startswith("gate")]


def test_orders_of_one_building_share_a_stop():
    """Three orders for one building: one pickup and one door stop carrying all three."""
    d = problem([responder("v")], [pickup("P")],
                [order(x, 1200, building_id="B7") for x in ("a", "b", "c")])
    plan = solved(d)
    doors = [s for s in stops(plan) if s["kind"] == "deliver"]
    assert len(doors) == 1 and sorted(doors[0]["orders"]) == ["a", "b", "c"]
    assert doors[0]["place_id"] == "B7"


def test_emergency_is_never_dropped_for_normal_orders():
    """Room for one trip only: the emergency insulin goes, the two normal orders (more
    orders, same boxes) wait."""
    d = problem([responder("v", capacity=2, shift=[480, 530])], [pickup("P")],
                [order("n1", -4000, boxes=1), order("n2", -4100, boxes=1),
                 order("e", 4000, boxes=2, urgency="emergency", item="insulin")])
    plan = solved(d)
    assert "e" in served(plan)
    assert set(reasons(plan)) == {"n1", "n2"}


def test_deadline_before_any_shift_is_explained():
    """A deadline before anyone could arrive gets deadline_too_early with a later time."""
    d = problem([responder("v", shift=[600, 1080])], [pickup("P")],
                [order("a", 1000, window=[480, 590])])
    plan = solved(d)
    assert reasons(plan) == {"a": "deadline_too_early"}
    assert "move the deadline to" in plan["unserved"][0]["remedy"]


def test_max_route_minutes_bounds_the_route():
    """A two-hour limit keeps the route short and leaves the far order unserved."""
    d = problem([responder("v", max_route_minutes=60)], [pickup("P")],
                [order("near", 500), order("far", 9000)])
    plan = solved(d)
    assert served(plan) == {"near"}
    assert all(r["duration_min"] <= 60 for r in plan["routes"])


def test_travel_matrix_replaces_great_circle():
    """With a client matrix the route's distance is the matrix's, not the straight line."""
    d = problem([responder("v")], [pickup("P", 1000)], [order("a", 2000)])
    pts = [d["responders"][0]["base"], d["pickup_points"][0]["location"],
           d["deliveries"][0]["location"]]
    d["travel"] = {"points": pts, "metres": [[0, 5000, 7000], [5000, 0, 4000],
                                             [7000, 4000, 0]]}
    plan = solved(d)
    assert plan["routes"][0]["distance_m"] == 5000 + 4000 + 7000


def test_same_problem_same_plan():
    """Two solves of the same problem give the same routes and unserved rows."""
    from bench.routes_instances import generate
    d = generate(120, 12, seed=3)
    a, b = solved(d, 3.0), solved(d, 3.0)
    assert a["routes"] == b["routes"] and a["unserved"] == b["unserved"]


def test_a_big_part_beside_a_small_one_keeps_the_time_limit():
    """Stage B in one big part and one small (a zone's): the big part may not take the
    small one's core-time as wall time (it did: 19 s for a 15 s limit)."""
    from bench.routes_instances import generate
    from solver.routes import RoutesProblem, solve_routes
    plan = solve_routes(RoutesProblem.from_dict(generate(150, 20, seed=3)), time_limit=15.0,
                        workers=2)
    assert plan.time_s <= 15.0
    assert plan.figures["served"] > 0
