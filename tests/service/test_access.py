"""Walks the route table: every /v1 endpoint needs a key, refuses weaker roles, and hides
other communities' objects — so a new endpoint cannot slip past access control."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.routing import APIRoute

from service.auth.principal import Role
from service.main import create_app
from tests.service.conftest import add_key, headers

POINT = {"type": "Point", "coordinates": [121.021, 30.701]}


def _flatten(routes):
    """Every APIRoute, including those of included routers (FastAPI nests them)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _flatten(route.original_router.routes)


APP = create_app()
ROUTES = [r for r in _flatten(APP.routes) if r.path.startswith("/v1")]

# Shared objects every community legitimately sees: the district above both test communities
# and the global service menu.
UNSCOPED_PREFIXES = ("/v1/districts", "/v1/service-categories")

# Bodies for routes whose body must be valid before the object lookup can answer 404.
VALID_BODIES = {
    "create_fund_entry": {"kind": "deposit", "amount_fen": 100},
    "decline_assignment": {"reason": "busy"},
    "cancel_request": {"reason": "resident moved"},
    "unassign_request": {"reason": "reassigning"},
    "rate_request": {"rating": 5},
    "assign_request": {"responder_ids": ["someone"]},
    "update_zone": {"name": "2幢"},
    "update_pickup_point": {"name": "东湖大药房"},
    "switch_community_mode": {"mode": "emergency", "reason": "drill"},
    "switch_street_mode": {"mode": "emergency", "reason": "drill"},
}

_LON, _LAT = POINT["coordinates"]
SQUARE_AROUND_POINT = {
    "type": "Polygon",
    "coordinates": [
        [
            [_LON - 0.001, _LAT - 0.001],
            [_LON + 0.001, _LAT - 0.001],
            [_LON + 0.001, _LAT + 0.001],
            [_LON - 0.001, _LAT + 0.001],
            [_LON - 0.001, _LAT - 0.001],
        ]
    ],
}


def _allowed_roles(route: APIRoute) -> frozenset[Role] | None:
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        roles = getattr(dependant.call, "allowed_roles", None)
        if roles is not None:
            return roles
        stack.extend(dependant.dependencies)
    return None


def _method(route: APIRoute) -> str:
    return sorted(route.methods)[0]


def _populate(client, world, session) -> dict[str, str]:
    """One object of every kind in community A, made through the API as an admin."""
    admin = headers(world.admin)
    ids: dict[str, str] = {
        "community_id": world.a.community_id,
        "grid_id": world.a.grid_id,
        "street_id": world.a.street_id,
        "district_id": world.district_id,
        "code": "medicine_delivery",
    }
    resident = client.post(
        "/v1/residents",
        json={
            "community_id": world.a.community_id,
            "grid_id": world.a.grid_id,
            "name": "张桂英",
            "phone": "13800000000",
            "address": "1幢101",
            "location": POINT,
            "tags": ["elderly"],
        },
        headers=admin,
    )
    assert resident.status_code == 201, resident.text
    ids["resident_id"] = resident.json()["id"]
    responder = client.post(
        "/v1/responders",
        json={
            "kind": "volunteer",
            "name": "孙丽",
            "location": POINT,
            "radius_m": 3000,
            "travel_mode": "walk",
            "community_ids": [world.a.community_id],
        },
        headers=admin,
    )
    assert responder.status_code == 201, responder.text
    ids["responder_id"] = responder.json()["id"]
    start = datetime.now(UTC) + timedelta(hours=1)
    request = client.post(
        "/v1/requests",
        json={
            "community_id": world.a.community_id,
            "grid_id": world.a.grid_id,
            "resident_id": ids["resident_id"],
            "category_code": "medicine_delivery",
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=2)).isoformat(),
        },
        headers=admin,
    )
    assert request.status_code == 201, request.text
    ids["request_id"] = request.json()["id"]
    assignment = client.post(
        "/v1/assignments",
        json={
            "request_id": ids["request_id"],
            "responder_id": ids["responder_id"],
            "role": "volunteer",
        },
        headers=admin,
    )
    assert assignment.status_code == 201, assignment.text
    ids["assignment_id"] = assignment.json()["id"]
    fund = client.post(
        "/v1/funds", json={"name": "慈善基金", "community_id": world.a.community_id}, headers=admin
    )
    assert fund.status_code == 201, fund.text
    ids["fund_id"] = fund.json()["id"]
    key = client.post(
        "/v1/api-keys",
        json={"name": "a phone", "role": "grid_app", "grid_ids": [world.a.grid_id]},
        headers=headers(world.a.dispatcher),
    )
    ids["key_id"] = key.json()["id"]
    zone = client.post(
        "/v1/zones",
        json={
            "community_id": world.a.community_id,
            "name": "1幢封控区",
            "status": "sealed",
            "geometry": SQUARE_AROUND_POINT,
        },
        headers=admin,
    )
    assert zone.status_code == 201, zone.text
    ids["zone_id"] = zone.json()["zone"]["id"]
    pickup_point = client.post(
        "/v1/pickup-points",
        json={
            "community_id": world.a.community_id,
            "name": "东湖大药房",
            "location": POINT,
            "opens_at": "08:00",
            "closes_at": "20:00",
            "stock": {"medicine_delivery": 10},
        },
        headers=admin,
    )
    assert pickup_point.status_code == 201, pickup_point.text
    ids["pickup_point_id"] = pickup_point.json()["id"]
    run = client.post(
        "/v1/dispatch-runs",
        json={"scope": {"type": "community", "id": world.a.community_id}, "time_limit_s": 1},
        headers=headers(world.a.dispatcher),
    )
    assert run.status_code == 202, run.text
    ids["run_id"] = run.json()["id"]
    world.a.extra["responder"] = add_key(session, Role.responder, responder_id=ids["responder_id"])
    session.commit()
    return ids


