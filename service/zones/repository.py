"""Every query over zones and the rows they tag."""

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from service.auth.principal import Principal
from service.pagination import PageParams, fetch_page
from service.requests.models import FINAL_STATES, ServiceRequest
from service.residents.models import Resident
from service.zones.models import Zone


def _visible(stmt: Select, principal: Principal) -> Select:  # type: ignore[type-arg]
    if principal.community_ids is None:
        return stmt
    return stmt.where(Zone.community_id.in_(principal.community_ids))


def list_zones(  # type: ignore[no-untyped-def]
    session: Session,
    principal: Principal,
    page: PageParams,
    community_id: str | None,
    status: str | None,
):
    stmt = _visible(select(Zone), principal)
    if community_id:
        stmt = stmt.where(Zone.community_id == community_id)
    if status:
        stmt = stmt.where(Zone.status == status)
    return fetch_page(session, stmt, Zone.id, page)


def get_zone(session: Session, zone_id: str) -> Zone | None:
    return session.get(Zone, zone_id)


def open_requests(session: Session, community_id: str) -> list[ServiceRequest]:
    stmt = select(ServiceRequest).where(
        ServiceRequest.community_id == community_id,
        ServiceRequest.state.not_in(FINAL_STATES),
    )
    return list(session.scalars(stmt.order_by(ServiceRequest.id)))


def residents(session: Session, community_id: str) -> list[Resident]:
    stmt = select(Resident).where(Resident.community_id == community_id)
    return list(session.scalars(stmt.order_by(Resident.id)))


def zones_to_check(session: Session) -> list[Zone]:
    """Zones whose tagging may be out of date with the clock (in force or flagged so)."""
    return list(session.scalars(select(Zone).order_by(Zone.id)))
