from datetime import datetime
from typing import Any

from service.types import OutModel


class EventOut(OutModel):
    """One change: what happened (``kind``) to which object, and what a follower needs of it."""

    cursor: str
    at: datetime
    kind: str
    community_id: str
    responder_id: str | None
    subject_type: str
    subject_id: str
    payload: dict[str, Any]


class EventFeed(OutModel):
    """A page of the feed. Pass ``next_cursor`` as ``after`` to continue, now or later."""

    items: list[EventOut]
    # The cursor to resume from: the last item's, or the one sent if nothing new arrived.
    next_cursor: str | None
    # True when another page is already waiting.
    more: bool
