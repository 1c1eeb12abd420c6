from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base
from service.models_base import Entity
from service.types import UTCDateTime


class ApiKey(Entity, Base):
    """A caller's credential. Only a keyed hash of the secret is kept; it is shown once."""

    __tablename__ = "api_key"
    audit_masked = frozenset({"key_hash"})

    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    street_id: Mapped[str | None] = mapped_column(ForeignKey("street.id"))
    community_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    grid_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    responder_id: Mapped[str | None] = mapped_column(ForeignKey("responder.id"))
    created_by: Mapped[str | None] = mapped_column(String(36))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def audit_scope(self) -> str | None:
        return self.community_ids[0] if self.community_ids else None
