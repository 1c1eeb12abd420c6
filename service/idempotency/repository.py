"""Every query on idempotency records."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy.exc
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session

from service.idempotency.models import IdempotencyRecord

# PostgreSQL's SQLSTATE for "lock_timeout expired".
LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True)
class InFlight:
    """Another transaction holds the same key and has not finished."""


@dataclass(frozen=True)
class Taken:
    """Another transaction committed the same key between our look and our insert."""


def find(session: Session, api_key_id: str, key: str, now: datetime) -> IdempotencyRecord | None:
    stmt = select(IdempotencyRecord).where(
        IdempotencyRecord.api_key_id == api_key_id,
        IdempotencyRecord.key == key,
        IdempotencyRecord.expires_at > now,
    )
    return session.scalar(stmt)


def _is_lock_timeout(exc: sqlalchemy.exc.DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE


def reserve(
    session: Session, row: dict[str, object], now: datetime, wait_ms: int
) -> InFlight | Taken | None:
    """Insert the record (without its answer yet) in the caller's transaction.

    On PostgreSQL a concurrent insert of the same (api_key_id, key) waits on the unique index
    until the first transaction ends; ``lock_timeout`` bounds that wait to ``wait_ms`` so a
    retry in flight is answered 409 instead of queueing behind it. A savepoint keeps the
    request's transaction usable after either refusal. On SQLite the insert waits for the
    single writer, after which the key is committed (Taken) or free.
    """
    key = (IdempotencyRecord.api_key_id == row["api_key_id"]) & (
        IdempotencyRecord.key == row["key"]
    )
    # An expired record of the same key gives way to the new one.
    clear = delete(IdempotencyRecord).where(key, IdempotencyRecord.expires_at <= now)
    try:
        if session.get_bind().dialect.name != "postgresql":
            # No savepoint here: pysqlite's SAVEPOINT outside BEGIN would commit on release.
            # A failed INSERT aborts only itself on SQLite, not the transaction.
            session.execute(clear)
            session.execute(insert(IdempotencyRecord).values(**row))
            return None
        with session.begin_nested():
            previous = session.scalar(text("SELECT current_setting('lock_timeout')"))
            session.execute(
                text("SELECT set_config('lock_timeout', :v, true)"), {"v": f"{wait_ms}ms"}
            )
            session.execute(clear)
            session.execute(insert(IdempotencyRecord).values(**row))
            session.execute(text("SELECT set_config('lock_timeout', :v, true)"), {"v": previous})
    except sqlalchemy.exc.IntegrityError:
        return Taken()
    except sqlalchemy.exc.OperationalError as exc:
        if _is_lock_timeout(exc):
            return InFlight()
        raise
    return None


def store_response(
    session: Session, record_id: str, status_code: int, headers: list[list[str]], body: bytes
) -> None:
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(status_code=status_code, headers=headers, body=body)
    )


def purge_expired(session: Session, now: datetime, limit: int) -> int:
    """Delete up to ``limit`` expired records; returns how many went."""
    ids = list(
        session.scalars(
            select(IdempotencyRecord.id).where(IdempotencyRecord.expires_at <= now).limit(limit)
        )
    )
    if ids:
        session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(ids)))
    return len(ids)
