"""Writing to the outbox, and the feed's cursor."""

import base64
import binascii
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy.orm import Session

from service.errors import Unprocessable
from service.events.models import Event

CURSOR_MARK = "e1:"


def record(
    session: Session,
    *,
    community_id: str,
    kind: str,
    subject_type: str,
    subject_id: str,
    payload: dict[str, Any],
    responder_id: str | None = None,
) -> None:
    """Add an event in the caller's transaction: it commits or rolls back with the change."""
    plain = to_jsonable_python(payload)
    session.add(
        Event(
            community_id=community_id,
            responder_id=responder_id,
            grid_id=_grid_of(session, subject_type, subject_id, plain),
            kind=kind,
            subject_type=subject_type,
            subject_id=subject_id,
            payload=plain,
        )
    )
    session.flush()


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
