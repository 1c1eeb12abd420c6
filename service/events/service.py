"""Writing to the outbox, and the feed's cursor."""

import base64
import binascii
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
from pydantic_core import to_jsonable_python
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.auth.principal import Principal
from service.config import get_settings
from service.db import get_sessionmaker
from service.errors import Unprocessable
from service.events import repository as repo
from service.events import schemas
from service.events.models import Event

if TYPE_CHECKING:
    from service.requests.models import ServiceRequest

CURSOR_MARK = "e1:"
POLL_S = 1.0
KEEPALIVE_S = 15.0
RETRY_MS = 3000
STREAM_BATCH = 100


def record(
    session: Session,
    *,
    community_id: str,
    kind: str,
    subject_type: str,
    subject_id: str,
    payload: dict[str, Any],
    responder_id: str | None = None,
    about: "ServiceRequest | None" = None,
) -> None:
    """Add an event in the caller's transaction: it commits or rolls back with the change.

    Not flushed here: the events of one change go out with its next flush, in one insert.
    ``about``: the service request the event concerns, when the caller holds it (its grid is
    then taken from it, with no lookup; it may not be flushed yet)."""
    plain = to_jsonable_python(payload)
    grid_id = (
        about.grid_id if about is not None else _grid_of(session, subject_type, subject_id, plain)
    )
    session.add(
        Event(
            community_id=community_id,
            responder_id=responder_id,
            grid_id=grid_id,
            kind=kind,
            subject_type=subject_type,
            subject_id=subject_id,
            payload=plain,
        )
    )


def _grid_of(
    session: Session, subject_type: str, subject_id: str, payload: dict[str, Any]
) -> str | None:
    """The grid of the request an event is about; the rows are normally already loaded."""
    if payload.get("grid_id"):
        return str(payload["grid_id"])
    from service.assignments.models import Assignment
    from service.requests.models import ServiceRequest

    request_id = payload.get("request_id")
    if subject_type == "service_request":
        request_id = subject_id
    elif subject_type == "assignment" and request_id is None:
        assignment = session.get(Assignment, subject_id)
        request_id = assignment.request_id if assignment else None
    if not request_id:
        return None
    request = session.get(ServiceRequest, request_id)
    return request.grid_id if request else None


def cursor_of(event: Event) -> str:
    raw = f"{CURSOR_MARK}{event.tx}.{event.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_cursor(cursor: str, field: str = "after") -> tuple[int, int]:
    """(transaction, sequence) of the last event a client saw; anything else is a 422."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode()
        if raw.startswith(CURSOR_MARK):
            tx, seq = raw.removeprefix(CURSOR_MARK).split(".")
            return int(tx), int(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise Unprocessable.on(field, "the cursor is not one this service issued")


def read_feed(
    session: Session,
    principal: Principal,
    after: str | None,
    limit: int,
    **filters: str | None,
) -> schemas.EventFeed:
    """One page of the caller's events after ``after``; never more than ``limit``."""
    settings = get_settings()
    if limit > settings.page_size_max:
        raise Unprocessable.on(
            "limit", f"page size {limit} exceeds the maximum of {settings.page_size_max}"
        )
    position = parse_cursor(after) if after else None
    rows = repo.feed(session, principal, position, limit + 1, **filters)
    more = len(rows) > limit
    items = [out(e) for e in rows[:limit]]
    return schemas.EventFeed(
        items=items, next_cursor=items[-1].cursor if items else after, more=more
    )


def out(event: Event) -> schemas.EventOut:
    return schemas.EventOut(
        cursor=cursor_of(event),
        at=event.at,
        kind=event.kind,
        community_id=event.community_id,
        responder_id=event.responder_id,
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        payload=event.payload,
    )


def sse_frame(event: schemas.EventOut) -> str:
    """One server-sent event: ``id`` is the cursor, so Last-Event-ID resumes after it."""
    return f"id: {event.cursor}\nevent: {event.kind}\ndata: {event.model_dump_json()}\n\n"


async def stream(
    principal: Principal,
    after: str | None,
    max_seconds: float,
    is_disconnected: Callable[[], Awaitable[bool]],
    **filters: str | None,
) -> AsyncIterator[str]:
    """Server-sent events from ``after`` on, polling the outbox, until time is up or the
    client leaves. Each poll is its own short read on a worker thread: nothing stays open."""
    deadline = time.monotonic() + max_seconds
    last_sent = time.monotonic()
    yield f"retry: {RETRY_MS}\n\n"
    while time.monotonic() < deadline:
        if await is_disconnected():
            return
        page = await run_in_threadpool(_poll, principal, after, filters)
        for item in page.items:
            yield sse_frame(item)
        after = page.next_cursor
        if page.items:
            last_sent = time.monotonic()
        elif time.monotonic() - last_sent > KEEPALIVE_S:
            # A comment line keeps proxies from closing an idle stream.
            yield ": keepalive\n\n"
            last_sent = time.monotonic()
        if not page.more:
            await anyio.sleep(max(0.0, min(POLL_S, deadline - time.monotonic())))


def _poll(
    principal: Principal, after: str | None, filters: dict[str, str | None]
) -> schemas.EventFeed:
    with get_sessionmaker()() as session:
        return read_feed(session, principal, after, STREAM_BATCH, **filters)
