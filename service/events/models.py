"""The outbox: one row per domain change, written in the transaction that made the change.

Deliberately not an ``Entity``: the audit recorder audits only Entity subclasses, and an
outbox row is itself an append-only record, so auditing it would only double the writes.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from service.db import Base
from service.types import UTCDateTime, utcnow

# SQLite needs a plain INTEGER primary key to make it autoincrement (the rowid).
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class current_tx(FunctionElement[int]):  # noqa: N801  (reads like the SQL function it renders)
    """The writing transaction's id on PostgreSQL; 0 elsewhere.

    A sequence alone cannot order an outbox: a transaction that took seq 5 may commit after a
    reader already moved past seq 6 and the event would be skipped forever. Ordering by the
    transaction id and only reading rows of transactions older than every running one (see
    repository.settled) closes that gap. SQLite has a single writer, so seq order is enough.
    """

    type = BigInteger()
    inherit_cache = True


@compiles(current_tx)
def _current_tx_default(element: current_tx, compiler: SQLCompiler, **kw: Any) -> str:
    return "0"


@compiles(current_tx, "postgresql")
def _current_tx_pg(element: current_tx, compiler: SQLCompiler, **kw: Any) -> str:
    return "pg_current_xact_id()::text::bigint"


class Event(Base):
    __tablename__ = "event"
    __table_args__ = (
        Index("ix_event_tx_id", "tx", "id"),
        Index("ix_event_community_id", "community_id"),
        Index("ix_event_responder_id", "responder_id"),
    )

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    tx: Mapped[int] = mapped_column(BigInteger, default=current_tx())
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    community_id: Mapped[str] = mapped_column(String(36))
    # Whose feed the event also belongs to: the responder it concerns, and the grid of the
    # request it is about (grid apps follow only their grids).
    responder_id: Mapped[str | None] = mapped_column(String(36))
    grid_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(36))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
