"""Plan exports: CSV and GeoJSON that match the plan, printable route sheets per responder,
residents' contact masked except on a responder's own sheet of a committed run (audited)."""

import csv
import io
import json
import re
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select

from service.audit.models import AuditEntry
from service.auth.principal import Role
from service.dispatch.adapter import LOCAL
from service.runs import jobs
from service.runs import repository as runs_repo
from service.runs.models import DispatchRun
from tests.service.conftest import add_key, headers
from tests.service.dispatch.helpers import setup_category, submit, volunteer
from tests.service.requests.factory import make_responder
from tests.service.runs.helpers import commit, finish, plan, start_run

PHONE = "13800000001"
ADDRESS = "当湖街道1幢101"
NOTE = "胰岛素 NOTE-SECRET"
DESCRIPTION = "DESC-SECRET"
BASE = {"type": "Point", "coordinates": [121.03, 30.71]}


def _resident(client, side, name="张桂英", phone=PHONE, address=ADDRESS) -> dict:
    body = {
        "community_id": side.community_id,
        "name": name,
        "phone": phone,
        "address": address,
        "notes": NOTE,
        "location": BASE,
    }
    response = client.post("/v1/residents", json=body, headers=headers(side.dispatcher))
    assert response.status_code == 201, response.text
    return response.json()


def _get(client, key, url, status=200):
    response = client.get(url, headers=headers(key))
    assert response.status_code == status, response.text
    return response


@pytest.fixture
def planned(client, session, world):
    """Community A dispatching by hand: two volunteers (one may take two tasks, the other
    one), four requests of two residents, a finished preview run."""
    setup_category(client, world)
    v1, k1 = volunteer(client, session, world, world.a, name="甲志愿", max_tasks_per_day=2)
    v2, k2 = volunteer(client, session, world, world.a, name="乙志愿", max_tasks_per_day=1)
    zhang = _resident(client, world.a)
    formula = _resident(client, world.a, name="=1+1", phone="13900000002", address="=cmd|x")
    requests = [
        submit(client, world.a, resident_id=r["id"], description=DESCRIPTION)
        for r in (zhang, zhang, formula, formula)
    ]
    run = start_run(client, world.a.dispatcher, world.a)
    assert finish(client, world.a.dispatcher, run["id"])["state"] == "succeeded"
    body = plan(client, world.a.dispatcher, run["id"])
    assert len(body["assignments"]) == 3 and len(body["unassigned"]) == 1
    return {
        "run": run,
        "plan": body,
        "keys": {v1["id"]: k1, v2["id"]: k2},
        "names": {v1["id"]: "甲志愿", v2["id"]: "乙志愿"},
        "residents": (zhang, formula),
        "requests": {r["id"]: r for r in requests},
    }


