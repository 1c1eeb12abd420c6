"""Offering a request to a responder: the references and rules an assignment must respect."""

from dataclasses import dataclass

import pytest
from sqlalchemy.exc import IntegrityError

from service.assignments.models import Assignment
from service.auth.principal import Role
from service.requests.models import ServiceRequest
from tests.service.conftest import add_key, headers, table_counts
from tests.service.requests.factory import (
    make_category,
    make_request,
    make_responder,
    request_body,
)


@dataclass
class Setup:
    request: dict
    volunteer: dict
    social_worker: dict


@pytest.fixture
def setup(client, world) -> Setup:
    make_category(client, world)
    return Setup(
        request=make_request(client, world.a.dispatcher, request_body(world.a)),
        volunteer=make_responder(client, world, [world.a.community_id]),
        social_worker=make_responder(
            client, world, [world.a.community_id], kind="social_worker", licence_level="assistant"
        ),
    )


def _offer(setup: Setup, **fields) -> dict:
    return {
        "request_id": setup.request["id"],
        "responder_id": setup.volunteer["id"],
        "role": "volunteer",
        **fields,
    }


def _post(client, key: str, body: dict):
    return client.post("/v1/assignments", json=body, headers=headers(key))


def test_dispatcher_offers_a_request(client, world, setup):
    """A new assignment is offered now, in the request's community, and reads back the same."""
    fund = client.post(
        "/v1/funds",
        json={"name": "社区慈善基金", "community_id": world.a.community_id},
        headers=headers(world.a.dispatcher),
    ).json()
    body = _offer(
        setup,
        planned_start="2026-03-02T09:30:00+08:00",
        respond_by="2026-03-02T08:30:00+08:00",
        travel_minutes=12,
        distance_m=2400,
        fund_id=fund["id"],
        note="带上药盒",
    )
    response = _post(client, world.a.dispatcher, body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["state"] == "offered" and created["offered_at"]
    assert created["community_id"] == world.a.community_id and created["role"] == "volunteer"
    assert created["planned_start"].startswith("2026-03-02T01:30:00")
    assert created["accepted_at"] is None and created["completed_at"] is None
    assert created["fund_id"] == fund["id"]
    fetched = client.get(f"/v1/assignments/{created['id']}", headers=headers(world.a.dispatcher))
    assert fetched.status_code == 200 and fetched.json() == created


def test_offer_leaves_the_request_state_alone(client, world, setup):
    """Request states move only through the later state machine, not as a side effect."""
    assert _post(client, world.a.dispatcher, _offer(setup)).status_code == 201
    again = client.get(f"/v1/requests/{setup.request['id']}", headers=headers(world.a.dispatcher))
    assert again.json()["state"] == "submitted"


def test_a_team_gets_one_assignment_per_responder(client, world, setup):
    """Different responders may each hold a live assignment for one request."""
    first = _post(client, world.a.dispatcher, _offer(setup))
    second = _post(
        client,
        world.a.dispatcher,
        _offer(setup, responder_id=setup.social_worker["id"], role="social_worker"),
    )
    assert (first.status_code, second.status_code) == (201, 201)


def test_same_responder_twice_live_is_409(client, world, session, setup):
    """A second live assignment of one responder to one request is 409, nothing written."""
    assert _post(client, world.a.dispatcher, _offer(setup)).status_code == 201
    before = table_counts(session)
    response = _post(client, world.a.dispatcher, _offer(setup))
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("application/problem+json")
    assert table_counts(session) == before


def test_responder_may_be_offered_again_after_declining(client, world, session, setup):
    """Once the first assignment is no longer live, the same responder may be offered again."""
    first = _post(client, world.a.dispatcher, _offer(setup)).json()
    # No API declines yet (the state machine is a later issue).
    session.get(Assignment, first["id"]).state = "declined"
    session.commit()
    assert _post(client, world.a.dispatcher, _offer(setup)).status_code == 201


def test_database_refuses_two_live_assignments(world, session, setup):
    """The partial unique index holds two live rows apart even when the service is bypassed."""
    row = dict(
        request_id=setup.request["id"],
        responder_id=setup.volunteer["id"],
        community_id=world.a.community_id,
        role="volunteer",
    )
    session.add(Assignment(**row, state="declined"))
    session.add(Assignment(**row, state="offered"))
    session.commit()
    session.add(Assignment(**row, state="accepted"))
    with pytest.raises(IntegrityError):
        session.commit()


@pytest.mark.parametrize("state", ["completed", "cancelled", "expired"])
def test_final_request_takes_no_assignment(client, world, session, setup, state):
    """A completed, cancelled or expired request is 409, nothing written."""
    session.get(ServiceRequest, setup.request["id"]).state = state
    session.commit()
    before = table_counts(session)
    assert _post(client, world.a.dispatcher, _offer(setup)).status_code == 409
    assert table_counts(session) == before


def test_responder_must_serve_the_requests_community(client, world, session, setup):
    """A responder of community B offered community A's request is 422 on responder_id."""
    stranger = make_responder(client, world, [world.b.community_id])
    before = table_counts(session)
    response = _post(client, world.admin, _offer(setup, responder_id=stranger["id"]))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "responder_id"
    assert table_counts(session) == before


def test_inactive_responder_is_refused(client, world, session, setup):
    """An inactive responder cannot be offered work: 422 on responder_id."""
    idle = make_responder(client, world, [world.a.community_id], active=False)
    before = table_counts(session)
    response = _post(client, world.a.dispatcher, _offer(setup, responder_id=idle["id"]))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "responder_id"
    assert table_counts(session) == before


def test_role_must_match_the_responders_kind(client, world, session, setup):
    """Offering a volunteer as a social worker is 422 on role."""
    before = table_counts(session)
    response = _post(client, world.a.dispatcher, _offer(setup, role="social_worker"))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "role"
    assert table_counts(session) == before


def test_other_communitys_request_is_unknown(client, world, session, setup):
    """Dispatcher B naming community A's request gets 422 on request_id, as if it did not exist."""
    before = table_counts(session)
    response = _post(client, world.b.dispatcher, _offer(setup))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "request_id"
    assert table_counts(session) == before


@pytest.mark.parametrize("role", ["grid_app", "responder"])
def test_only_dispatchers_assign(client, world, session, setup, role):
    """Grid apps and responders get 403 on POST /v1/assignments."""
    if role == "grid_app":
        key = world.a.grid_app
    else:
        key = add_key(session, Role.responder, responder_id=setup.volunteer["id"])
        session.commit()
    before = table_counts(session)
    assert _post(client, key, _offer(setup)).status_code == 403
    assert table_counts(session) == before


BAD_INPUT = {
    "unknown request": ({"request_id": "no-such-request"}, "request_id"),
    "unknown responder": ({"responder_id": "no-such-responder"}, "responder_id"),
    "unknown fund": ({"fund_id": "no-such-fund"}, "fund_id"),
    "unknown role": ({"role": "doctor"}, "role"),
    "naive datetime": ({"planned_start": "2026-03-02T09:30:00"}, "planned_start"),
    "negative distance": ({"distance_m": -5}, "distance_m"),
    "negative travel time": ({"travel_minutes": -1}, "travel_minutes"),
    "unknown field": ({"priority": 1}, "priority"),
    "state is not input": ({"state": "accepted"}, "state"),
    "null request": ({"request_id": None}, "request_id"),
    "null role": ({"role": None}, "role"),
}


@pytest.mark.parametrize("change, field", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_is_refused_and_writes_nothing(client, world, session, setup, change, field):
    """Each kind of bad input is a 422 problem naming its field, and no row is written."""
    before = table_counts(session)
    response = _post(client, world.a.dispatcher, _offer(setup, **change))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]
    assert table_counts(session) == before


def test_racing_double_booking_is_still_409(client, world, session, setup, monkeypatch):
    """If a second live offer slips past the service's check (a race), the index makes it a 409."""
    from service.assignments import repository

    assert _post(client, world.a.dispatcher, _offer(setup)).status_code == 201
    monkeypatch.setattr(repository, "holds_live", lambda *args: False)
    before = table_counts(session)
    assert _post(client, world.a.dispatcher, _offer(setup)).status_code == 409
    assert table_counts(session) == before
