"""The repair stage: leftovers of the parts go into the cheapest place that keeps every hard
constraint (each plan here is judged by the independent checker)."""

from __future__ import annotations

from solver.routes import RoutePlan, RoutesProblem, model, solve_routes
from solver.routes.check import check
from solver.routes.decompose import decompose
from solver.routes.explain import explain
from solver.routes.model import Visit
from solver.routes.prepare import prepare
from solver.routes.repair import repair
from solver.routes.solve import _finish
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

FOREVER = float("inf")


def _plan(prep, routes) -> dict:
    """The plan the solver would assemble from the repair's routes (no search). The
    assembly re-times and cuts whatever misses a window as a safety net: the repair's
    routes must need no cut, visit for visit."""
    built = _finish(prep, routes)
    assert sorted((prep.problem.vehicles[v].id, len(r) - 2) for v, r in routes.items()) == \
        sorted((r.responder_id, len(r.stops)) for r in built)
    done = {o for r in built for s in r.stops if s.kind == "deliver" for o in s.orders}
    return RoutePlan(status="feasible", time_s=0.0, routes=tuple(built),
                     unserved=tuple(explain(prep, done))).to_dict()


def _route(prep, v, *orders) -> list[Visit]:
    """A route of vehicle v: each order's task picked up, then dropped, in the given order
    (`+id` pickup, `-id` drop), each visit no earlier than its window opens."""
    pb = prep.problem
    task_of = {pb.deliveries[i].id: t for t in prep.tasks for i in t.orders}
    out = [Visit(model.START, -1, pb.vehicles[v].shift[0])]
    for o in orders:
        t = task_of[o[1:]]
        if o[0] == "+":
            out.append(Visit(model.PICKUP, t.id, pb.pickup_points[t.pickup].hours[0]))
        else:
            out.append(Visit(model.DELIVER, t.id, t.window[0]))
    return out + [Visit(model.END, -1, 0)]


def test_parts_strand_a_zone_order_the_repair_serves():
    """The only cleared responder lives by the east orders and is matched to their part, so
    the controlled-zone order's part gets nobody (the uncleared one may not enter); the
    repair puts it on the cleared responder's route."""
    zones = [{"id": "Z", "status": "controlled"}]
    d = problem([responder("east", 3000, zone_clearances=["Z"]), responder("west", -3000)],
                [pickup("P")],
                [order("e1", 3200), order("e2", 3400, 100), order("z", -2000, zone_id="Z")],
                zones)
    prep = prepare(RoutesProblem.from_dict(d))
    jobs = [(t.id, model.DIRECT, 0, 0) for t in prep.tasks]
    zone_task = next(t.id for t in prep.tasks if t.zone is not None)
    parts = decompose(prep, jobs, 40)
    stranded = [vs for js, vs in parts if any(jobs[j][0] == zone_task for j in js)]
    assert stranded == [[]]
    plan = solved(d)
    assert served(plan) == {"e1", "e2", "z"}
    assert "z" in {o for s in stops(plan, "east") for o in s["orders"]}


def test_repair_alone_builds_a_valid_plan():
    """With no route planned at all, greedy insertion alone serves most orders of a city
    sample (zones, handoffs, urgencies, route limits) and breaks no hard constraint."""
    from bench.routes_instances import generate
    d = generate(60, 8, seed=5)
    prep = prepare(RoutesProblem.from_dict(d))
    plan = _plan(prep, repair(prep, {}, FOREVER))
    assert check(d, plan) == []
    assert len(served(plan)) >= 50


def test_repair_keeps_capacity():
    """A 3-box bike already carries 3 boxes to a: the 2 boxes for b cannot ride along (the
    cheapest place), so the repair plans a second trip to the pharmacy."""
    d = problem([responder("v", capacity=3)], [pickup("P")],
                [order("a", 2000, boxes=3), order("b", 2200, boxes=2)])
    prep = prepare(RoutesProblem.from_dict(d))
    plan = _plan(prep, repair(prep, {0: _route(prep, 0, "+a", "-a")}, FOREVER))
    assert check(d, plan) == []
    assert [s["kind"] for s in stops(plan)] == ["pickup", "deliver", "pickup", "deliver"]
    assert served(plan) == {"a", "b"}


