"""Lockdown zones (三区): a polygon with a status and a period of force."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base
from service.models_base import Entity
from service.types import UTCDateTime

STATUSES = ("sealed", "controlled", "precaution")
# The more restrictive status wins where zones overlap.
STRICTNESS = {status: rank for rank, status in enumerate(reversed(STATUSES))}


class Zone(Entity, Base):
    """A sealed (封控区), controlled (管控区) or precaution (防范区) zone of one community.

    Requests and residents inside are tagged with its id while it is in force; responders are
    cleared for it by listing that id in their ``zone_clearances``.
    """

    __tablename__ = "zone"

    community_id: Mapped[str] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The bounding box, for finding candidate zones without reading every polygon.
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    # Whether the zone was in force when requests and residents were last tagged: the
    # background round re-tags when the clock crosses valid_from or valid_until.
    tagged_in_force: Mapped[bool] = mapped_column(Boolean, default=False)
    # A sealed zone's gate (handoff point): a delivery may end there, and a responder cleared
    # for the zone takes it to the door (route runs plan both legs).
    gate_lon: Mapped[float | None] = mapped_column(Float)
    gate_lat: Mapped[float | None] = mapped_column(Float)

    @property
    def gate(self) -> dict[str, Any] | None:
        if self.gate_lon is None or self.gate_lat is None:
            return None
        return {"type": "Point", "coordinates": [self.gate_lon, self.gate_lat]}

    def in_force(self, at: datetime) -> bool:
        return self.valid_from <= at and (self.valid_until is None or at < self.valid_until)
