"""Writing to the outbox and reading it back for a principal."""

from typing import Any

from sqlalchemy.orm import Session

from service.events.models import Event
from service.types import dump_json


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
    session.add(
        Event(
            community_id=community_id,
            responder_id=responder_id,
            kind=kind,
            subject_type=subject_type,
            subject_id=subject_id,
            payload={k: dump_json(v) for k, v in payload.items()},
        )
    )
    session.flush()
