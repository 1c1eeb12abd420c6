"""Every query over the outbox; the feed is already narrowed to what the caller may see."""

from sqlalchemy import BigInteger, Select, String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from service.auth.principal import Principal, Role
from service.events.models import Event


def visible_to(stmt: Select, principal: Principal) -> Select:  # type: ignore[type-arg]
    """Responders see their own events, grid apps their grids', dispatchers their communities'."""
    if principal.is_admin:
        return stmt
    if principal.role is Role.responder:
        return stmt.where(Event.responder_id == principal.responder_id)
    stmt = stmt.where(Event.community_id.in_(principal.community_ids or ()))
    if principal.role is Role.grid_app:
        stmt = stmt.where(Event.grid_id.in_(principal.grid_ids))
    return stmt


def settled(session: Session, stmt: Select) -> Select:  # type: ignore[type-arg]
    """Only rows whose writing transaction is older than every running one (PostgreSQL).

    Such rows can never be joined by a row with a smaller (tx, id), so a cursor past them
    is safe. A transaction still running holds its events back until it ends.
    """
    if session.get_bind().dialect.name != "postgresql":
        return stmt
    xmin = cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), String), BigInteger)
    return stmt.where(Event.tx < xmin)


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
