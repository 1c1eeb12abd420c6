from datetime import datetime

from sqlalchemy import JSON, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base
from service.types import UTCDateTime


class IdempotencyRecord(Base):
    """One answered POST, kept so a retry with the same key gets the same answer.

    Written in the transaction of the effect it answers: a committed row always has its
    response, and an uncommitted one (the first attempt still running) holds the unique
    (api_key_id, key) entry, which is how a concurrent retry learns it is in flight. Not an
    audited entity: the stored answer may hold personal data the audit trail must not copy.
    """

    __tablename__ = "idempotency_record"
    __table_args__ = (
        UniqueConstraint("api_key_id", "key", name="uq_idempotency_record_api_key_id_key"),
        Index("ix_idempotency_record_expires_at", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # The caller's key id: the same Idempotency-Key from two callers names two requests.
    api_key_id: Mapped[str] = mapped_column(String(36))
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(2000))
    # sha256 of method, path, query and the body (JSON compared by value, not by spacing).
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[list[list[str]] | None] = mapped_column(JSON)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
