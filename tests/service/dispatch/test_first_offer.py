"""A new request and its first offer are inserted together; the trail reads as if flushed apart."""

from sqlalchemy import select

from service.audit.models import AuditEntry
from service.events.models import Event
from tests.service.conftest import headers, statements_sent, table_counts
from tests.service.dispatch.helpers import (
    CATEGORY,
    submit,
    volunteer,
    window,
)
from tests.service.requests.factory import POINT


def _writes_during(call):  # type: ignore[no-untyped-def]
    """The INSERT and UPDATE statements the app sends while ``call`` runs (their first three
    words), and its result."""
    with statements_sent(lambda s: s.lstrip().startswith(("INSERT", "UPDATE"))) as sent:
        result = call()
    return [" ".join(s.split("(")[0].split(" SET ")[0].split()[:3]) for s in sent], result


def test_an_offered_request_is_inserted_once_in_its_final_state(client, session, auto):
    """The request row is inserted as offered, with its assignment: no separate insert as
    submitted and update to offered."""
    volunteer(client, session, auto, auto.a)
    writes, created = _writes_during(lambda: submit(client, auto.a))
    assert created["state"] == "offered"
    assert writes.count("INSERT INTO service_request") == 1
    assert not any(w.startswith("UPDATE service_request") for w in writes)
    assert writes.index("INSERT INTO service_request") < writes.index("INSERT INTO assignment")


def test_the_audit_trail_has_the_creation_and_then_the_offer(client, session, auto):
    """The request's entries: created as submitted, then offered (submitted to offered);
    the assignment's: its offer."""
    volunteer(client, session, auto, auto.a)
    created = submit(client, auto.a)
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.entity_id == created["id"]).order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["create", "offer"]
    creation, offer = entries
    assert creation.before is None and creation.after["state"] == "submitted"
    assert creation.after["created_at"] is not None and creation.after["id"] == created["id"]
    assert offer.before == {"state": "submitted"} and offer.after == {"state": "offered"}
    [offered] = created["dispatch"]["offers"]
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_id == offered["assignment_id"])
    ).all()
    assert actions == ["offer"]


def test_a_queued_request_is_inserted_as_submitted(client, session, auto):
    """Nobody to offer it to: the request is still inserted, once, with its queued event."""
    writes, created = _writes_during(lambda: submit(client, auto.a))
    assert created["state"] == "submitted" and created["dispatch"]["outcome"] == "queued"
    assert writes.count("INSERT INTO service_request") == 1
    kinds = session.scalars(select(Event.kind).where(Event.subject_id == created["id"])).all()
    assert kinds == ["request.queued"]


def test_the_offer_event_names_the_requests_grid(client, session, auto):
    """The assignment's offer event carries the grid of the request it was made for, though
    the request was not in the database yet when the event was recorded."""
    volunteer(client, session, auto, auto.a)
    created = submit(client, auto.a, grid_id=auto.a.grid_id)
    [offered] = created["dispatch"]["offers"]
    grids = session.scalars(
        select(Event.grid_id).where(Event.subject_id == offered["assignment_id"])
    ).all()
    assert grids == [auto.a.grid_id]


def test_a_duplicate_external_id_is_refused_after_matching_and_takes_nothing(client, session, auto):
    """Refused as 409 by the unique index when the request and its offer are flushed: nothing
    is written, and the responder it would have gone to is still free for the next one."""
    volunteer(client, session, auto, auto.a, max_tasks_per_day=2)
    first = submit(client, auto.a, source="import", external_id="EXT-9")
    assert first["dispatch"]["outcome"] == "offered"
    before = table_counts(session)
    again = {
        "community_id": auto.a.community_id,
        "category_code": CATEGORY,
        "location": POINT,
        **window(),
        "source": "import",
        "external_id": "EXT-9",
    }
    writes, response = _writes_during(
        lambda: client.post("/v1/requests", json=again, headers=headers(auto.a.dispatcher))
    )
    assert response.status_code == 409, response.text
    # The volunteer had room, so it was matched; the flush of its offer met the index.
    assert "INSERT INTO event" in writes and writes[-1] == "INSERT INTO service_request"
    assert response.json()["errors"][0]["field"] == "external_id"
    assert table_counts(session) == before
    # The refused offer was taken back from the warm state: the second task of the day fits.
    assert submit(client, auto.a)["dispatch"]["outcome"] == "offered"
