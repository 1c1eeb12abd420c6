"""Manual dispatch: hard constraints refused with the checker's reason, soft ones warned."""

import pytest
from sqlalchemy import select

from service.events.models import Event
from tests.service.conftest import headers, table_counts
from tests.service.dispatch.helpers import setup_category, submit, volunteer

FAR = {"type": "Point", "coordinates": [121.057, 30.71]}  # about 2.6 km east of the request


@pytest.fixture
def manual(client, world):
    setup_category(client, world)
    return world


def _assign(client, key, request_id, responder_ids, **body):
    return client.post(
        f"/v1/requests/{request_id}/assign",
        json={"responder_ids": responder_ids, **body},
        headers=headers(key),
    )


def test_dispatcher_assigns_by_hand(client, session, manual):
    """A fitting responder is offered the request; nothing to warn about."""
    responder, _ = volunteer(client, session, manual, manual.a)
    request = submit(client, manual.a)
    response = _assign(client, manual.a.dispatcher, request["id"], [responder["id"]])
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["warnings"] == []
    [assigned] = out["assignments"]
    assert assigned["responder_id"] == responder["id"] and assigned["state"] == "offered"
    got = client.get(f"/v1/requests/{request['id']}", headers=headers(manual.a.dispatcher))
    assert got.json()["state"] == "offered"


def test_missing_qualification_is_refused_with_reason(client, session, manual):
    """A responder without the required qualification: 422 naming it, nothing written."""
    responder, _ = volunteer(client, session, manual, manual.a)
    request = submit(client, manual.a, required_qualifications=["counselling"])
    before = table_counts(session)
    response = _assign(client, manual.a.dispatcher, request["id"], [responder["id"]])
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    error = response.json()["errors"][0]
    assert error["field"] == "responder_ids" and "qualification" in error["message"]
    assert table_counts(session) == before


def test_out_of_radius_is_refused(client, session, manual):
    """A responder beyond its travel radius is a hard violation."""
    responder, _ = volunteer(client, session, manual, manual.a, radius_m=1000, location=FAR)
    request = submit(client, manual.a)
    before = table_counts(session)
    response = _assign(client, manual.a.dispatcher, request["id"], [responder["id"]])
    assert response.status_code == 422, response.text
    assert table_counts(session) == before


def test_beyond_preferred_distance_is_allowed_with_a_warning(client, session, manual):
    """Past 80 % of the radius: assigned, warned, and the warning kept in note and event."""
    responder, _ = volunteer(client, session, manual, manual.a, location=FAR)
    request = submit(client, manual.a)
    response = _assign(client, manual.a.dispatcher, request["id"], [responder["id"]])
    assert response.status_code == 200, response.text
    out = response.json()
    assert len(out["warnings"]) == 1 and "preferred" in out["warnings"][0]
    assert "preferred" in out["assignments"][0]["note"]
    payloads = session.scalars(select(Event.payload).where(Event.kind == "assignment.manual"))
    assert [p["warnings"] for p in payloads] == [out["warnings"]]


def test_above_average_load_is_warned(client, session, manual):
    """A responder already busier than the community's average gets the work, with a warning."""
    busy, _ = volunteer(client, session, manual, manual.a)
    volunteer(client, session, manual, manual.a)
    first = submit(client, manual.a)
    assert _assign(client, manual.a.dispatcher, first["id"], [busy["id"]]).status_code == 200
    second = submit(client, manual.a)
    response = _assign(client, manual.a.dispatcher, second["id"], [busy["id"]])
    assert response.status_code == 200, response.text
    assert any("average" in w for w in response.json()["warnings"])


def test_reassign_cancels_the_previous_offer(client, session, manual):
    """Assigning someone else withdraws the first responder's live offer."""
    first, _ = volunteer(client, session, manual, manual.a)
    second, _ = volunteer(client, session, manual, manual.a)
    request = submit(client, manual.a)
    old = _assign(client, manual.a.dispatcher, request["id"], [first["id"]]).json()
    response = _assign(client, manual.a.dispatcher, request["id"], [second["id"]])
    assert response.status_code == 200, response.text
    old_id = old["assignments"][0]["id"]
    got = client.get(f"/v1/assignments/{old_id}", headers=headers(manual.a.dispatcher)).json()
    assert got["state"] == "cancelled"


def test_unassign_returns_the_request_to_the_queue(client, session, manual):
    """Unassigning (with a reason) cancels the offer and leaves the request submitted."""
    responder, _ = volunteer(client, session, manual, manual.a)
    request = submit(client, manual.a)
    assert _assign(client, manual.a.dispatcher, request["id"], [responder["id"]]).status_code == 200
    url = f"/v1/requests/{request['id']}/unassign"
    response = client.post(
        url, json={"reason": "wrong person"}, headers=headers(manual.a.dispatcher)
    )
    assert response.status_code == 200 and response.json()["state"] == "submitted"
    before = table_counts(session)
    again = client.post(url, json={"reason": "again"}, headers=headers(manual.a.dispatcher))
    assert again.status_code == 409
    assert table_counts(session) == before


def test_only_dispatchers_of_the_community_assign(client, session, manual):
    """A grid app is refused (403); another community's dispatcher sees no such request (404)."""
    responder, _ = volunteer(client, session, manual, manual.a)
    request = submit(client, manual.a)
    before = table_counts(session)
    grid = _assign(client, manual.a.grid_app, request["id"], [responder["id"]])
    other = _assign(client, manual.b.dispatcher, request["id"], [responder["id"]])
    assert (grid.status_code, other.status_code) == (403, 404)
    assert table_counts(session) == before


def test_unknown_responder_is_422(client, session, manual):
    """A responder id that is unknown or not serving the community is refused by field."""
    request = submit(client, manual.a)
    before = table_counts(session)
    response = _assign(client, manual.a.dispatcher, request["id"], ["nobody"])
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "responder_ids"
    assert table_counts(session) == before
