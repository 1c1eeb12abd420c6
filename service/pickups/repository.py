"""Every query about pickup points, and the few other reads a routes run needs."""

from collections.abc import Iterable

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from service.auth.principal import Principal
from service.pagination import PageParams, fetch_page
from service.pickups.models import PickupPoint
from service.residents.models import Resident
from service.zones.models import Zone


def _visible(stmt: Select, principal: Principal) -> Select:  # type: ignore[type-arg]
    if principal.community_ids is None:
        return stmt
    return stmt.where(PickupPoint.community_id.in_(principal.community_ids))


def list_points(  # type: ignore[no-untyped-def]
    session: Session,
    principal: Principal,
    page: PageParams,
    community_id: str | None,
    active: bool | None,
):
    stmt = _visible(select(PickupPoint), principal)
    if community_id:
        stmt = stmt.where(PickupPoint.community_id == community_id)
    if active is not None:
        stmt = stmt.where(PickupPoint.active == active)
    return fetch_page(session, stmt, PickupPoint.id, page)


def get_point(session: Session, point_id: str) -> PickupPoint | None:
    return session.get(PickupPoint, point_id)


def active_points(session: Session, community_ids: Iterable[str]) -> list[PickupPoint]:
    stmt = select(PickupPoint).where(
        PickupPoint.community_id.in_(list(community_ids)), PickupPoint.active.is_(True)
    )
    return list(session.scalars(stmt.order_by(PickupPoint.id)))


def lock_points(session: Session, point_ids: Iterable[str]) -> dict[str, PickupPoint]:
    """Pickup points locked in id order (after requests and responders, see route commits)."""
    ids = sorted(set(point_ids))
    if not ids:
        return {}
    stmt = (
        select(PickupPoint)
        .where(PickupPoint.id.in_(ids))
        .order_by(PickupPoint.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {p.id: p for p in session.scalars(stmt)}


def zones_by_id(session: Session, zone_ids: Iterable[str | None]) -> dict[str, Zone]:
    ids = sorted({z for z in zone_ids if z})
    if not ids:
        return {}
    return {z.id: z for z in session.scalars(select(Zone).where(Zone.id.in_(ids)))}


def residents_by_id(session: Session, resident_ids: Iterable[str | None]) -> dict[str, Resident]:
    ids = sorted({r for r in resident_ids if r})
    if not ids:
        return {}
    return {r.id: r for r in session.scalars(select(Resident).where(Resident.id.in_(ids)))}
