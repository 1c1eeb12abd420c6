"""Every query about places; each list is already narrowed to what the caller may see."""

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from service.auth.principal import Principal, Role
from service.pagination import PageParams, fetch_page
from service.places.models import Community, District, Grid, Street


def _communities_visible(stmt: Select, principal: Principal) -> Select:  # type: ignore[type-arg]
    if principal.community_ids is None:
        return stmt
    return stmt.where(Community.id.in_(principal.community_ids))


def list_districts(session: Session, principal: Principal, page: PageParams, code: str | None):  # type: ignore[no-untyped-def]
    stmt = select(District)
    if principal.community_ids is not None:
        stmt = stmt.where(
            District.id.in_(
                select(Street.district_id)
                .join(Community, Community.street_id == Street.id)
                .where(Community.id.in_(principal.community_ids))
            )
        )
    if code:
        stmt = stmt.where(District.code == code)
    return fetch_page(session, stmt, District.id, page)


def list_streets(
    session: Session,
    principal: Principal,
    page: PageParams,
    district_id: str | None,
    code: str | None,
):  # type: ignore[no-untyped-def]
    stmt = select(Street)
    if principal.community_ids is not None:
        stmt = stmt.where(
            Street.id.in_(
                select(Community.street_id).where(Community.id.in_(principal.community_ids))
            )
        )
    if district_id:
        stmt = stmt.where(Street.district_id == district_id)
    if code:
        stmt = stmt.where(Street.code == code)
    return fetch_page(session, stmt, Street.id, page)


def list_communities(
    session: Session,
    principal: Principal,
    page: PageParams,
    street_id: str | None,
    code: str | None,
):  # type: ignore[no-untyped-def]
    stmt = _communities_visible(select(Community), principal)
    if street_id:
        stmt = stmt.where(Community.street_id == street_id)
    if code:
        stmt = stmt.where(Community.code == code)
    return fetch_page(session, stmt, Community.id, page)


def list_grids(
    session: Session,
    principal: Principal,
    page: PageParams,
    community_id: str | None,
    code: str | None,
):  # type: ignore[no-untyped-def]
    stmt = select(Grid)
    if principal.community_ids is not None:
        stmt = stmt.where(Grid.community_id.in_(principal.community_ids))
    if principal.role is Role.grid_app:
        stmt = stmt.where(Grid.id.in_(principal.grid_ids))
    if community_id:
        stmt = stmt.where(Grid.community_id == community_id)
    if code:
        stmt = stmt.where(Grid.code == code)
    return fetch_page(session, stmt, Grid.id, page)


def get_district(session: Session, district_id: str) -> District | None:
    return session.get(District, district_id)


def get_street(session: Session, street_id: str) -> Street | None:
    return session.get(Street, street_id)


def get_community(session: Session, community_id: str) -> Community | None:
    return session.get(Community, community_id)


def get_grid(session: Session, grid_id: str) -> Grid | None:
    return session.get(Grid, grid_id)


# Built once: every request a grid app files reads it (building it and its cache key per
# call cost about half again what running it does).
_GRID_AND_COMMUNITY = (
    select(Grid, Community)
    .join(Community, Community.id == Grid.community_id)
    .where(Grid.id == bindparam("grid_id"))
)


def load_grid_and_community(session: Session, grid_id: str) -> tuple[Grid, Community] | None:
    """Both rows in one statement; while the caller holds them, session.get finds either in
    the identity map without a query."""
    row = session.execute(_GRID_AND_COMMUNITY, {"grid_id": grid_id}).first()
    return None if row is None else (row[0], row[1])


def code_taken(session: Session, model: type, code: str) -> bool:
    return session.scalar(select(model.id).where(model.code == code)) is not None  # type: ignore[attr-defined]


def district_has_visible(session: Session, district_id: str, principal: Principal) -> bool:
    if principal.community_ids is None:
        return True
    stmt = (
        select(Community.id)
        .join(Street, Community.street_id == Street.id)
        .where(Street.district_id == district_id, Community.id.in_(principal.community_ids))
        .limit(1)
    )
    return session.scalar(stmt) is not None


def street_has_visible(session: Session, street_id: str, principal: Principal) -> bool:
    if principal.community_ids is None:
        return True
    stmt = select(Community.id).where(
        Community.street_id == street_id, Community.id.in_(principal.community_ids)
    )
    return session.scalar(stmt.limit(1)) is not None
