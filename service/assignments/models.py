from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base
from service.models_base import Entity
from service.types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from service.requests.models import ServiceRequest

ASSIGNMENT_STATES = (
    "offered",
    "accepted",
    "in_progress",
    "completed",
    "declined",
    "timed_out",
    "cancelled",
)
# While an assignment is in one of these, its responder still holds the request.
LIVE_STATES = ("offered", "accepted", "in_progress")
_LIVE = text("state IN (" + ", ".join(f"'{s}'" for s in LIVE_STATES) + ")")


class Assignment(Entity, Base):
    """One responder offered (then holding, then done with) one service request."""

    __tablename__ = "assignment"
    __table_args__ = (
        # Two live offers to one responder for one request would double-book it; the
        # service checks first, this index holds even against concurrent dispatchers.
        Index(
            "uq_assignment_live_responder",
            "request_id",
            "responder_id",
            unique=True,
            postgresql_where=_LIVE,
            sqlite_where=_LIVE,
        ),
    )

    request_id: Mapped[str] = mapped_column(ForeignKey("service_request.id"), index=True)
    # Never loaded or set (reading it raises): it is here so that a flush inserts a request
    # before its assignments, which lets a new request and its first offer go in one flush.
    request: Mapped["ServiceRequest"] = relationship(lazy="raise")
    responder_id: Mapped[str] = mapped_column(ForeignKey("responder.id"), index=True)
    # Copied from the request so scoping never needs a join.
    community_id: Mapped[str] = mapped_column(ForeignKey("community.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="offered", index=True)
    planned_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    respond_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    travel_minutes: Mapped[int | None] = mapped_column(Integer)
    distance_m: Mapped[int | None] = mapped_column(Integer)
    fund_id: Mapped[str | None] = mapped_column(ForeignKey("charity_fund.id"))
    note: Mapped[str | None] = mapped_column(Text)
