"""Mixins every table shares: a time-ordered id and creation/update instants."""

from datetime import datetime
from typing import ClassVar

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from service.types import UTCDateTime, new_id, utcnow


class Entity:
    """Primary key, timestamps, and what the audit trail needs to know about a row."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    # Columns whose values never enter the audit trail (personal data, secrets).
    audit_masked: ClassVar[frozenset[str]] = frozenset()

    def audit_scope(self) -> str | None:
        """The community id an audit entry about this row belongs to (None: not scoped)."""
        return getattr(self, "community_id", None)
