"""Filing service requests: defaults from the category and resident, scope, and refused input."""

import pytest

from tests.service.conftest import headers, table_counts
from tests.service.requests.factory import (
    HOME,
    POINT,
    TEAM,
    WINDOW,
    make_category,
    make_request,
    make_resident,
    request_body,
)


@pytest.fixture
def category(client, world):
    return make_category(client, world)


def test_dispatcher_files_a_request(client, world, category):
    """A dispatcher's request is stored as submitted from the console, and reads back the same."""
    body = request_body(
        world.a, urgency="urgent", quantity=3, cost_fen=1250, description="降压药两盒"
    )
    created = make_request(client, world.a.dispatcher, body)
    assert created["state"] == "submitted" and created["source"] == "console"
    assert created["location"] == POINT and created["quantity"] == 3 and created["cost_fen"] == 1250
    assert created["community_id"] == world.a.community_id and created["created_by_key_id"]
    assert created["window_start"].startswith("2026-03-02T01:00:00")
    fetched = client.get(f"/v1/requests/{created['id']}", headers=headers(world.a.dispatcher))
    assert fetched.status_code == 200 and fetched.json() == created


def test_defaults_come_from_the_category(client, world, category):
    """Duration, qualifications, licence and team default to the category's."""
    created = make_request(client, world.a.dispatcher, request_body(world.a))
    assert created["duration_min"] == 45
    assert created["required_qualifications"] == ["pharmacy"]
    assert created["min_licence"] == "assistant"
    assert created["team"] == TEAM
    assert created["urgency"] == "normal" and created["quantity"] == 0 and created["cost_fen"] == 0


def test_explicit_values_override_the_category(client, world, category):
    """Given values win over the category's defaults, including an empty list."""
    body = request_body(
        world.a,
        duration_min=90,
        required_qualifications=[],
        min_licence="senior",
        team=[{"role": "volunteer", "count": 3}],
        max_distance_m=1500,
    )
    created = make_request(client, world.a.dispatcher, body)
    assert created["duration_min"] == 90 and created["required_qualifications"] == []
    assert created["min_licence"] == "senior" and created["team"] == [
        {"role": "volunteer", "count": 3}
    ]
    assert created["max_distance_m"] == 1500


def test_location_defaults_to_the_residents_home(client, world, category):
    """Without a location, a request for a resident is placed at the resident's home."""
    resident = make_resident(client, world.a)
    body = request_body(world.a, resident_id=resident["id"])
    del body["location"]
    created = make_request(client, world.a.dispatcher, body)
    assert created["location"] == HOME and created["resident_id"] == resident["id"]


def test_location_is_required_without_a_resident(client, world, session, category):
    """No location and no resident: 422 naming location, nothing written."""
    before = table_counts(session)
    body = request_body(world.a)
    del body["location"]
    response = client.post("/v1/requests", json=body, headers=headers(world.a.dispatcher))
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["location"]
    assert table_counts(session) == before


