"""The outbox feed: written with the change, scoped to the caller, paged by an opaque cursor."""

from sqlalchemy import func, select

from service.audit.models import AuditEntry
from service.auth.principal import Role
from service.events.models import Event
from service.events.service import record
from tests.service.conftest import add_key, headers, table_counts
from tests.service.events.wiring import responder, service_request


def _event(session, side, kind="request.created", **extra):
    record(
        session,
        community_id=side.community_id,
        kind=kind,
        subject_type="service_request",
        subject_id=extra.pop("subject_id", "r-" + kind),
        payload=extra.pop("payload", {"grid_id": side.grid_id}),
        **extra,
    )


def test_record_rolls_back_with_the_change(session, world):
    """An event recorded in a transaction that rolls back is gone with it."""
    _event(session, world.a)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Event)) == 0


def test_events_are_not_audited(session, world):
    """Recording an event writes no audit entry: the outbox is itself the log."""
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    _event(session, world.a)
    session.commit()
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == before
    assert session.scalar(select(func.count()).select_from(Event)) == 1


def test_payload_keeps_instants_as_text(session, world):
    """Datetimes in a payload are stored as RFC 3339 text, not refused."""
    from service.types import utcnow

    at = utcnow()
    _event(session, world.a, payload={"respond_by": at})
    session.commit()
    assert session.scalar(select(Event.payload))["respond_by"] == at.isoformat().replace(
        "+00:00", "Z"
    )


def test_dispatcher_sees_only_its_community(app_client, session, world):
    """A's dispatcher reads A's events in order; B's dispatcher reads none of them."""
    for kind in ("request.created", "request.offered", "assignment.accepted"):
        _event(session, world.a, kind)
    _event(session, world.b, "request.cancelled")
    session.commit()
    mine = app_client.get("/v1/events", headers=headers(world.a.dispatcher))
    assert mine.status_code == 200, mine.text
    kinds = [e["kind"] for e in mine.json()["items"]]
    assert kinds == ["request.created", "request.offered", "assignment.accepted"]
    theirs = app_client.get("/v1/events", headers=headers(world.b.dispatcher)).json()
    assert [e["kind"] for e in theirs["items"]] == ["request.cancelled"]
    everything = app_client.get("/v1/events", headers=headers(world.admin)).json()
    assert len(everything["items"]) == 4


def test_grid_app_sees_only_its_grids_requests(app_client, session, world):
    """A grid app follows events about requests in its grids, found from the subject row."""
    own = service_request(session, world.a.community_id, world.a.grid_id)
    gridless = service_request(session, world.a.community_id, None)
    for request in (own, gridless):
        record(
            session,
            community_id=world.a.community_id,
            kind="request.created",
            subject_type="service_request",
            subject_id=request.id,
            payload={},
        )
    session.commit()
    items = app_client.get("/v1/events", headers=headers(world.a.grid_app)).json()["items"]
    assert [e["subject_id"] for e in items] == [own.id]
    other = app_client.get("/v1/events", headers=headers(world.b.grid_app)).json()["items"]
    assert other == []


def test_responder_sees_only_its_own_events(app_client, session, world):
    """A responder reads the events naming it and nothing else of its community."""
    me = responder(session, world.a.community_id)
    key = add_key(session, Role.responder, responder_id=me.id)
    _event(session, world.a, "assignment.offered", responder_id=me.id)
    _event(session, world.a, "request.created")
    _event(session, world.a, "assignment.offered", responder_id="someone-else")
    session.commit()
    items = app_client.get("/v1/events", headers=headers(key)).json()["items"]
    assert [(e["kind"], e["responder_id"]) for e in items] == [("assignment.offered", me.id)]


def test_cursor_pages_and_resumes(app_client, session, world):
    """Pages never exceed the limit; next_cursor continues, and later events follow it."""
    for n in range(5):
        _event(session, world.a, f"request.e{n}")
    session.commit()
    key = headers(world.a.dispatcher)
    first = app_client.get("/v1/events", params={"limit": 2}, headers=key).json()
    assert [e["kind"] for e in first["items"]] == ["request.e0", "request.e1"]
    assert first["more"] is True
    second = app_client.get(
        "/v1/events", params={"limit": 2, "after": first["next_cursor"]}, headers=key
    ).json()
    assert [e["kind"] for e in second["items"]] == ["request.e2", "request.e3"]
    third = app_client.get(
        "/v1/events", params={"limit": 2, "after": second["next_cursor"]}, headers=key
    ).json()
    assert [e["kind"] for e in third["items"]] == ["request.e4"] and third["more"] is False
    idle = app_client.get("/v1/events", params={"after": third["next_cursor"]}, headers=key)
    assert idle.json() == {"items": [], "next_cursor": third["next_cursor"], "more": False}
    _event(session, world.a, "request.late")
    session.commit()
    later = app_client.get("/v1/events", params={"after": third["next_cursor"]}, headers=key)
    assert [e["kind"] for e in later.json()["items"]] == ["request.late"]


def test_filters_narrow_the_feed(app_client, session, world):
    """kind and subject_id filters return only matching events."""
    _event(session, world.a, "request.created", subject_id="r1")
    _event(session, world.a, "request.offered", subject_id="r1")
    _event(session, world.a, "request.created", subject_id="r2")
    session.commit()
    key = headers(world.a.dispatcher)
    by_kind = app_client.get("/v1/events", params={"kind": "request.created"}, headers=key)
    assert [e["subject_id"] for e in by_kind.json()["items"]] == ["r1", "r2"]
    by_subject = app_client.get("/v1/events", params={"subject_id": "r1"}, headers=key)
    assert [e["kind"] for e in by_subject.json()["items"]] == ["request.created", "request.offered"]


def test_bad_cursor_and_limit_are_refused(app_client, session, world):
    """A cursor this service did not issue or a page beyond the maximum is a 422 on that field."""
    key = headers(world.a.dispatcher)
    before = table_counts(session)
    for params, field in (
        ({"after": "not-a-cursor"}, "after"),
        ({"after": "azE6MTIz"}, "after"),
        ({"limit": 201}, "limit"),
        ({"limit": 0}, "query.limit"),
    ):
        response = app_client.get("/v1/events", params=params, headers=key)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field
    assert table_counts(session) == before


def test_feed_needs_a_key(app_client, world):
    """Without a key the feed and the stream answer 401."""
    assert app_client.get("/v1/events").status_code == 401
    assert app_client.get("/v1/events/stream").status_code == 401