def _path(route: APIRoute, ids: dict[str, str]) -> str:
    path = route.path
    for name in route.param_convertors:
        path = path.replace("{" + name + "}", ids[name])
    return path


@pytest.fixture
def populated(client, world, session):
    return _populate(client, world, session)


def test_walk_covers_every_operation_in_the_spec():
    """The routes walked here are exactly the /v1 operations the app publishes."""
    published = {
        (m.upper(), p)
        for p, ops in APP.openapi()["paths"].items()
        if p.startswith("/v1")
        for m in ops
    }
    walked = {(m, r.path) for r in ROUTES for m in r.methods}
    assert walked == published and len(walked) > 30


def test_every_v1_route_declares_its_roles():
    """Each /v1 route carries a role requirement the walk below can read."""
    missing = [f"{_method(r)} {r.path}" for r in ROUTES if _allowed_roles(r) is None]
    assert missing == []


def test_every_v1_route_needs_a_key(client, world, populated):
    """Without a key, every /v1 route answers 401."""
    for route in ROUTES:
        response = client.request(_method(route), _path(route, populated), json={})
        assert response.status_code == 401, f"{_method(route)} {route.path}"


def test_weaker_roles_are_forbidden(client, world, populated):
    """Each route answers 403 to every role it does not allow, even inside the right community."""
    keys = {
        Role.dispatcher: world.a.dispatcher,
        Role.grid_app: world.a.grid_app,
        Role.responder: world.a.extra["responder"],
    }
    tried = 0
    for route in ROUTES:
        allowed = _allowed_roles(route)
        for role, key in keys.items():
            if role in allowed:
                continue
            response = client.request(
                _method(route), _path(route, populated), json={}, headers=headers(key)
            )
            assert response.status_code == 403, (
                f"{role} {_method(route)} {route.path}: {response.status_code}"
            )
            tried += 1
    assert tried > 0


def test_other_communitys_objects_are_not_found(client, world, populated):
    """B's dispatcher gets 404 for every one of A's objects, on every route that names one."""
    tried = 0
    for route in ROUTES:
        if not route.param_convertors or route.path.startswith(UNSCOPED_PREFIXES):
            continue
        if Role.dispatcher not in _allowed_roles(route):
            continue
        body = VALID_BODIES.get(route.name, {})
        response = client.request(
            _method(route), _path(route, populated), json=body, headers=headers(world.b.dispatcher)
        )
        assert response.status_code == 404, (
            f"{_method(route)} {route.path}: {response.status_code} {response.text}"
        )
        tried += 1
    assert tried >= 10


def test_lists_never_show_other_communities(client, world, populated):
    """No list route shows B's dispatcher any of A's objects."""
    secret_ids = {v for k, v in populated.items() if k not in ("district_id", "code")}
    for route in ROUTES:
        if route.param_convertors or _method(route) != "GET":
            continue
        if Role.dispatcher not in _allowed_roles(route):
            continue
        # A stream is a list too: bounded to one poll so the walk stays quick.
        params = {"max_seconds": 1} if route.name == "stream_events" else {}
        response = client.get(route.path, params=params, headers=headers(world.b.dispatcher))
        assert response.status_code == 200, f"GET {route.path}: {response.status_code}"
        leaked = [i for i in secret_ids if i in response.text]
        assert leaked == [], f"GET {route.path} leaks {leaked}"
