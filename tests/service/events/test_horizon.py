"""The feed's horizon on PostgreSQL: transaction ids are cluster-wide, but only transactions of
this database may hold the feed back; one of this database still does, so nothing is skipped."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from service.events import repository
from service.events.models import Event
from service.events.service import record
from tests.conftest import BACKEND, _pg_admin, _pg_url
from tests.service.conftest import headers

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="transaction ids: PostgreSQL")


def _event(session: Session, side, kind: str) -> None:
    record(
        session,
        community_id=side.community_id,
        kind=kind,
        subject_type="service_request",
        subject_id="r-" + kind,
        payload={"grid_id": side.grid_id},
    )


@contextmanager
def _open_transaction(url: str) -> Iterator[tuple[Connection, int]]:
    """A connection to ``url`` inside a transaction that has taken an id, kept open."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    connection = engine.connect()
    try:
        xid = connection.execute(text("SELECT txid_current()")).scalar_one()
        yield connection, int(xid)
    finally:
        connection.rollback()
        connection.close()
        engine.dispose()


@pytest.fixture
def other_database() -> Iterator[str]:
    """A scratch database on the same server, like a test or bench database beside ours."""
    name = f"wushe_other_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    yield _pg_url(name)
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _kinds(client, key: str, after: str | None = None) -> tuple[list[str], str | None]:
    params = {"after": after} if after else {}
    body = client.get("/v1/events", params=params, headers=headers(key)).json()
    return [e["kind"] for e in body["items"]], body["next_cursor"]


def test_a_transaction_open_in_another_database_does_not_hold_the_feed_back(
    app_client, session, world, other_database
):
    """Another database's open transaction, older than our event, is not waited for."""
    with _open_transaction(other_database) as (_, foreign_xid):
        _event(session, world.a, "request.created")
        session.commit()
        tx = session.scalar(select(Event.tx))
        # the old horizon (the snapshot's xmin) stops at the foreign transaction, below ours
        xmin = session.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
        assert xmin <= foreign_xid < tx
        session.rollback()
        assert repository.current_horizon(session) > tx
        kinds, _ = _kinds(app_client, world.a.dispatcher)
        assert kinds == ["request.created"]


def test_a_transaction_open_in_this_database_holds_later_events_back_until_it_ends(
    app_client, session, world, database_url, other_database
):
    """An open writer of this database holds back events committed after it began (so a
    cursor never passes its event), and once it commits the feed delivers both in order;
    a foreign open transaction at the same time changes nothing."""
    key = world.a.dispatcher
    with _open_transaction(other_database):
        _event(session, world.a, "request.e0")
        session.commit()
        kinds, cursor = _kinds(app_client, key)
        assert kinds == ["request.e0"]
        with _open_transaction(database_url) as (connection, _), Session(bind=connection) as slow:
            _event(slow, world.a, "request.slow")  # flushed, not committed
            _event(session, world.a, "request.fast")
            session.commit()
            fast_tx = session.scalar(select(Event.tx).where(Event.kind == "request.fast"))
            session.rollback()
            assert repository.current_horizon(session) <= fast_tx
            kinds, held_cursor = _kinds(app_client, key, cursor)
            assert kinds == [] and held_cursor == cursor
            slow.flush()
            connection.commit()  # the slow writer commits, after the fast one
        kinds, _ = _kinds(app_client, key, cursor)
    assert kinds == ["request.slow", "request.fast"]


def test_a_reader_that_has_written_does_not_see_its_own_uncommitted_events(session, world):
    """Within a transaction that has written an event, the feed stops below that transaction:
    its own rows are visible to it but not settled until it commits."""
    from service.auth.principal import SYSTEM

    _event(session, world.a, "request.mine")
    own = session.scalar(select(Event.tx))
    assert repository.current_horizon(session) <= own
    assert repository.feed(session, SYSTEM, None, 10) == []
    session.commit()
    assert [e.kind for e in repository.feed(session, SYSTEM, None, 10)] == ["request.mine"]