def _csv_rows(client, key, run_id) -> list[dict[str, str]]:
    response = _get(client, key, f"/v1/dispatch-runs/{run_id}/plan.csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith("\ufeff".encode())
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_csv_parses_back_to_the_plan(client, world, planned):
    """One row per planned assignment and per unassigned request, with the plan's values,
    residents masked, a formula-like value kept as text."""
    rows = _csv_rows(client, world.a.dispatcher, planned["run"]["id"])
    by_request = {r["request_id"]: r for r in rows}
    assert len(rows) == len(by_request) == 4
    for a in planned["plan"]["assignments"]:
        row = by_request[a["request_id"]]
        assert row["row"] == "assigned"
        assert row["responder_ids"].split(";") == a["responder_ids"]
        assert datetime.fromisoformat(row["start"]) == datetime.fromisoformat(a["start"])
        assert datetime.fromisoformat(row["start"]).utcoffset() == timedelta(hours=8)
        assert [int(x) for x in row["travel_minutes"].split(";")] == a["travel_minutes"]
        assert [int(x) for x in row["distance_m"].split(";")] == a["distance_m"]
        assert row["fund_id"] == (a["fund_id"] or "")
        assert row["responder_names"] in ("甲志愿", "乙志愿")
    (u,) = planned["plan"]["unassigned"]
    row = by_request[u["request_id"]]
    assert row["row"] == "unassigned" and row["responder_ids"] == ""
    assert (row["reason"], row["message"], row["remedy"]) == (
        u["reason"],
        u["message"],
        u["remedy"],
    )
    for row in rows:
        request = planned["requests"][row["request_id"]]
        assert (row["category_code"], row["category_name"]) == ("errand", "代购药品")
        assert row["urgency"] == request["urgency"]
        assert [float(row["lon"]), float(row["lat"])] == request["location"]["coordinates"]
        assert row["resident_phone"] in ("138****0001", "139****0002")
        assert row["resident_address"] in ("当湖街道***", "'=cmd***")
        assert row["resident_name"] in ("张桂英", "'=1+1")


def test_geojson_has_a_point_per_request_in_lon_lat_order(client, world, planned):
    """A FeatureCollection of Points at the requests' [lon, lat] with the rows as properties."""
    response = _get(
        client, world.a.dispatcher, f"/v1/dispatch-runs/{planned['run']['id']}/plan.geojson"
    )
    assert response.headers["content-type"] == "application/geo+json"
    doc = json.loads(response.content.decode("utf-8"))
    assert doc["type"] == "FeatureCollection"
    features = doc["features"]
    assert len(features) == 4
    for f in features:
        assert f["type"] == "Feature" and f["geometry"]["type"] == "Point"
        lon, lat = f["geometry"]["coordinates"]
        request = planned["requests"][f["properties"]["request_id"]]
        assert [lon, lat] == request["location"]["coordinates"] and 73 < lon < 135 and 18 < lat < 54
        assert f["properties"]["row"] in ("assigned", "unassigned")
        assert f["properties"]["resident_phone"] in ("138****0001", "139****0002")
    rows = {f["properties"]["request_id"]: f["properties"] for f in features}
    for a in planned["plan"]["assignments"]:
        assert rows[a["request_id"]]["responder_ids"] == a["responder_ids"]


def _sections(html: str) -> list[str]:
    return html.split('<section class="sheet">')[1:]


def _times(section: str) -> list[str]:
    return re.findall(r"\d\d-\d\d \d\d:\d\d", section)


def _local(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(LOCAL).strftime("%m-%d %H:%M")


def _printable(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html
    assert "@media print" in html and "page-break-after: always" in html
    for forbidden in ("<script", "http://", "https://", "<link", "src=", "url("):
        assert forbidden not in html


def test_dispatcher_sheets_list_each_responders_work_by_start_masked(client, world, planned):
    """A page per responder with their assignments in start order and their times; phones
    masked; a last page with the unassigned request and its reason."""
    run_id = planned["run"]["id"]
    response = _get(client, world.a.dispatcher, f"/v1/dispatch-runs/{run_id}/route-sheets")
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    html = response.text
    _printable(html)
    assert PHONE not in html and "138****0001" in html and ADDRESS not in html
    sections = _sections(html)
    assert len(sections) == len(planned["keys"]) + 1
    for section in sections[:-1]:
        (responder_id,) = [j for j, name in planned["names"].items() if name in section]
        mine = sorted(
            (a for a in planned["plan"]["assignments"] if responder_id in a["responder_ids"]),
            key=lambda a: a["start"],
        )
        assert _times(section) == [_local(a["start"]) for a in mine]
        shown = re.findall(r'title="([0-9a-f-]{36})"', section)
        assert shown == [a["request_id"] for a in mine]
    (u,) = planned["plan"]["unassigned"]
    assert u["reason"] in sections[-1] and u["request_id"] in sections[-1]


def test_responder_reads_own_sheet_of_a_committed_run_in_full_audited(
    client, session, world, planned
):
    """Preview: 404 to responders, masked to the dispatcher. Committed: the responder sees
    their residents' full phone and address, each reveal audited; another's sheet is 404."""
    run_id = planned["run"]["id"]
    (mine, key), (other, _) = planned["keys"].items()
    url = f"/v1/dispatch-runs/{run_id}/route-sheets/{mine}"
    _get(client, key, url, 404)  # a preview is not their work yet
    masked = _get(client, world.a.dispatcher, url).text
    assert PHONE not in masked and "13900000002" not in masked
    commit(client, world.a.dispatcher, run_id)
    before = session.scalar(select(AuditEntry.id).where(AuditEntry.action == "reveal"))
    assert before is None
    html = _get(client, key, url).text
    _printable(html)
    own = [a for a in planned["plan"]["assignments"] if mine in a["responder_ids"]]
    residents = {planned["requests"][a["request_id"]]["resident_id"] for a in own}
    zhang, formula = planned["residents"]
    assert (PHONE in html) == (zhang["id"] in residents)
    assert ("13900000002" in html) == (formula["id"] in residents)
    assert (ADDRESS in html) == (zhang["id"] in residents)
    session.expire_all()
    reveals = session.scalars(select(AuditEntry).where(AuditEntry.action == "reveal")).all()
    assert sorted(r.entity_id for r in reveals) == sorted(residents)  # one per resident
    assert all(r.actor_role == "responder" and run_id in r.after["why"] for r in reveals)
    assert all(r.after["fields"] == ["phone", "address"] for r in reveals)
    _get(client, key, f"/v1/dispatch-runs/{run_id}/route-sheets/{other}", 404)
    _get(client, key, f"/v1/dispatch-runs/{run_id}/route-sheets", 403)
    _get(client, key, f"/v1/dispatch-runs/{run_id}/plan.csv", 403)
    still_masked = _get(client, world.a.dispatcher, url).text
    assert PHONE not in still_masked and "13900000002" not in still_masked


def test_other_community_and_unknown_responder_are_not_found(client, world, planned):
    """Another community's dispatcher gets 404 on every export; a responder not in the plan
    is 404 to the dispatcher too."""
    run_id = planned["run"]["id"]
    responder = next(iter(planned["keys"]))
    for tail in ("plan.csv", "plan.geojson", "route-sheets", f"route-sheets/{responder}"):
        response = _get(client, world.b.dispatcher, f"/v1/dispatch-runs/{run_id}/{tail}", 404)
        assert response.headers["content-type"] == "application/problem+json"
    _get(client, world.a.dispatcher, f"/v1/dispatch-runs/{run_id}/route-sheets/nobody", 404)


def test_exports_are_409_until_the_run_has_a_plan(client, world, monkeypatch):
    """A queued run has no plan: every export answers 409 as a problem document."""
    setup_category(client, world)
    monkeypatch.setattr(jobs, "_local_submit", lambda run_id, delay=0.0: None)
    run = start_run(client, world.a.dispatcher, world.a)
    for tail in ("plan.csv", "plan.geojson", "route-sheets", "route-sheets/anyone"):
        response = _get(client, world.a.dispatcher, f"/v1/dispatch-runs/{run['id']}/{tail}", 409)
        assert response.headers["content-type"] == "application/problem+json"


def test_no_export_holds_notes_or_descriptions(client, world, planned):
    """Residents' notes and requests' descriptions appear in no export, not even in full."""
    run_id = planned["run"]["id"]
    commit(client, world.a.dispatcher, run_id)
    texts = [
        _get(client, world.a.dispatcher, f"/v1/dispatch-runs/{run_id}/{tail}").content.decode()
        for tail in ("plan.csv", "plan.geojson", "route-sheets")
    ]
    texts += [
        _get(client, key, f"/v1/dispatch-runs/{run_id}/route-sheets/{j}").text
        for j, key in planned["keys"].items()
    ]
    for text in texts:
        assert "NOTE-SECRET" not in text and "胰岛素" not in text and DESCRIPTION not in text


def _iso(at: datetime) -> str:
    return at.isoformat()


@pytest.fixture
def routes_run(client, session, world):
    """A committed routes run written directly in the shape routes runs store: 甲 picks up,
    delivers one order and drops another at a sealed zone's gate; 乙 takes it from the gate
    to the door. Each holds a live offer for the delivery they make."""
    setup_category(client, world)
    v1, k1 = volunteer(client, session, world, world.a, name="甲志愿")
    v2, k2 = volunteer(
        client,
        session,
        world,
        world.a,
        name="乙志愿",
        location={"type": "Point", "coordinates": [121.05, 30.72]},
    )
    zhang = _resident(client, world.a)
    li = _resident(client, world.a, name="李大爷", phone="13900000002", address="新埭镇2幢")
    direct = submit(client, world.a, resident_id=zhang["id"], description=DESCRIPTION)
    gated = submit(client, world.a, resident_id=li["id"], description=DESCRIPTION)
    late = submit(client, world.a, resident_id=li["id"])
    for request, responder in ((direct, v1), (gated, v2)):
        response = client.post(
            "/v1/assignments",
            json={
                "request_id": request["id"],
                "responder_id": responder["id"],
                "role": "volunteer",
            },
            headers=headers(world.admin),
        )
        assert response.status_code == 201, response.text
    pharmacy = client.post(
        "/v1/pickup-points",
        json={
            "community_id": world.a.community_id,
            "name": "当湖大药房",
            "location": {"type": "Point", "coordinates": [121.031, 30.711]},
            "opens_at": "00:00",
            "closes_at": "24:00",
            "stock": {"errand": 10},
        },
        headers=headers(world.a.dispatcher),
    )
    assert pharmacy.status_code == 201, pharmacy.text
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=1)

    def at(minutes: int) -> str:
        return _iso(t0 + timedelta(minutes=minutes))

    def stop(kind, place, lon, lat, arrive, leave, ids, items, load):
        return {
            "kind": kind,
            "place_id": place,
            "lon": lon,
            "lat": lat,
            "arrival": at(arrive),
            "start": at(arrive),
            "departure": at(leave),
            "request_ids": ids,
            "items": items,
            "load_after": load,
        }

    routes = [
        {
            "responder_id": v1["id"],
            "start": at(0),
            "end": at(70),
            "distance_m": 6400,
            "duration_min": 70,
            "stops": [
                stop(
                    "pickup",
                    pharmacy.json()["id"],
                    121.031,
                    30.711,
                    10,
                    15,
                    [direct["id"], gated["id"]],
                    {"errand": 2, "降压药": 1},
                    3,
                ),
                stop(
                    "deliver", "bldg-1", 121.032, 30.712, 25, 30, [direct["id"]], {"errand": 2}, 1
                ),
                stop(
                    "gate_drop",
                    "gate-zone-1",
                    121.04,
                    30.715,
                    45,
                    50,
                    [gated["id"]],
                    {"降压药": 1},
                    0,
                ),
            ],
        },
        {
            "responder_id": v2["id"],
            "start": at(40),
            "end": at(80),
            "distance_m": 1200,
            "duration_min": 40,
            "stops": [
                stop(
                    "gate_pickup",
                    "gate-zone-1",
                    121.04,
                    30.715,
                    55,
                    58,
                    [gated["id"]],
                    {"降压药": 1},
                    1,
                ),
                stop("deliver", "bldg-2", 121.041, 30.716, 65, 70, [gated["id"]], {"降压药": 1}, 0),
            ],
        },
    ]
    run = DispatchRun(
        scope_type="community",
        scope_id=world.a.community_id,
        community_ids=[world.a.community_id],
        request_ids=None,
        mode="preview",
        time_limit_s=5,
        seed=0,
        state="committed",
        phase="done",
        progress={},
        attempts=1,
        cancel_requested=False,
        plan={
            "kind": "routes",
            "status": "feasible",
            "method": "routes",
            "objective": 7600.0,
            "bound": 0.0,
            "gap": 1.0,
            "time_s": 1.0,
            "origin": _iso(t0),
            "assignments": [
                {
                    "request_id": direct["id"],
                    "responder_ids": [v1["id"]],
                    "roles": ["volunteer"],
                    "start": 25,
                    "travel_minutes": [10],
                    "distance_m": [900],
                    "fund_id": None,
                    "fixed": False,
                },
                {
                    "request_id": gated["id"],
                    "responder_ids": [v1["id"], v2["id"]],
                    "roles": ["volunteer", "volunteer"],
                    "start": 65,
                    "travel_minutes": [15, 5],
                    "distance_m": [1500, 300],
                    "fund_id": None,
                    "fixed": False,
                },
            ],
            "unassigned": [
                {
                    "request_id": late["id"],
                    "reason": "deadline",
                    "message": "too far to make it",
                    "remedy": "widen the window",
                },
            ],
            "routes": routes,
            "commit": {"offered": 2, "changes": [], "at": at(0)},
        },
    )
    runs_repo.add_run(session, run)
    session.commit()
    return {
        "run_id": run.id,
        "v1": (v1["id"], k1),
        "v2": (v2["id"], k2),
        "residents": {"zhang": zhang["id"], "li": li["id"]},
        "requests": {"direct": direct, "gated": gated, "late": late},
        "routes": routes,
        "at": at,
    }


def test_route_sheet_lists_the_stops_in_order_with_items_and_times(
    client, session, world, routes_run
):
    """甲's own sheet: pickup with its items, the delivery with the resident in full, the gate
    drop with no resident's contact; arrival times in order; one audited reveal."""
    run_id = routes_run["run_id"]
    v1, k1 = routes_run["v1"]
    html = _get(client, k1, f"/v1/dispatch-runs/{run_id}/route-sheets/{v1}").text
    _printable(html)
    (section,) = _sections(html)
    kinds = re.findall(
        r"(取货 Pickup|送达 Deliver|交接点放下 Gate drop|交接点取货 Gate pickup)", section
    )
    assert kinds == ["取货 Pickup", "送达 Deliver", "交接点放下 Gate drop"]
    at = routes_run["at"]
    arrivals = [_local(at(m)) for m in (10, 25, 45)]
    positions = [section.index(f"<td>{t}</td>") for t in arrivals]
    assert positions == sorted(positions)
    assert "当湖大药房" in section  # the pickup point by name
    assert "代购药品 × 2" in section and "降压药 × 1" in section  # a category code by name
    assert PHONE in section and ADDRESS in section  # 甲 delivers to 张
    assert "13900000002" not in section and "139****0002" not in section  # only drops 李's
    assert f"…{routes_run['requests']['gated']['id'][-8:]}" in section  # the dropped order
    session.expire_all()
    reveals = session.scalars(select(AuditEntry).where(AuditEntry.action == "reveal")).all()
    assert [r.entity_id for r in reveals] == [routes_run["residents"]["zhang"]]
    masked = _get(client, world.a.dispatcher, f"/v1/dispatch-runs/{run_id}/route-sheets/{v1}").text
    assert PHONE not in masked and "138****0001" in masked


def test_gate_leg_responder_sees_the_handoff_and_the_door(client, world, routes_run):
    """乙's sheet starts at the gate and ends at 李's door, with 李's phone in full; 甲's key
    cannot read it; the dispatcher's all-sheets document has both routes and the late one."""
    run_id = routes_run["run_id"]
    (_, k1), (v2, k2) = routes_run["v1"], routes_run["v2"]
    html = _get(client, k2, f"/v1/dispatch-runs/{run_id}/route-sheets/{v2}").text
    kinds = re.findall(
        r"(取货 Pickup|送达 Deliver|交接点放下 Gate drop|交接点取货 Gate pickup)", html
    )
    assert kinds == ["交接点取货 Gate pickup", "送达 Deliver"]
    assert "13900000002" in html and PHONE not in html
    _get(client, k1, f"/v1/dispatch-runs/{run_id}/route-sheets/{v2}", 404)
    everything = _get(client, world.a.dispatcher, f"/v1/dispatch-runs/{run_id}/route-sheets").text
    sections = _sections(everything)
    assert len(sections) == 3 and "甲志愿" in sections[0] and "乙志愿" in sections[1]
    assert "widen the window" in sections[2]
    assert "13900000002" not in everything and PHONE not in everything


def test_routes_geojson_has_a_line_per_route_from_base_through_stops(client, world, routes_run):
    """Each route is a LineString from the responder's base through its stops, [lon, lat]."""
    run_id = routes_run["run_id"]
    doc = _get(client, world.a.dispatcher, f"/v1/dispatch-runs/{run_id}/plan.geojson").json()
    lines = [f for f in doc["features"] if f["geometry"]["type"] == "LineString"]
    points = [f for f in doc["features"] if f["geometry"]["type"] == "Point"]
    assert len(points) == 3 and len(lines) == 2
    (v1, _), (v2, _) = routes_run["v1"], routes_run["v2"]
    by_responder = {f["properties"]["responder_id"]: f for f in lines}
    assert by_responder[v1]["geometry"]["coordinates"] == [
        BASE["coordinates"],
        [121.031, 30.711],
        [121.032, 30.712],
        [121.04, 30.715],
    ]
    assert by_responder[v2]["geometry"]["coordinates"] == [
        [121.05, 30.72],
        [121.04, 30.715],
        [121.041, 30.716],
    ]
    assert by_responder[v1]["properties"]["distance_m"] == 6400
    rows = _csv_rows(client, world.a.dispatcher, run_id)
    assert [r["row"] for r in rows] == ["assigned", "assigned", "unassigned"]
    assert rows[1]["responder_ids"] == f"{v1};{v2}"


def test_a_real_routes_run_names_its_places_and_shows_the_phone_only_at_the_door(
    client, session, world
):
    """A routes run the service planned (a sealed zone's delivery in two legs), committed:
    the carrier to the gate sees the pharmacy and the zone by name and no phone; the cleared
    carrier sees the gate and the resident's phone at the door; the map has both routes."""
    a = world.a
    home = (121.030, 30.705)
    half = 0.002
    corners = ((-half, -half), (half, -half), (half, half), (-half, half), (-half, -half))
    zone = client.post(
        "/v1/zones",
        json={
            "community_id": a.community_id,
            "name": "5幢封控区",
            "status": "sealed",
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[home[0] + dx, home[1] + dy] for dx, dy in corners]],
            },
            "gate": _point(home[0] - half, home[1]),
        },
        headers=headers(a.dispatcher),
    )
    assert zone.status_code == 201, zone.text
    pharmacy = {
        "community_id": a.community_id,
        "name": "东湖大药房",
        "location": _point(121.021, 30.702),
        "opens_at": "08:00",
        "closes_at": "20:00",
        "stock": {"medicine_delivery": 5},
    }
    assert client.post("/v1/pickup-points", json=pharmacy, headers=headers(a.dispatcher)).is_success
    carry = {"load_capacity": 4, "speed_kmh": 15.0}
    outside = make_responder(client, world, [a.community_id], **carry)
    inside = make_responder(
        client, world, [a.community_id], zone_clearances=[zone.json()["zone"]["id"]], **carry
    )
    keys = {
        c["id"]: add_key(session, Role.responder, responder_id=c["id"]) for c in (outside, inside)
    }
    session.commit()
    who = client.post(
        "/v1/residents",
        json={
            "community_id": a.community_id,
            "name": "王阿婆",
            "phone": PHONE,
            "address": "5幢301",
            "location": _point(*home),
        },
        headers=headers(a.dispatcher),
    ).json()
    tomorrow = datetime.now(LOCAL).date() + timedelta(days=1)
    order = {
        "community_id": a.community_id,
        "resident_id": who["id"],
        "category_code": "medicine_delivery",
        "quantity": 2,
        "window_start": datetime.combine(tomorrow, time(9), tzinfo=LOCAL).isoformat(),
        "window_end": datetime.combine(tomorrow, time(12), tzinfo=LOCAL).isoformat(),
    }
    assert client.post("/v1/requests", json=order, headers=headers(a.dispatcher)).is_success
    run = start_run(client, a.dispatcher, a, kind="routes")
    assert finish(client, a.dispatcher, run["id"])["state"] == "succeeded"
    body = plan(client, a.dispatcher, run["id"])
    commit(client, a.dispatcher, run["id"])
    url = f"/v1/dispatch-runs/{body['run_id']}/route-sheets"
    to_gate = _get(client, keys[outside["id"]], f"{url}/{outside['id']}").text
    assert "东湖大药房" in to_gate and "5幢封控区" in to_gate
    assert "配药送药 × 2" in to_gate
    assert PHONE not in to_gate and "138****0001" not in to_gate
    at_door = _get(client, keys[inside["id"]], f"{url}/{inside['id']}").text
    kinds = re.findall(
        r"(取货 Pickup|送达 Deliver|交接点放下 Gate drop|交接点取货 Gate pickup)", at_door
    )
    assert kinds == ["交接点取货 Gate pickup", "送达 Deliver"]
    assert "5幢封控区" in at_door and PHONE in at_door and "5幢301" in at_door
    doc = _get(client, a.dispatcher, f"/v1/dispatch-runs/{body['run_id']}/plan.geojson").json()
    lines = [f for f in doc["features"] if f["geometry"]["type"] == "LineString"]
    assert {f["properties"]["responder_id"] for f in lines} == {outside["id"], inside["id"]}


def _point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}
