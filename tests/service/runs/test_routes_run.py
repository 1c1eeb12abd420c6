"""Routes runs: deliveries planned as routes from pickup points, checked by the independent
route checker, handoffs at zone gates, reasons for what cannot be made, commit and stock."""

from datetime import datetime, time, timedelta
from time import monotonic, sleep
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from service.assignments.models import Assignment
from service.runs import routing
from service.runs.models import DispatchRun
from solver.routes.check import check
from tests.conftest import BACKEND
from tests.service.conftest import headers
from tests.service.requests.factory import make_responder
from tests.service.runs.helpers import commit, finish, plan, start_run

SHANGHAI = ZoneInfo("Asia/Shanghai")
PHARMACY = [121.021, 30.702]
HOMES = {
    "r1": (121.030, 30.705),
    "r2": (121.012, 30.698),
    "r3": (121.025, 30.712),
    "r4": (121.02505, 30.71205),  # r3's building
}


def local(hour: int, days: int = 1) -> datetime:
    """A local (Shanghai) time on a coming day: tests never depend on the hour they run at."""
    day = datetime.now(SHANGHAI).date() + timedelta(days=days)
    return datetime.combine(day, time(hour), SHANGHAI)


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def pickup(client, side, stock, **fields) -> dict:
    body = {
        "community_id": side.community_id,
        "name": "东湖大药房",
        "location": point(*PHARMACY),
        "opens_at": "08:00",
        "closes_at": "20:00",
        "stock": stock,
        **fields,
    }
    response = client.post("/v1/pickup-points", json=body, headers=headers(side.dispatcher))
    assert response.status_code == 201, response.text
    return response.json()


def resident(client, side, lon, lat, address) -> dict:
    body = {
        "community_id": side.community_id,
        "grid_id": side.grid_id,
        "name": "王阿婆",
        "address": address,
        "location": point(lon, lat),
    }
    response = client.post("/v1/residents", json=body, headers=headers(side.dispatcher))
    assert response.status_code == 201, response.text
    return response.json()


def order(
    client, side, who, boxes, start=9, end=12, code="medicine_delivery", days=1, end_days=None
) -> dict:
    body = {
        "community_id": side.community_id,
        "grid_id": side.grid_id,
        "resident_id": who["id"],
        "category_code": code,
        "quantity": boxes,
        "window_start": local(start, days).isoformat(),
        "window_end": local(end, end_days or days).isoformat(),
    }
    response = client.post("/v1/requests", json=body, headers=headers(side.dispatcher))
    assert response.status_code == 201, response.text
    return response.json()


def carrier(client, world, side, capacity=4, **fields) -> dict:
    return make_responder(
        client, world, [side.community_id], load_capacity=capacity, speed_kmh=15.0, **fields
    )


def stored(session, run_id) -> dict:
    session.expire_all()
    run = session.get(DispatchRun, run_id)
    assert run is not None and run.plan is not None
    return run.plan


