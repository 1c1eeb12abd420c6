from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.crypto import EncryptedText
from service.db import Base
from service.models_base import Entity
from service.places.models import Located


class Resident(Entity, Located, Base):
    """A person a community serves; the lon/lat point is their home."""

    __tablename__ = "resident"
    audit_masked = frozenset({"name", "phone", "address", "notes", "lon", "lat"})

    community_id: Mapped[str] = mapped_column(ForeignKey("community.id"), index=True)
    grid_id: Mapped[str | None] = mapped_column(ForeignKey("grid.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(500))
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Health details: encrypted at rest with WUSHE_DATA_KEYS (service.crypto).
    notes: Mapped[str | None] = mapped_column(EncryptedText)
    # The lockdown zone the home lies in, kept up to date by the zones domain.
    zone_id: Mapped[str | None] = mapped_column(String(36), index=True)

    @property
    def location(self) -> dict[str, Any]:
        return self.centre
