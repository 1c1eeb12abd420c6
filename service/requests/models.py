from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base
from service.models_base import Entity
from service.places.models import Located
from service.types import UTCDateTime

URGENCIES = ("emergency", "urgent", "normal")
SOURCES = ("grid_app", "console", "import")
REQUEST_STATES = (
    "submitted",
    "offered",
    "accepted",
    "in_progress",
    "completed",
    "declined",
    "cancelled",
    "expired",
)
# No assignment may be added to a request in one of these states.
FINAL_STATES = frozenset({"completed", "cancelled", "expired"})


class ServiceRequest(Entity, Located, Base):
    """A resident's need: what, where, when, how urgent, and what it takes to meet it."""

    __tablename__ = "service_request"
    __table_args__ = (
        # Imports and grid apps resend; the same external id from one source is the same need.
        UniqueConstraint("source", "external_id", name="uq_service_request_source_external_id"),
    )
    # Where a resident lives and what they describe of their life is personal data.
    audit_masked = frozenset({"lon", "lat", "description"})

    community_id: Mapped[str] = mapped_column(ForeignKey("community.id"), index=True)
    grid_id: Mapped[str | None] = mapped_column(ForeignKey("grid.id"), index=True)
    resident_id: Mapped[str | None] = mapped_column(ForeignKey("resident.id"), index=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("service_category.code"), index=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime] = mapped_column(UTCDateTime())
    urgency: Mapped[str] = mapped_column(String(16), default="normal")
    # The urgency as filed; ``urgency`` is what applies now (raised by emergency rules).
    urgency_given: Mapped[str | None] = mapped_column(String(16))
    duration_min: Mapped[int] = mapped_column(Integer)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    cost_fen: Mapped[int] = mapped_column(Integer, default=0)
    required_qualifications: Mapped[list[Any]] = mapped_column(JSON, default=list)
    min_licence: Mapped[str] = mapped_column(String(16), default="none")
    team: Mapped[list[Any]] = mapped_column(JSON, default=list)
    max_distance_m: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    zone_id: Mapped[str | None] = mapped_column(String(64))
    created_by_key_id: Mapped[str | None] = mapped_column(ForeignKey("api_key.id"))
    # The resident's side rates the service once it is completed (评单), once.
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    # Not stored: what live matching did when the request was created (POST answers it).
    dispatch = None

    @property
    def location(self) -> dict[str, Any]:
        return self.centre
