"""Every query over the outbox; the feed is already narrowed to what the caller may see."""

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    and_,
    column,
    exists,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from service.auth.principal import Principal, Role
from service.events.models import Event


def visible_to(stmt: Select, principal: Principal) -> Select:  # type: ignore[type-arg]
    """Responders see their own events, grid apps their grids', dispatchers their communities'.

    A run's events (subject ``dispatch_run``) go to whoever may read the run: every community
    it covers must be the caller's, as for ``GET /v1/dispatch-runs/{id}``.
    """
    if principal.is_admin:
        return stmt
    if principal.role is Role.responder:
        return stmt.where(Event.responder_id == principal.responder_id)
    mine = list(principal.community_ids or ())
    stmt = stmt.where(Event.community_id.in_(mine))
    if principal.role is Role.grid_app:
        return stmt.where(Event.grid_id.in_(principal.grid_ids))
    return stmt.where(or_(Event.subject_type != "dispatch_run", _run_wholly_in(mine)))


def _run_wholly_in(community_ids: list[str]) -> ColumnElement[bool]:
    from service.runs.models import DispatchRunCommunity

    elsewhere = select(DispatchRunCommunity.run_id).where(
        DispatchRunCommunity.run_id == Event.subject_id,
        DispatchRunCommunity.community_id.not_in(community_ids),
    )
    return ~exists(elsewhere)


# The feed's horizon on PostgreSQL, evaluated in the feed query's own statement snapshot.
#
# Ordering: an event's cursor is (tx, id), tx being the writing transaction's id
# (pg_current_xact_id(), the top-level id even inside a savepoint). A cursor may pass
# (tx, id) only once no transaction of THIS database that could still commit an event has a
# smaller id, or that event would land behind the cursor and be skipped forever.
#
# Horizon h = the smallest id in the snapshot's in-progress list (pg_snapshot_xip) that is
# not positively known to belong to another database, or the snapshot's xmax if none is.
# Rows with tx < h are sound to deliver:
# - a transaction id below xmax that is not in progress has ended: its rows are visible to
#   this statement (committed) or will never be (aborted); nothing more can be written as it;
# - a transaction in progress of this database, or of unknown database, has id >= h;
# - a transaction that starts later, or takes its id later, gets an id >= xmax >= h;
# - an in-progress transaction known to run in another database (pg_stat_activity lists a
#   backend of another datid with that backend_xid, or pg_prepared_xacts a prepared one of
#   another database) can never write this database's outbox. A backend stays connected to
#   one database for its life and ids are never reused within 2^31, so the match is sound
#   even though pg_stat_activity is read at a slightly different moment than the snapshot:
#   an id once seen in another database belongs to it. Hidden or NULL columns (other roles'
#   sessions without pg_read_all_stats, background workers) match nothing: treated as ours.
# The reader's own transaction is not in its snapshot's list: if it has written (an id is
# assigned), the horizon stops below it too (least() ignores the NULL of a read-only one).
# So a long transaction in another database on the same server (a test or bench database)
# no longer holds this feed back, while one in this database still does, as it must.
# backend_xid is a 32-bit xid: compared with the 64-bit xip modulo 2^32 (in-progress ids lie
# within 2^31 of each other, so the low bits identify one).
_HORIZON_SQL = """
SELECT least(coalesce(
    (SELECT min(x::text::bigint)
       FROM pg_snapshot_xip(snap.s) AS x
      WHERE NOT EXISTS (
          SELECT 1 FROM pg_stat_activity a
           WHERE a.backend_xid IS NOT NULL
             AND a.datid IS NOT NULL
             AND a.datid <> (SELECT oid FROM pg_database WHERE datname = current_database())
             AND a.backend_xid::text::bigint = mod(x::text::bigint, 4294967296))
        AND NOT EXISTS (
          SELECT 1 FROM pg_prepared_xacts p
           WHERE p.database <> current_database()
             AND p.transaction::text::bigint = mod(x::text::bigint, 4294967296))),
    pg_snapshot_xmax(snap.s)::text::bigint),
    pg_current_xact_id_if_assigned()::text::bigint) AS horizon
FROM (SELECT pg_current_snapshot() AS s) AS snap
"""


def horizon() -> ColumnElement[int]:
    """The feed's horizon as a scalar subquery (see _HORIZON_SQL): rows of transactions with
    a smaller id are settled for good."""
    sub = text(_HORIZON_SQL).columns(column("horizon", BigInteger)).subquery("horizon")
    return select(sub.c.horizon).scalar_subquery()


def current_horizon(session: Session) -> int:
    """The horizon now (PostgreSQL only); for tests and diagnostics."""
    return int(session.scalar(select(horizon())) or 0)


def settled(session: Session, stmt: Select) -> Select:  # type: ignore[type-arg]
    """Only rows no cursor could ever have to go back for (PostgreSQL); see _HORIZON_SQL.

    SQLite has a single writer that commits in id order, so every visible row is settled.
    """
    if session.get_bind().dialect.name != "postgresql":
        return stmt
    return stmt.where(Event.tx < horizon())


def feed(
    session: Session,
    principal: Principal,
    after: tuple[int, int] | None,
    limit: int,
    *,
    kind: str | None = None,
    community_id: str | None = None,
    subject_id: str | None = None,
) -> list[Event]:
    """Up to ``limit`` events after the cursor, in cursor order."""
    stmt = settled(session, visible_to(select(Event), principal))
    if after is not None:
        tx, seq = after
        stmt = stmt.where(or_(Event.tx > tx, and_(Event.tx == tx, Event.id > seq)))
    if kind is not None:
        stmt = stmt.where(Event.kind == kind)
    if community_id is not None:
        stmt = stmt.where(Event.community_id == community_id)
    if subject_id is not None:
        stmt = stmt.where(Event.subject_id == subject_id)
    return list(session.scalars(stmt.order_by(Event.tx, Event.id).limit(limit)))