def test_repair_keeps_windows():
    """The only responder is at a's door 10:00-10:10; b, 3 km away, is due in the same
    minutes: it stays unserved (not fitted) rather than making a late."""
    d = problem([responder("v")], [pickup("P")],
                [order("a", 2000, window=[600, 610]), order("b", 2000, 3000, window=[595, 605])])
    prep = prepare(RoutesProblem.from_dict(d))
    plan = _plan(prep, repair(prep, {0: _route(prep, 0, "+a", "-a")}, FOREVER))
    assert check(d, plan) == []
    assert served(plan) == {"a"}
    assert reasons(plan) == {"b": "no_time_left"}


def test_repair_keeps_route_limit():
    """Room in the shift but not in the 60-minute route limit: b stays out."""
    d = problem([responder("v", max_route_minutes=60)], [pickup("P")],
                [order("a", 2500), order("b", -3500)])
    prep = prepare(RoutesProblem.from_dict(d))
    plan = _plan(prep, repair(prep, {0: _route(prep, 0, "+a", "-a")}, FOREVER))
    assert check(d, plan) == []
    assert served(plan) == {"a"}
    assert all(r["duration_min"] <= 60 for r in plan["routes"])


def test_repair_serves_a_handoff_with_both_legs_in_order():
    """A stranded order in a sealed zone: one responder brings it to the gate, a cleared one
    takes it on only after the handover."""
    zones = [{"id": "Z", "status": "sealed", "gate": [121.0, 30.71],
              "gate_service_minutes": 3}]
    d = problem([responder("out", -2500), responder("in", 0, 1200, zone_clearances=["Z"])],
                [pickup("P", -2000)], [order("a", 300, 1300, zone_id="Z")], zones)
    prep = prepare(RoutesProblem.from_dict(d))
    plan = _plan(prep, repair(prep, {}, FOREVER))
    assert check(d, plan) == []
    assert served(plan) == {"a"}
    drop = next(s for s in stops(plan) if s["kind"] == "gate_drop")
    take = next(s for s in stops(plan) if s["kind"] == "gate_pickup")
    assert take["start"] >= drop["start"] + 3
    assert [s["kind"] for s in stops(plan, "in")] == ["gate_pickup", "deliver"]


def test_repair_is_deterministic():
    """Two repairs of the same leftovers give the same routes."""
    from bench.routes_instances import generate
    d = generate(60, 8, seed=6)
    a = b = None
    for _ in range(2):
        prep = prepare(RoutesProblem.from_dict(d))
        out = _plan(prep, repair(prep, {}, FOREVER))
        a, b = b, out
    assert a["routes"] == b["routes"] and a["unserved"] == b["unserved"]


def test_solve_counts_feasible_deliveries():
    """figures.feasible counts the served orders and those unserved only for want of room."""
    d = problem([responder("v", capacity=2, shift=[480, 530])], [pickup("P")],
                [order("n1", -4000), order("n2", -4100),
                 order("e", 4000, boxes=2, urgency="emergency", item="insulin"),
                 order("far", 40000)])
    plan = solve_routes(RoutesProblem.from_dict(d), time_limit=2.0, workers=1).to_dict()
    assert check(d, plan) == []
    assert served(plan) == {"e"}
    assert reasons(plan) == {"n1": "no_time_left", "n2": "no_time_left",
                             "far": "deadline_too_early"}
    assert plan["figures"]["feasible"] == 3


def test_repair_moves_a_stop_to_make_room():
    """Only "a" may enter the zone, and its route's stop q is due when the zone order z is:
    q moves to "b" (who may not enter), and z goes on "a"."""
    zones = [{"id": "Z", "status": "controlled"}]
    d = problem([responder("a", zone_clearances=["Z"]), responder("b", 2500)], [pickup("P")],
                [order("q", 2000, window=[600, 610]),
                 order("z", 2000, 3000, window=[595, 605], zone_id="Z")], zones)
    prep = prepare(RoutesProblem.from_dict(d))
    plan = _plan(prep, repair(prep, {0: _route(prep, 0, "+q", "-q")}, FOREVER))
    assert check(d, plan) == []
    assert served(plan) == {"q", "z"}
    assert {o for s in stops(plan, "b") for o in s["orders"]} == {"q"}
