from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base
from service.models_base import Entity
from service.types import UTCDateTime


class Located:
    """Rows with a centre point; ``centre`` is the GeoJSON form the API speaks."""

    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)

    @property
    def centre(self) -> dict[str, Any]:
        return {"type": "Point", "coordinates": [self.lon, self.lat]}


class District(Entity, Located, Base):
    __tablename__ = "district"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Street(Entity, Located, Base):
    __tablename__ = "street"

    district_id: Mapped[str] = mapped_column(ForeignKey("district.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Community(Entity, Located, Base):
    __tablename__ = "community"

    street_id: Mapped[str] = mapped_column(ForeignKey("street.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    outline: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    auto_dispatch: Mapped[bool] = mapped_column(Boolean, default=False)
    # Peacetime or emergency (战时): emergency caps, the emergency team and the urgency rules
    # apply while in emergency (service.emergency).
    mode: Mapped[str] = mapped_column(String(16), default="peacetime", server_default="peacetime")
    mode_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    emergency_rules: Mapped[list[Any] | None] = mapped_column(JSON)
    mode_reason: Mapped[str | None] = mapped_column(String(500))

    def audit_scope(self) -> str | None:
        return self.id


class Grid(Entity, Located, Base):
    __tablename__ = "grid"

    community_id: Mapped[str] = mapped_column(ForeignKey("community.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    outline: Mapped[dict[str, Any] | None] = mapped_column(JSON)