def minutes_plan(body: dict) -> dict:
    """The stored plan in the routing library's own JSON (minutes from the origin)."""
    origin = datetime.fromisoformat(body["origin"])

    def m(iso: str) -> int:
        return int((datetime.fromisoformat(iso) - origin).total_seconds() // 60)

    routes = [
        {
            **{k: r[k] for k in ("responder_id", "distance_m", "duration_min")},
            "start": m(r["start"]),
            "end": m(r["end"]),
            "stops": [
                {
                    **{k: s[k] for k in ("kind", "place_id", "items", "load_after")},
                    "location": [s["lon"], s["lat"]],
                    "arrival": m(s["arrival"]),
                    "start": m(s["start"]),
                    "departure": m(s["departure"]),
                    "orders": s["request_ids"],
                }
                for s in r["stops"]
            ],
        }
        for r in body["routes"]
    ]
    unserved = [
        {"delivery_id": u["request_id"], **{k: u[k] for k in ("reason", "message", "remedy")}}
        for u in body["unassigned"]
    ]
    return {
        "status": body["status"],
        "time_s": body["time_s"],
        "routes": routes,
        "unserved": unserved,
        "figures": body["figures"],
    }


def violations(session, side, body, request_ids) -> list:
    """The independent checker's verdict on the stored plan, against the problem the run's
    rows make (rebuilt now: every window lies on a coming day, so nothing has moved)."""
    loaded = routing.build(
        session, [side.community_id], request_ids, datetime.now(SHANGHAI), named=False
    )
    assert loaded.origin.isoformat() == body["origin"]
    solver_plan = minutes_plan(body)
    planned = {d.id for d in loaded.problem.deliveries}
    solver_plan["unserved"] = [u for u in solver_plan["unserved"] if u["delivery_id"] in planned]
    return check(loaded.problem.to_dict(), solver_plan)


def routes_run(client, side, **body) -> dict:
    run = start_run(client, side.dispatcher, side, kind="routes", **body)
    assert run["kind"] == "routes"
    done = finish(client, side.dispatcher, run["id"])
    assert done["state"] == "succeeded", done
    return plan(client, side.dispatcher, run["id"])


def stops(body, kind):
    return [s for r in body["routes"] for s in r["stops"] if s["kind"] == kind]


def test_a_routes_run_honours_capacity_stock_hours_and_deadlines(client, session, world):
    """Seven boxes for a carrier of four: two pickups, doors within windows, one stop for
    r3 and r4 (one building), and the independent checker finds nothing wrong."""
    a = world.a
    point_ = pickup(client, a, {"medicine_delivery": 7})
    v = carrier(client, world, a, capacity=4)
    who = {
        k: resident(client, a, *xy, address="东湖小区3幢" if k in ("r3", "r4") else k)
        for k, xy in HOMES.items()
    }
    wanted = {"r1": (3, 9, 12), "r2": (2, 9, 11), "r3": (1, 9, 13), "r4": (1, 9, 13)}
    made = {k: order(client, a, who[k], n, s, e) for k, (n, s, e) in wanted.items()}
    visit = order(client, a, who["r1"], 0, code="elder_care_visit")
    body = routes_run(client, a)
    assert body["kind"] == "routes" and body["unassigned"] == []
    assert {x["request_id"] for x in body["assignments"]} == {m["id"] for m in made.values()}
    assert visit["id"] not in {x["request_id"] for x in body["assignments"]}
    (route,) = body["routes"]
    assert route["responder_id"] == v["id"]
    assert len(stops(body, "pickup")) >= 2
    assert all(s["place_id"] == point_["id"] for s in stops(body, "pickup"))
    assert max(s["load_after"] for s in route["stops"]) <= 4
    doors = {tuple(sorted(s["request_ids"])): s for s in stops(body, "deliver")}
    assert tuple(sorted([made["r3"]["id"], made["r4"]["id"]])) in doors
    by_request = {rid: s for s in stops(body, "deliver") for rid in s["request_ids"]}
    for k, m in made.items():
        start = datetime.fromisoformat(by_request[m["id"]]["start"])
        assert local(wanted[k][1]) <= start <= local(wanted[k][2])
    for s in stops(body, "pickup"):
        assert local(8) <= datetime.fromisoformat(s["start"]) <= local(20)
    for x in body["assignments"]:
        assert x["responder_ids"] == [v["id"]]
        assert datetime.fromisoformat(x["start"]) == datetime.fromisoformat(
            by_request[x["request_id"]]["start"]
        )
    ids = [m["id"] for m in made.values()]
    assert violations(session, a, stored(session, body["run_id"]), ids) == []


def test_a_sealed_zone_with_a_gate_is_delivered_in_two_legs(client, session, world):
    """An uncleared carrier brings the boxes to the gate, a cleared one takes them to the
    door after the drop; the commit offers the delivery to both."""
    a = world.a
    home = HOMES["r1"]
    half = 0.002
    ring = [
        [home[0] + dx, home[1] + dy]
        for dx, dy in ((-half, -half), (half, -half), (half, half), (-half, half), (-half, -half))
    ]
    zone = client.post(
        "/v1/zones",
        json={
            "community_id": a.community_id,
            "name": "5幢封控区",
            "status": "sealed",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "gate": point(home[0] - half, home[1]),
        },
        headers=headers(a.dispatcher),
    )
    assert zone.status_code == 201, zone.text
    zone_id = zone.json()["zone"]["id"]
    assert zone.json()["zone"]["gate"] == point(home[0] - half, home[1])
    pickup(client, a, {"medicine_delivery": 5})
    outside = carrier(client, world, a)
    inside = carrier(client, world, a, zone_clearances=[zone_id])
    made = order(client, a, resident(client, a, *home, address="5幢"), 2)
    assert made["zone_id"] == zone_id
    body = routes_run(client, a)
    (x,) = body["assignments"]
    assert x["responder_ids"] == [outside["id"], inside["id"]]
    (drop,) = stops(body, "gate_drop")
    (take,) = stops(body, "gate_pickup")
    (door,) = stops(body, "deliver")
    assert drop["place_id"] == take["place_id"] == zone_id
    assert datetime.fromisoformat(take["start"]) >= datetime.fromisoformat(drop["departure"])
    assert datetime.fromisoformat(door["start"]) > datetime.fromisoformat(take["start"])
    routes = {r["responder_id"]: [s["kind"] for s in r["stops"]] for r in body["routes"]}
    assert routes[outside["id"]] == ["pickup", "gate_drop"]
    assert routes[inside["id"]] == ["gate_pickup", "deliver"]
    assert violations(session, a, stored(session, body["run_id"]), [made["id"]]) == []
    result = commit(client, a.dispatcher, body["run_id"])
    assert result["offered"] == 1 and result["changes"] == []
    rows = session.scalars(select(Assignment).where(Assignment.request_id == made["id"])).all()
    assert {r.responder_id for r in rows} == {outside["id"], inside["id"]}
    assert all(r.state == "offered" for r in rows)


def test_impossible_deliveries_are_reported_with_reasons(client, session, world):
    """No stock of the item, a deadline before the pharmacy opens, a later day, a named
    request that is no delivery: each unassigned with its reason, message and remedy."""
    a = world.a
    pickup(client, a, {"medicine_delivery": 5})
    carrier(client, world, a)
    home = resident(client, a, *HOMES["r1"], address="1幢")
    fine = order(client, a, home, 1)
    no_meals = order(client, a, home, 1, code="meal_delivery")
    too_early = order(client, a, home, 1, start=6, end=7)
    later = order(client, a, home, 1, days=2)
    visit = order(client, a, home, 0, code="elder_care_visit")
    ids = [fine["id"], no_meals["id"], too_early["id"], later["id"], visit["id"]]
    body = routes_run(client, a, request_ids=ids)
    assert [x["request_id"] for x in body["assignments"]] == [fine["id"]]
    reasons = {u["request_id"]: u["reason"] for u in body["unassigned"]}
    assert reasons == {
        no_meals["id"]: "no_stock",
        too_early["id"]: "deadline_too_early",
        later["id"]: "later_day",
        visit["id"]: "not_a_delivery",
    }
    assert all(u["message"] and u["remedy"] for u in body["unassigned"])


def test_commit_offers_and_draws_stock_down_and_never_below_zero(client, session, world):
    """Committed routes take their boxes from the point's stock; a delivery whose boxes were
    taken meanwhile is unplaced with the reason, and the stock stays at or above zero."""
    a = world.a
    me = headers(a.dispatcher)
    point_ = pickup(client, a, {"medicine_delivery": 10})
    v = carrier(client, world, a, capacity=6)
    homes = [resident(client, a, *HOMES[k], address=k) for k in ("r1", "r2")]
    first = [order(client, a, h, 2) for h in homes]
    body = routes_run(client, a)
    result = commit(client, a.dispatcher, body["run_id"])
    assert result["offered"] == 2 and result["changes"] == []
    got = client.get(f"/v1/pickup-points/{point_['id']}", headers=me).json()
    assert got["stock"] == {"medicine_delivery": 6}
    for m in first:
        (row,) = session.scalars(select(Assignment).where(Assignment.request_id == m["id"]))
        assert row.responder_id == v["id"] and row.state == "offered"
        planned = next(x for x in body["assignments"] if x["request_id"] == m["id"])
        assert row.planned_start == datetime.fromisoformat(planned["start"])
    second = [order(client, a, h, 3) for h in homes]
    body = routes_run(client, a)
    assert len(body["assignments"]) == 2
    patched = client.patch(
        f"/v1/pickup-points/{point_['id']}", json={"stock": {"medicine_delivery": 4}}, headers=me
    )
    assert patched.status_code == 200
    result = commit(client, a.dispatcher, body["run_id"])
    assert result["offered"] == 1
    (change,) = result["changes"]
    assert change["what"] == "unplaced" and point_["id"] in change["why"]
    assert change["request_id"] in {m["id"] for m in second}
    got = client.get(f"/v1/pickup-points/{point_['id']}", headers=me).json()
    assert got["stock"] == {"medicine_delivery": 1}


def test_another_communitys_dispatcher_sees_no_routes_run(client, session, world):
    """B's dispatcher: 404 on A's routes run, its plan and its commit; A's scope is unknown."""
    a, other = world.a, headers(world.b.dispatcher)
    pickup(client, a, {"medicine_delivery": 5})
    carrier(client, world, a)
    order(client, a, resident(client, a, *HOMES["r1"], address="1幢"), 1)
    body = routes_run(client, a)
    run_id = body["run_id"]
    for method, path in (
        ("GET", f"/v1/dispatch-runs/{run_id}"),
        ("GET", f"/v1/dispatch-runs/{run_id}/plan"),
        ("POST", f"/v1/dispatch-runs/{run_id}/commit"),
    ):
        assert client.request(method, path, headers=other).status_code == 404, path
    refused = client.post(
        "/v1/dispatch-runs",
        json={"scope": {"type": "community", "id": a.community_id}, "kind": "routes"},
        headers=other,
    )
    assert refused.status_code == 422


def test_assign_runs_are_unchanged_and_say_so(client, session, world):
    """A run without a kind is an assignment run: its plan says kind assign and has no routes."""
    run = start_run(client, world.a.dispatcher, world.a)
    assert run["kind"] == "assign"
    finish(client, world.a.dispatcher, run["id"])
    body = plan(client, world.a.dispatcher, run["id"])
    assert body["kind"] == "assign" and body["routes"] is None


@pytest.mark.parametrize("gate", [None, [121.0305, 30.705]])
def test_a_zones_gate_is_set_and_cleared_by_patch(client, world, gate):
    """PATCH sets a gate or removes it with null."""
    me = headers(world.a.dispatcher)
    ring = [[121.03, 30.70], [121.04, 30.70], [121.04, 30.71], [121.03, 30.70]]
    made = client.post(
        "/v1/zones",
        json={
            "community_id": world.a.community_id,
            "name": "Z",
            "status": "sealed",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "gate": point(121.035, 30.70),
        },
        headers=me,
    ).json()["zone"]
    patched = client.patch(
        f"/v1/zones/{made['id']}", json={"gate": point(*gate) if gate else None}, headers=me
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["zone"]["gate"] == (point(*gate) if gate else None)


def test_the_demo_community_plans_its_deliveries_as_routes(client, session, world):
    """The demo's pickup points let a routes run deliver its medicine order."""
    from service.demo import DEMO_COMMUNITY_CODE, load_demo
    from service.pickups.models import PickupPoint
    from service.places.models import Community
    from service.requests.models import ServiceRequest

    assert load_demo(session)
    session.commit()
    community = session.scalar(select(Community).where(Community.code == DEMO_COMMUNITY_CODE))
    points = session.scalars(
        select(PickupPoint).where(PickupPoint.community_id == community.id)
    ).all()
    assert len(points) == 2
    medicine = session.scalars(
        select(ServiceRequest.id).where(
            ServiceRequest.community_id == community.id,
            ServiceRequest.category_code == "medicine_delivery",
        )
    ).all()
    response = client.post(
        "/v1/dispatch-runs",
        json={
            "scope": {"type": "community", "id": community.id},
            "kind": "routes",
            "time_limit_s": 2,
        },
        headers=headers(world.admin),
    )
    assert response.status_code == 202, response.text
    run_id = response.json()["id"]
    assert finish(client, world.admin, run_id)["state"] == "succeeded"
    body = plan(client, world.admin, run_id)
    assert medicine and [x["request_id"] for x in body["assignments"]] == medicine
    assert {s["place_id"] for s in stops(body, "pickup")} <= {p.id for p in points}


def test_a_commit_mode_routes_run_applies_itself(client, session, world):
    """mode=commit: the executor commits the routes plan with the same code as POST commit."""
    a = world.a
    point_ = pickup(client, a, {"medicine_delivery": 3})
    carrier(client, world, a)
    made = order(client, a, resident(client, a, *HOMES["r2"], address="2幢"), 2)
    run = start_run(client, a.dispatcher, a, kind="routes", mode="commit")
    assert finish(client, a.dispatcher, run["id"])["state"] == "committed"
    (row,) = session.scalars(select(Assignment).where(Assignment.request_id == made["id"]))
    assert row.state == "offered"
    got = client.get(f"/v1/pickup-points/{point_['id']}", headers=headers(a.dispatcher))
    assert got.json()["stock"] == {"medicine_delivery": 1}


def test_a_window_of_weeks_is_planned_on_the_runs_day(client, session, world):
    """A window far longer than the routing horizon is cut to it, not refused."""
    a = world.a
    pickup(client, a, {"medicine_delivery": 3})
    carrier(client, world, a)
    made = order(client, a, resident(client, a, *HOMES["r2"], address="2幢"), 1, end_days=30)
    body = routes_run(client, a)
    assert [x["request_id"] for x in body["assignments"]] == [made["id"]]


def test_vehicles_are_responders_who_carry_in_their_shift_within_their_caps(client, session, world):
    """Only responders with a load capacity, outside the emergency team in peacetime, and
    with a shift on the run's day are vehicles; the shift and minute cap carry over."""
    a = world.a
    weekday = local(9).weekday()
    always = carrier(client, world, a)
    shifted = carrier(
        client, world, a, weekly_shifts=[{"weekday": weekday, "start": "08:00", "end": "12:00"}]
    )
    capped = carrier(client, world, a, max_minutes_per_day=90)
    carrier(client, world, a, capacity=0)
    carrier(client, world, a, emergency_team=True)
    carrier(
        client,
        world,
        a,
        weekly_shifts=[{"weekday": (weekday + 1) % 7, "start": "08:00", "end": "18:00"}],
    )
    carrier(
        client,
        world,
        a,
        shift_exceptions=[{"date": local(9).date().isoformat(), "available": False}],
    )
    made = order(client, a, resident(client, a, *HOMES["r1"], address="1幢"), 1)
    loaded = routing.build(
        session, [a.community_id], [made["id"]], datetime.now(SHANGHAI), named=False
    )
    vehicles = {v.id: v for v in loaded.problem.vehicles}
    assert set(vehicles) == {always["id"], shifted["id"], capped["id"]}
    assert vehicles[always["id"]].shift == (0, 1440)
    assert vehicles[shifted["id"]].shift == (480, 720)
    assert vehicles[capped["id"]].max_route_minutes == 90
    assert vehicles[always["id"]].capacity == 4
    assert loaded.roles[always["id"]] == "volunteer"


def test_other_timed_work_and_the_past_are_cut_from_the_shift():
    """The longest free stretch: before 10:00, after 11:00, and never before now."""
    from service.dispatch import adapter
    from service.responders.models import Responder

    origin = local(0)
    ctx = adapter.Context(
        origin=origin, day_end=origin + timedelta(days=1), week_start=origin, week_end=origin
    )
    free = Responder(weekly_shifts=[], shift_exceptions=[])
    busy = [(local(10), local(11))]
    assert routing._free_shift(free, ctx, origin - timedelta(hours=5), busy) == [660, 1440]
    assert routing._free_shift(free, ctx, local(20), busy) == [1200, 1440]
    assert routing._free_shift(free, ctx, ctx.day_end - timedelta(minutes=10), []) is None


def test_an_organization_that_does_no_deliveries_is_no_vehicle(client, session, world):
    """An organization naming only other services carries nothing; one naming meals does."""
    a = world.a
    visits = carrier(
        client, world, a, kind="organization", service_categories=["tutoring"], slots_per_day=5
    )
    meals = carrier(
        client, world, a, kind="organization", service_categories=["meal_delivery"], slots_per_day=5
    )
    made = order(client, a, resident(client, a, *HOMES["r1"], address="1幢"), 1)
    loaded = routing.build(
        session, [a.community_id], [made["id"]], datetime.now(SHANGHAI), named=False
    )
    assert {v.id for v in loaded.problem.vehicles} == {meals["id"]}
    assert visits["id"] not in loaded.roles


@pytest.mark.skipif(BACKEND != "sqlite", reason="DELETE mid-run needs the in-process engine")
def test_delete_mid_routes_run_stops_the_search_and_keeps_its_routes(client, session, world):
    """A routes run given five minutes, cancelled once it searches: it ends within seconds,
    cancelled, with the routes the search had (every order on them)."""
    a = world.a
    pickup(client, a, {"medicine_delivery": 10})
    v = carrier(client, world, a, capacity=10)
    made = [order(client, a, resident(client, a, *xy, address=k), 1) for k, xy in HOMES.items()]
    run = start_run(client, a.dispatcher, a, kind="routes", time_limit_s=300)
    url = f"/v1/dispatch-runs/{run['id']}"
    for _ in range(100):
        if client.get(url, headers=headers(a.dispatcher)).json()["state"] == "running":
            break
        sleep(0.05)
    sleep(1.5)  # past the insertion: the guided search is under way
    began = monotonic()
    response = client.delete(url, headers=headers(a.dispatcher))
    assert response.status_code == 200 and response.json()["cancel_requested"] is True
    done = finish(client, a.dispatcher, run["id"])
    assert monotonic() - began < 15
    assert done["state"] == "cancelled" and done["has_plan"] is True
    body = plan(client, a.dispatcher, run["id"])
    assert [r["responder_id"] for r in body["routes"]] == [v["id"]]
    assert {x["request_id"] for x in body["assignments"]} == {m["id"] for m in made}
    ids = [m["id"] for m in made]
    assert violations(session, a, stored(session, body["run_id"]), ids) == []
