"""Reading service requests: scope per role, list filters and cursor paging."""

from datetime import datetime, timedelta

import pytest

from service.auth.principal import Role
from tests.service.conftest import add_key, headers
from tests.service.requests.factory import (
    make_category,
    make_request,
    make_responder,
    request_body,
)


@pytest.fixture
def category(client, world):
    return make_category(client, world)


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def test_other_community_is_not_found(client, world, category):
    """Dispatcher B asking for community A's request gets 404 problem+json."""
    created = make_request(client, world.a.dispatcher, request_body(world.a))
    response = client.get(f"/v1/requests/{created['id']}", headers=headers(world.b.dispatcher))
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_lists_are_scoped_to_the_dispatchers_communities(client, world, category):
    """Each dispatcher lists only its own community's requests; the admin lists both."""
    a = make_request(client, world.a.dispatcher, request_body(world.a))
    b = make_request(client, world.b.dispatcher, request_body(world.b))
    assert _ids(client.get("/v1/requests", headers=headers(world.a.dispatcher))) == [a["id"]]
    assert _ids(client.get("/v1/requests", headers=headers(world.b.dispatcher))) == [b["id"]]
    assert _ids(client.get("/v1/requests", headers=headers(world.admin))) == [a["id"], b["id"]]


def test_grid_app_sees_only_its_grids_requests(client, world, category):
    """A grid app reads its grid's requests; one outside any of its grids is 404 and unlisted."""
    mine = make_request(client, world.a.dispatcher, request_body(world.a, grid_id=world.a.grid_id))
    gridless = make_request(client, world.a.dispatcher, request_body(world.a))
    app = headers(world.a.grid_app)
    assert _ids(client.get("/v1/requests", headers=app)) == [mine["id"]]
    assert client.get(f"/v1/requests/{mine['id']}", headers=app).status_code == 200
    assert client.get(f"/v1/requests/{gridless['id']}", headers=app).status_code == 404


def test_responder_sees_only_requests_it_is_assigned(client, world, session, category):
    """A responder reads and lists just the requests it holds an assignment for."""
    responder = make_responder(client, world, [world.a.community_id])
    key = headers(add_key(session, Role.responder, responder_id=responder["id"]))
    session.commit()
    assigned = make_request(client, world.a.dispatcher, request_body(world.a))
    other = make_request(client, world.a.dispatcher, request_body(world.a))
    assert _ids(client.get("/v1/requests", headers=key)) == []
    offer = {"request_id": assigned["id"], "responder_id": responder["id"], "role": "volunteer"}
    assert (
        client.post("/v1/assignments", json=offer, headers=headers(world.a.dispatcher)).status_code
        == 201
    )
    assert _ids(client.get("/v1/requests", headers=key)) == [assigned["id"]]
    assert client.get(f"/v1/requests/{assigned['id']}", headers=key).status_code == 200
    assert client.get(f"/v1/requests/{other['id']}", headers=key).status_code == 404


def test_list_filters(client, world, category):
    """Every filter narrows the list to the matching requests."""
    make_category(client, world, code="meal", default_team=[])
    key = world.a.dispatcher
    plain = make_request(client, key, request_body(world.a))
    urgent = make_request(
        client, key, request_body(world.a, urgency="urgent", grid_id=world.a.grid_id)
    )
    meal = make_request(
        client, key, request_body(world.a, category="meal", source="import", external_id="X-9")
    )
    cases = {
        "urgency=urgent": [urgent["id"]],
        "urgency=normal": [plain["id"], meal["id"]],
        f"grid_id={world.a.grid_id}": [urgent["id"]],
        "category_code=meal": [meal["id"]],
        "source=import": [meal["id"]],
        "source=console": [plain["id"], urgent["id"]],
        "external_id=X-9": [meal["id"]],
        "state=submitted": [plain["id"], urgent["id"], meal["id"]],
        "state=accepted": [],
        f"community_id={world.a.community_id}": [plain["id"], urgent["id"], meal["id"]],
        f"community_id={world.b.community_id}": [],
    }
    for query, expected in cases.items():
        assert _ids(client.get(f"/v1/requests?{query}", headers=headers(key))) == expected, query


def test_created_time_filters(client, world, category):
    """created_after and created_before take RFC 3339 instants and bound the creation time."""
    created = make_request(client, world.a.dispatcher, request_body(world.a))
    at = datetime.fromisoformat(created["created_at"])
    before, after = (at - timedelta(minutes=1)).isoformat(), (at + timedelta(minutes=1)).isoformat()
    key = headers(world.a.dispatcher)
    assert _ids(client.get("/v1/requests", params={"created_after": before}, headers=key)) == [
        created["id"]
    ]
    assert _ids(client.get("/v1/requests", params={"created_after": after}, headers=key)) == []
    assert _ids(client.get("/v1/requests", params={"created_before": after}, headers=key)) == [
        created["id"]
    ]
    assert _ids(client.get("/v1/requests", params={"created_before": before}, headers=key)) == []


def test_naive_filter_time_is_refused(client, world):
    """A created_after without an offset is 422 naming the parameter."""
    response = client.get(
        "/v1/requests",
        params={"created_after": "2026-03-01T00:00:00"},
        headers=headers(world.admin),
    )
    assert response.status_code == 422
    assert "query.created_after" in [e["field"] for e in response.json()["errors"]]


def test_cursor_pages_through_everything_once(client, world, category):
    """limit=2 over five requests gives pages of 2, 2 and 1, each request exactly once."""
    made = [make_request(client, world.a.dispatcher, request_body(world.a))["id"] for _ in range(5)]
    seen, cursor, sizes = [], None, []
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get("/v1/requests", params=params, headers=headers(world.a.dispatcher)).json()
        sizes.append(len(page["items"]))
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sizes == [2, 2, 1]
    assert seen == made
