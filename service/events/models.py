"""The outbox: one row per domain change, written in the transaction that made the change.

Deliberately not an ``Entity``: the audit recorder audits only Entity subclasses, and an
outbox row is itself an append-only record, so auditing it would only double the writes.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base
from service.types import UTCDateTime, new_id, utcnow


class Event(Base):
    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_community_id_id", "community_id", "id"),
        Index("ix_event_responder_id_id", "responder_id", "id"),
    )

    # Time-ordered (UUIDv7 layout): the feed's cursor is simply the last id seen.
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    community_id: Mapped[str] = mapped_column(String(36))
    responder_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(36))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
