"""Responders: the social workers, volunteers, organizations and community staff who serve."""

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base
from service.models_base import Entity
from service.places.models import Located


class ResponderCommunity(Base):
    """The communities a responder serves: its scope, and who may dispatch it."""

    __tablename__ = "responder_community"

    responder_id: Mapped[str] = mapped_column(ForeignKey("responder.id"), primary_key=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("community.id"), primary_key=True)


class Responder(Entity, Located, Base):
    """One responder of any kind; the lon/lat point is its base (home, office, centre)."""

    __tablename__ = "responder"
    audit_masked = frozenset({"name", "phone"})

    kind: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    radius_m: Mapped[int] = mapped_column(Integer)
    travel_mode: Mapped[str] = mapped_column(String(16))
    speed_kmh: Mapped[float] = mapped_column(Float)
    qualifications: Mapped[list[Any]] = mapped_column(JSON, default=list)
    skills: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Social workers only.
    licence_level: Mapped[str] = mapped_column(String(16), default="none")
    is_supervisor: Mapped[bool] = mapped_column(Boolean, default=False)
    # Volunteers only.
    volunteer_groups: Mapped[list[Any]] = mapped_column(JSON, default=list)
    is_party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    # Organizations only.
    registered_name: Mapped[str | None] = mapped_column(String(200))
    service_categories: Mapped[list[Any]] = mapped_column(JSON, default=list)
    slots_per_day: Mapped[int | None] = mapped_column(Integer)
    coverage_area: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Availability, in the community's local time.
    weekly_shifts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    shift_exceptions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Workload caps; null means no cap.
    max_tasks_per_day: Mapped[int | None] = mapped_column(Integer)
    max_minutes_per_day: Mapped[int | None] = mapped_column(Integer)
    max_tasks_per_week: Mapped[int | None] = mapped_column(Integer)
    max_minutes_per_week: Mapped[int | None] = mapped_column(Integer)
    load_capacity: Mapped[int] = mapped_column(Integer, default=0)
    zone_clearances: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Emergency mode: the emergency team is dispatched only then, and these caps replace the
    # daily ones while the community is in emergency (null: the daily cap stays).
    emergency_team: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    emergency_max_tasks_per_day: Mapped[int | None] = mapped_column(Integer)
    emergency_max_minutes_per_day: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    # Credited by finished assignments, never set through the API.
    points: Mapped[int] = mapped_column(Integer, default=0)
    hours_served: Mapped[int] = mapped_column(Integer, default=0)

    # Loaded with the row: every read of a responder needs its communities for scope and output.
    community_links: Mapped[list[ResponderCommunity]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def location(self) -> dict[str, Any]:
        return self.centre

    @property
    def community_ids(self) -> list[str]:
        return [link.community_id for link in self.community_links]

    def audit_scope(self) -> str | None:
        return self.community_links[0].community_id if self.community_links else None
