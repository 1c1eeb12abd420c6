"""Zones: drawn as polygons, they tag requests and residents inside; the solver honours them."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from service.zones import service as zones
from service.zones.models import Zone
from tests.service.conftest import headers
from tests.service.dispatch.helpers import auto_dispatch, setup_category, submit, volunteer

LON, LAT = 121.03, 30.71
INSIDE = {"type": "Point", "coordinates": [LON, LAT]}
OUTSIDE = {"type": "Point", "coordinates": [LON + 0.01, LAT]}


def square(half: float = 0.001, lon: float = LON, lat: float = LAT) -> dict:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def draw(client, side, status="sealed", geometry=None, **fields):
    body = {
        "community_id": side.community_id,
        "name": "1幢",
        "status": status,
        "geometry": geometry or square(),
        **fields,
    }
    return client.post("/v1/zones", json=body, headers=headers(side.dispatcher))


@pytest.fixture
def auto(client, session, world):
    auto_dispatch(session, world.a)
    setup_category(client, world)
    return world


def _zone_of(client, world, request_id: str) -> str | None:
    got = client.get(f"/v1/requests/{request_id}", headers=headers(world.a.dispatcher))
    return got.json()["zone_id"]


def test_drawing_a_zone_tags_open_requests_inside(client, session, world):
    setup_category(client, world)
    inside = submit(client, world.a, location=INSIDE)
    outside = submit(client, world.a, location=OUTSIDE)
    drawn = draw(client, world.a)
    assert drawn.status_code == 201, drawn.text
    body = drawn.json()
    assert body["retagged"] == {"requests": 1, "residents": 0}
    assert body["zone"]["in_force"] is True and body["zone"]["status"] == "sealed"
    zone_id = body["zone"]["id"]
    assert _zone_of(client, world, inside["id"]) == zone_id
    assert _zone_of(client, world, outside["id"]) is None
    # new requests and residents are tagged as they are stored
    assert submit(client, world.a, location=INSIDE)["zone_id"] == zone_id
    resident = client.post(
        "/v1/residents",
        json={"community_id": world.a.community_id, "name": "王", "location": INSIDE},
        headers=headers(world.a.dispatcher),
    )
    assert resident.status_code == 201, resident.text
    assert resident.json()["zone_id"] == zone_id


def test_a_request_on_the_cordon_line_is_tagged_inside(client, session, world):
    """A new request exactly on a zone's border, at a corner and on each side, lies in it
    (its bounding box holds the point, border included)."""
    setup_category(client, world)
    zone_id = draw(client, world.a).json()["zone"]["id"]
    h = 0.001
    for lon, lat in ((LON - h, LAT - h), (LON + h, LAT + h), (LON + h, LAT), (LON, LAT - h)):
        point = {"type": "Point", "coordinates": [lon, lat]}
        assert submit(client, world.a, location=point)["zone_id"] == zone_id, (lon, lat)
    beyond = {"type": "Point", "coordinates": [LON + h + 1e-6, LAT]}
    assert submit(client, world.a, location=beyond)["zone_id"] is None


def test_the_strictest_overlapping_zone_wins(client, session, world):
    setup_category(client, world)
    wide = draw(client, world.a, status="precaution", geometry=square(0.01)).json()["zone"]
    sealed = draw(client, world.a, status="sealed").json()["zone"]
    assert submit(client, world.a, location=INSIDE)["zone_id"] == sealed["id"]
    near_edge = {"type": "Point", "coordinates": [LON + 0.005, LAT]}
    assert submit(client, world.a, location=near_edge)["zone_id"] == wide["id"]


def test_changing_and_lifting_a_zone_retags(client, session, world):
    setup_category(client, world)
    request = submit(client, world.a, location=OUTSIDE)
    zone = draw(client, world.a).json()["zone"]
    assert _zone_of(client, world, request["id"]) is None
    grown = client.patch(
        f"/v1/zones/{zone['id']}",
        json={"geometry": square(0.02), "status": "controlled"},
        headers=headers(world.a.dispatcher),
    )
    assert grown.status_code == 200, grown.text
    assert grown.json()["retagged"]["requests"] == 1
    assert _zone_of(client, world, request["id"]) == zone["id"]
    lifted = client.delete(f"/v1/zones/{zone['id']}", headers=headers(world.a.dispatcher))
    assert lifted.status_code == 200 and lifted.json()["requests"] == 1
    assert _zone_of(client, world, request["id"]) is None
    kinds = [
        e["kind"]
        for e in client.get("/v1/events", headers=headers(world.a.dispatcher)).json()["items"]
    ]
    assert {"zone.created", "zone.updated", "zone.deleted"} <= set(kinds)


def test_a_zone_follows_its_period(client, session, world):
    """Not in force yet: nothing tagged; the background round tags it once it starts and
    untags once it ends."""
    setup_category(client, world)
    request = submit(client, world.a, location=INSIDE)
    start = datetime.now(UTC) + timedelta(hours=1)
    drawn = draw(
        client,
        world.a,
        valid_from=start.isoformat(),
        valid_until=(start + timedelta(hours=2)).isoformat(),
    ).json()
    assert drawn["zone"]["in_force"] is False and drawn["retagged"]["requests"] == 0
    assert zones.follow_the_clock(session, start + timedelta(minutes=1)) == 1
    session.commit()
    assert _zone_of(client, world, request["id"]) == drawn["zone"]["id"]
    assert zones.follow_the_clock(session, start + timedelta(minutes=2)) == 0
    assert zones.follow_the_clock(session, start + timedelta(hours=3)) == 1
    session.commit()
    assert _zone_of(client, world, request["id"]) is None


def test_sealed_needs_a_cleared_responder_precaution_does_not(client, session, auto):
    uncleared, _ = volunteer(client, session, auto, auto.a)
    sealed = draw(client, auto.a).json()["zone"]
    queued = submit(client, auto.a, location=INSIDE)
    assert queued["dispatch"]["outcome"] == "queued"
    assert queued["dispatch"]["reason"] == "zone_not_cleared"
    cleared, _ = volunteer(client, session, auto, auto.a, zone_clearances=[sealed["id"]])
    offered = submit(client, auto.a, location=INSIDE)
    assert offered["dispatch"]["offers"][0]["responder_id"] == cleared["id"]
    # a precaution zone asks for no clearance
    client.patch(
        f"/v1/zones/{sealed['id']}",
        json={"status": "precaution"},
        headers=headers(auto.a.dispatcher),
    )
    again = submit(client, auto.a, location=INSIDE)
    assert again["dispatch"]["outcome"] == "offered"
    assert {o["responder_id"] for o in again["dispatch"]["offers"]} <= {
        uncleared["id"],
        cleared["id"],
    }


BOWTIE = {
    "type": "Polygon",
    "coordinates": [
        [[LON, LAT], [LON + 0.01, LAT + 0.01], [LON + 0.01, LAT], [LON, LAT + 0.01], [LON, LAT]]
    ],
}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"geometry": BOWTIE}, "geometry"),
        ({"geometry": {"type": "Polygon", "coordinates": [[[LON, LAT], [LON, LAT]]]}}, "geometry"),
        ({"geometry": {"type": "Polygon", "coordinates": [["x"]]}}, "geometry"),
        ({"status": "locked"}, "status"),
        (
            {"valid_from": "2026-12-01T00:00:00+08:00", "valid_until": "2026-11-01T00:00:00+08:00"},
            "valid_until",
        ),
        ({"community_id": "nope"}, "community_id"),
    ],
)
def test_bad_zones_are_refused_and_nothing_is_written(client, session, world, fields, field):
    body = {
        "community_id": world.a.community_id,
        "name": "1幢",
        "status": "sealed",
        "geometry": square(),
        **fields,
    }
    response = client.post("/v1/zones", json=body, headers=headers(world.a.dispatcher))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(e["field"].startswith(field) for e in response.json()["errors"]), response.json()
    assert session.scalar(select(func.count()).select_from(Zone)) == 0


def test_a_request_may_name_only_a_zone_of_its_community(client, session, world):
    setup_category(client, world)
    other = draw(client, world.b).json()["zone"]
    refused = client.post(
        "/v1/requests",
        json={
            "community_id": world.a.community_id,
            "category_code": "errand",
            "location": INSIDE,
            "window_start": "2026-12-02T09:00:00+08:00",
            "window_end": "2026-12-02T11:00:00+08:00",
            "zone_id": other["id"],
        },
        headers=headers(world.a.dispatcher),
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "zone_id"