def test_resident_of_another_community_is_refused(client, world, session, category):
    """A resident from community B on a request in community A is 422 on resident_id."""
    resident = make_resident(client, world.b)
    before = table_counts(session)
    response = client.post(
        "/v1/requests",
        json=request_body(world.a, resident_id=resident["id"]),
        headers=headers(world.admin),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "resident_id"
    assert table_counts(session) == before


def test_grid_app_files_in_its_grid(client, world, category):
    """A grid app's request takes the grid's community and always the grid_app source."""
    body = request_body(world.a, grid_id=world.a.grid_id, source="import")
    del body["community_id"]
    created = make_request(client, world.a.grid_app, body)
    assert created["community_id"] == world.a.community_id and created["grid_id"] == world.a.grid_id
    assert created["source"] == "grid_app"


@pytest.mark.parametrize("grid", [None, "other", "missing"])
def test_grid_app_must_name_one_of_its_grids(client, world, session, category, grid):
    """A grid app without a grid, or naming another or no real grid, gets 422 on grid_id."""
    grid_id = {"other": world.b.grid_id, "missing": "no-such-grid", None: None}[grid]
    body = request_body(world.a, grid_id=grid_id)
    before = table_counts(session)
    response = client.post("/v1/requests", json=body, headers=headers(world.a.grid_app))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "grid_id"
    assert table_counts(session) == before


def test_grid_must_belong_to_the_community(client, world, session, category):
    """Community A with community B's grid is refused on grid_id."""
    before = table_counts(session)
    body = request_body(world.a, grid_id=world.b.grid_id)
    response = client.post("/v1/requests", json=body, headers=headers(world.admin))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "grid_id"
    assert table_counts(session) == before


def test_responder_may_not_file_requests(client, world, session, category):
    """A responder key gets 403 on POST /v1/requests."""
    from service.auth.principal import Role
    from tests.service.conftest import add_key
    from tests.service.requests.factory import make_responder

    responder = make_responder(client, world, [world.a.community_id])
    key = add_key(session, Role.responder, responder_id=responder["id"])
    session.commit()
    response = client.post("/v1/requests", json=request_body(world.a), headers=headers(key))
    assert response.status_code == 403


BAD_INPUT = {
    "longitude out of range": (
        {"location": {"type": "Point", "coordinates": [181, 30]}},
        "location.coordinates.0",
    ),
    "latitude out of range": (
        {"location": {"type": "Point", "coordinates": [121, -91]}},
        "location.coordinates.1",
    ),
    "window end before start": ({"window_end": "2026-03-02T08:00:00+08:00"}, "window_end"),
    "window end equals start": ({"window_end": WINDOW["window_start"]}, "window_end"),
    "naive datetime": ({"window_start": "2026-03-02T09:00:00"}, "window_start"),
    "negative quantity": ({"quantity": -1}, "quantity"),
    "negative cost": ({"cost_fen": -100}, "cost_fen"),
    "unknown category": ({"category_code": "no_such"}, "category_code"),
    "unknown community": ({"community_id": "no-such-community"}, "community_id"),
    "unknown resident": ({"resident_id": "no-such-resident"}, "resident_id"),
    "unknown field": ({"colour": "red"}, "colour"),
    "state is not input": ({"state": "accepted"}, "state"),
    "null category": ({"category_code": None}, "category_code"),
    "null window start": ({"window_start": None}, "window_start"),
    "bad urgency": ({"urgency": "whenever"}, "urgency"),
    "zero max distance": ({"max_distance_m": 0}, "max_distance_m"),
    "bad team role": ({"team": [{"role": "doctor", "count": 1}]}, "team.0.role"),
}


@pytest.mark.parametrize("change, field", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_is_refused_and_writes_nothing(client, world, session, category, change, field):
    """Each kind of bad input is a 422 problem naming its field, and no row is written."""
    before = table_counts(session)
    response = client.post(
        "/v1/requests", json=request_body(world.a, **change), headers=headers(world.a.dispatcher)
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]
    assert table_counts(session) == before


def test_other_community_in_body_is_unknown(client, world, session, category):
    """Dispatcher A filing into community B gets 422 on community_id, as if B did not exist."""
    before = table_counts(session)
    response = client.post(
        "/v1/requests", json=request_body(world.b), headers=headers(world.a.dispatcher)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "community_id"
    assert table_counts(session) == before


def test_duplicate_external_id_is_409(client, world, session, category):
    """A second request with the same source and external id is 409 naming external_id.

    The unique index refuses it (no read beforehand), so this is also what a race between two
    such requests ends in."""
    make_request(
        client, world.a.dispatcher, request_body(world.a, source="import", external_id="EXT-1")
    )
    before = table_counts(session)
    again = request_body(world.a, source="import", external_id="EXT-1", urgency="urgent")
    response = client.post("/v1/requests", json=again, headers=headers(world.a.dispatcher))
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "external_id"
    assert table_counts(session) == before


def test_external_id_is_unique_per_source_only(client, world, category):
    """The same external id from another source is a different request."""
    make_request(
        client, world.a.dispatcher, request_body(world.a, source="import", external_id="EXT-2")
    )
    other = make_request(
        client, world.a.dispatcher, request_body(world.a, source="console", external_id="EXT-2")
    )
    assert other["source"] == "console" and other["external_id"] == "EXT-2"


def test_database_refuses_duplicate_external_ids(world, session, category):
    """The (source, external_id) unique constraint holds even when the service is bypassed."""
    from datetime import UTC, datetime

    from sqlalchemy.exc import IntegrityError

    from service.requests.models import ServiceRequest

    def row() -> ServiceRequest:
        start = datetime(2026, 3, 2, 1, tzinfo=UTC)
        return ServiceRequest(
            community_id=world.a.community_id,
            category_code="medicine",
            lon=121.0,
            lat=30.7,
            window_start=start,
            window_end=start.replace(hour=3),
            duration_min=30,
            source="import",
            external_id="EXT-DB",
        )

    session.add(row())
    session.commit()
    session.add(row())
    with pytest.raises(IntegrityError):
        session.commit()
