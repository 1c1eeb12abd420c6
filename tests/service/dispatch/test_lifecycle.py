"""The request lifecycle through the API: offer, accept, start, complete, rate; decline; cancel."""

import pytest
from sqlalchemy import select

from service.audit.models import AuditEntry
from service.responders.models import Responder
from tests.service.conftest import headers, table_counts
from tests.service.dispatch.helpers import (
    move,
    submit,
    volunteer,
)


def _get(client, key, request_id):
    return client.get(f"/v1/requests/{request_id}", headers=headers(key)).json()


def test_whole_lifecycle_with_responder_key(client, session, auto):
    """Offered at once; accepted, started, completed by the responder; hours and points credited."""
    responder, key = volunteer(client, session, auto, auto.a)
    created = submit(client, auto.a, urgency="urgent")
    assert created["state"] == "offered"
    offer = created["dispatch"]["offers"][0]
    assert created["dispatch"]["outcome"] == "offered"
    assert offer["responder_id"] == responder["id"] and offer["respond_by"]
    aid = offer["assignment_id"]
    accepted = move(client, key, aid, "accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["state"] == "accepted"
    assert _get(client, auto.a.dispatcher, created["id"])["state"] == "accepted"
    assert move(client, key, aid, "start").json()["state"] == "in_progress"
    assert _get(client, auto.a.dispatcher, created["id"])["state"] == "in_progress"
    done = move(client, key, aid, "complete").json()
    assert done["state"] == "completed" and done["completed_at"]
    assert _get(client, auto.a.dispatcher, created["id"])["state"] == "completed"
    session.expire_all()
    credited = session.get(Responder, responder["id"])
    assert credited.points == 15 and credited.hours_served == 1
    actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == aid)))
    assert {"offer", "accept", "start", "complete"} <= actions


def test_another_responders_key_sees_no_such_assignment(client, session, auto):
    """A responder key for someone else gets 404 and nothing changes."""
    volunteer(client, session, auto, auto.a)
    created = submit(client, auto.a)
    aid = created["dispatch"]["offers"][0]["assignment_id"]
    session.expire_all()
    _, other_key = volunteer(client, session, auto, auto.a)
    before = table_counts(session)
    response = move(client, other_key, aid, "accept")
    assert response.status_code == 404
    assert table_counts(session) == before


@pytest.mark.parametrize(
    ("steps", "illegal", "body"),
    [
        ([], "start", None),
        ([], "complete", None),
        (["accept"], "accept", None),
        (["accept"], "decline", {"reason": "busy"}),
        (["accept", "start"], "accept", None),
        (["accept", "start", "complete"], "start", None),
        (["accept", "start", "complete"], "complete", None),
    ],
)
def test_illegal_transitions_are_409_and_change_nothing(
    client, session, auto, steps, illegal, body
):
    """Moves the state machine does not allow answer 409 and write nothing."""
    _, key = volunteer(client, session, auto, auto.a)
    aid = submit(client, auto.a)["dispatch"]["offers"][0]["assignment_id"]
    for step in steps:
        assert move(client, key, aid, step).status_code == 200
    before = table_counts(session)
    response = move(client, key, aid, illegal, **(body or {}))
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert table_counts(session) == before


def test_decline_reoffers_to_someone_else(client, session, auto):
    """A declined offer goes to the next responder, never back to the one who declined."""
    first, first_key = volunteer(client, session, auto, auto.a)
    second, second_key = volunteer(client, session, auto, auto.a)
    keys = {first["id"]: first_key, second["id"]: second_key}
    created = submit(client, auto.a)
    offer = created["dispatch"]["offers"][0]
    key = keys[offer["responder_id"]]
    other = second["id"] if offer["responder_id"] == first["id"] else first["id"]
    declined = move(client, key, offer["assignment_id"], "decline", reason="away today")
    assert declined.status_code == 200, declined.text
    assert declined.json()["state"] == "declined"
    live = client.get(
        "/v1/assignments",
        params={"request_id": created["id"], "state": "offered"},
        headers=headers(auto.a.dispatcher),
    ).json()["items"]
    assert [a["responder_id"] for a in live] == [other]
    assert _get(client, auto.a.dispatcher, created["id"])["state"] == "offered"


def test_last_decline_queues_the_request(client, session, auto):
    """With nobody else to ask, a declined request is back in the queue, submitted."""
    _, key = volunteer(client, session, auto, auto.a)
    created = submit(client, auto.a)
    aid = created["dispatch"]["offers"][0]["assignment_id"]
    assert move(client, key, aid, "decline", reason="ill").status_code == 200
    assert _get(client, auto.a.dispatcher, created["id"])["state"] == "submitted"


def test_decline_requires_a_reason(client, session, auto):
    """A decline without a reason is 422 and nothing is written."""
    _, key = volunteer(client, session, auto, auto.a)
    aid = submit(client, auto.a)["dispatch"]["offers"][0]["assignment_id"]
    before = table_counts(session)
    response = move(client, key, aid, "decline")
    assert response.status_code == 422
    assert table_counts(session) == before


def test_cancel_with_reason_cancels_live_offers(client, session, auto):
    """Cancelling frees the responder's offer; a cancelled request cannot be cancelled again."""
    _, key = volunteer(client, session, auto, auto.a)
    created = submit(client, auto.a)
    aid = created["dispatch"]["offers"][0]["assignment_id"]
    url = f"/v1/requests/{created['id']}/cancel"
    response = client.post(
        url, json={"reason": "resident moved"}, headers=headers(auto.a.dispatcher)
    )
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    assigned = client.get(f"/v1/assignments/{aid}", headers=headers(auto.a.dispatcher)).json()
    assert assigned["state"] == "cancelled" and "resident moved" in assigned["note"]
    before = table_counts(session)
    again = client.post(url, json={"reason": "twice"}, headers=headers(auto.a.dispatcher))
    assert again.status_code == 409
    assert table_counts(session) == before
    assert client.post(url, json={}, headers=headers(auto.a.dispatcher)).status_code == 422


def test_rating_once_after_completion(client, session, auto):
    """The grid app rates a completed request once; before completion or twice is 409."""
    _, key = volunteer(client, session, auto, auto.a)
    created = submit(client, auto.a, grid_id=auto.a.grid_id)
    aid = created["dispatch"]["offers"][0]["assignment_id"]
    url = f"/v1/requests/{created['id']}/rating"
    early = client.post(url, json={"rating": 5}, headers=headers(auto.a.grid_app))
    assert early.status_code == 409
    for step in ("accept", "start", "complete"):
        assert move(client, key, aid, step).status_code == 200
    bad = client.post(url, json={"rating": 6}, headers=headers(auto.a.grid_app))
    assert bad.status_code == 422
    rated = client.post(
        url, json={"rating": 4, "comment": "很及时"}, headers=headers(auto.a.grid_app)
    )
    assert rated.status_code == 200, rated.text
    assert rated.json()["rating"] == 4 and rated.json()["rating_comment"] == "很及时"
    before = table_counts(session)
    twice = client.post(url, json={"rating": 1}, headers=headers(auto.a.grid_app))
    assert twice.status_code == 409
    assert table_counts(session) == before
    responder_try = client.post(url, json={"rating": 1}, headers=headers(key))
    assert responder_try.status_code == 403
