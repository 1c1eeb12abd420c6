"""A batch dispatch run: what it plans, how far it got, and the plan it produced."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base
from service.models_base import Entity
from service.types import UTCDateTime

SCOPE_TYPES = ("grid", "community", "street", "district")
MODES = ("preview", "commit")
# assign: who does which request (solver.solve); routes: delivery routes (solver.routes).
KINDS = ("assign", "routes")
STATES = ("queued", "running", "succeeded", "failed", "cancelled", "committed")
PHASES = ("queued", "loading", "solving", "writing", "done")
# A run in one of these will not change again (except succeeded -> committed by commit).
ENDED = frozenset({"succeeded", "failed", "cancelled", "committed"})


class DispatchRun(Entity, Base):
    __tablename__ = "dispatch_run"
    # A plan can hold thousands of rows: the audit trail records that it changed, not a copy.
    audit_masked = frozenset({"plan", "progress"})

    scope_type: Mapped[str] = mapped_column(String(16))
    scope_id: Mapped[str] = mapped_column(String(36), index=True)
    # Resolved when the run is created and checked against the caller; the run never widens.
    community_ids: Mapped[list[Any]] = mapped_column(JSON)
    # None: every submitted request of the scope when the run loads.
    request_ids: Mapped[list[Any] | None] = mapped_column(JSON)
    mode: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default="assign", server_default="assign")
    time_limit_s: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    phase: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Written only in the run's final transaction: a run killed mid-way has none.
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_by_key_id: Mapped[str | None] = mapped_column(ForeignKey("api_key.id"))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)

    def audit_scope(self) -> str | None:
        return self.community_ids[0] if self.community_ids else None


class DispatchRunCommunity(Base):
    """The communities a run covers, one row each, so lists filter by scope in SQL."""

    __tablename__ = "dispatch_run_community"

    run_id: Mapped[str] = mapped_column(ForeignKey("dispatch_run.id"), primary_key=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("community.id"), primary_key=True)


PART_STATES = ("queued", "running", "succeeded", "failed", "cancelled")


class DispatchRunPart(Entity, Base):
    """One independent part of a run split for city scale (service.runs.parts): its own job,
    attempts and heartbeat; its plan is merged into the run's when the last part finishes."""

    __tablename__ = "dispatch_run_part"
    __table_args__ = (UniqueConstraint("run_id", "index", name="uq_dispatch_run_part_index"),)
    audit_masked = frozenset({"plan", "request_ids"})

    run_id: Mapped[str] = mapped_column(ForeignKey("dispatch_run.id"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    community_ids: Mapped[list[Any]] = mapped_column(JSON)
    # The run's open requests of these communities when the run was split.
    request_ids: Mapped[list[Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # host:pid of the process that ran the latest attempt
    worker: Mapped[str | None] = mapped_column(String(200))
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def audit_scope(self) -> str | None:
        return self.community_ids[0] if self.community_ids else None
