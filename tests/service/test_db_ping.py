"""Pooled PostgreSQL connections: pinged after idling, not while in steady use."""

import time

import pytest
from sqlalchemy import text

from service import db
from tests.conftest import BACKEND, _pg_admin

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(BACKEND != "postgresql", reason="the ping is for PostgreSQL's pool"),
]


@pytest.fixture
def pings(database_url: str, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The engine's pings, counted on the real dialect (each still goes to the server)."""
    monkeypatch.setenv("WUSHE_DB_PING_IDLE_S", "0.3")
    db.reset()
    dialect = db.get_engine().dialect
    made: list[float] = []
    real = dialect.do_ping

    def counted(dbapi_connection):  # type: ignore[no-untyped-def]
        made.append(time.monotonic())
        return real(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counted)
    return made


def _backend_pid() -> int:
    with db.get_engine().connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_in_steady_use_is_not_pinged(pings):
    """Connections handed back a moment ago go out again without a round trip first."""
    for _ in range(20):
        _backend_pid()
    assert pings == []


def test_a_connection_idle_past_the_limit_is_pinged(pings):
    """After idling past the limit, the next checkout pings first, once."""
    first = _backend_pid()
    time.sleep(0.4)
    assert _backend_pid() == first
    assert len(pings) == 1


def test_a_connection_dropped_while_idle_is_replaced_unseen(pings):
    """The server ends an idle pooled connection; the next use gets a fresh one, no error."""
    dead = _backend_pid()
    _pg_admin(f"SELECT pg_terminate_backend({dead})")
    time.sleep(0.4)
    fresh = _backend_pid()
    assert fresh != dead
    assert len(pings) == 1
