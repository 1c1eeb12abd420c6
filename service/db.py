"""Engine, sessions and the one place where a request's transaction is opened and committed."""

import time
from collections.abc import AsyncIterator, Callable
from functools import lru_cache
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from service.config import get_settings


class Base(DeclarativeBase):
    pass


# Connections kept back from requests: the background loop, local runs, warm-state rebuilds.
BACKGROUND_CONNECTIONS = 4
MIN_REQUEST_SLOTS = 4


def pool_capacity() -> int:
    """Connections the engine may hold at once; the request thread pool is sized to it."""
    settings = get_settings()
    return settings.db_pool_size + settings.db_max_overflow


def request_slots() -> int:
    """API requests handled at once (``WUSHE_REQUEST_SLOTS``), with a worker thread each and
    at most as many as there are connections for them beside the background's (see
    service.limits.Admission)."""
    room = max(MIN_REQUEST_SLOTS, pool_capacity() - BACKGROUND_CONNECTIONS)
    return min(get_settings().request_slots, room)


def make_engine(url: str) -> Engine:
    settings = get_settings()
    pool = {
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout_s,
    }
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": 30},
            **({} if in_memory else pool),  # type: ignore[arg-type]
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # SQL parameters carry names, phones and addresses: keep them out of errors and logs.
    engine = create_engine(url, hide_parameters=True, **pool)  # type: ignore[arg-type]
    _ping_when_idle(engine, settings.db_ping_idle_s)
    return engine


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Ping a pooled connection before handing it out only if it sat idle ``idle_s`` or more.

    A connection that was idle may have been dropped meanwhile (a database restart, an idle
    timeout): the ping finds out and the pool connects afresh. One handed back a moment ago
    is not pinged: under load that would be a round trip per request for nothing. Should it
    have died all the same, its first statement fails (503, retried by the client) and the
    pool then drops every connection older than the failure."""

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_s:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool drops this connection and checks out a fresh one.
            raise DisconnectionError(f"pooled connection dead after idling: {exc}") from exc


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False, autoflush=True)


# The forget functions of the caches of database rows (see forget_on_commit).
_row_caches: list[Callable[[], None]] = []


def reset() -> None:
    """Forget the engine and settings, and every cache of rows read through them (tests and
    the CLI point the app at another database)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()
    get_settings.cache_clear()
    for forget in _row_caches:
        forget()


async def get_session() -> AsyncIterator[Session]:
    """FastAPI dependency: one transaction per request, committed only if the handler succeeds.

    Services only flush; nothing else commits. Opening a session touches nothing, so it is
    done here on the event loop; the end (commit or rollback, then close) takes a worker
    thread of its own, as FastAPI gives a sync dependency's exit: this request may hold row
    locks that the request threads are waiting on. Shielded, so a client that goes away
    cannot leave the connection in a transaction."""
    session = get_sessionmaker()()
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(_end, session, False, limiter=anyio.CapacityLimiter(1))
        raise
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(_end, session, True, limiter=anyio.CapacityLimiter(1))


def _end(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def forget_on_commit(tables: frozenset[str], forget: Callable[[], None]) -> None:
    """Call ``forget`` after every commit of this process that wrote (through the ORM) a row
    of one of ``tables``: for caches of such rows, which then hold nothing older than the
    last change made here (other processes' changes wait for the cache's own time limit).
    ``reset`` calls it too."""
    mark = object()  # this cache's flag in session.info
    _row_caches.append(forget)

    @event.listens_for(Session, "after_flush")
    def _note(session: Session, _context: Any) -> None:
        if mark in session.info:
            return
        for obj in (*session.new, *session.dirty, *session.deleted):
            if getattr(obj, "__tablename__", None) in tables:
                session.info[mark] = True
                return

    @event.listens_for(Session, "after_commit")
    def _forget(session: Session) -> None:
        if session.info.pop(mark, False):
            forget()

    @event.listens_for(Session, "after_transaction_end")
    def _reset(session: Session, transaction: Any) -> None:
        if transaction.parent is None:  # committed (and handled above) or rolled back
            session.info.pop(mark, None)
