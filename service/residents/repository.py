"""Every query about residents; lists are already narrowed to what the caller may see."""

from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from service.auth.principal import Principal, Role
from service.pagination import PageParams, fetch_page
from service.residents.models import Resident


def get(session: Session, resident_id: str) -> Resident | None:
    return session.get(Resident, resident_id)


def list_residents(
    session: Session,
    principal: Principal,
    page: PageParams,
    community_id: str | None,
    grid_id: str | None,
    tag: str | None,
):  # type: ignore[no-untyped-def]
    stmt = select(Resident)
    if principal.community_ids is not None:
        stmt = stmt.where(Resident.community_id.in_(principal.community_ids))
    if principal.role is Role.grid_app:
        stmt = stmt.where(Resident.grid_id.in_(principal.grid_ids))
    if community_id:
        stmt = stmt.where(Resident.community_id == community_id)
    if grid_id:
        stmt = stmt.where(Resident.grid_id == grid_id)
    if tag:
        # Tags are a closed vocabulary of [a-z_] words, so the quoted word inside the JSON
        # text matches exactly one element; this works alike on SQLite and PostgreSQL.
        stmt = stmt.where(cast(Resident.tags, String).contains(f'"{tag}"', autoescape=True))
    return fetch_page(session, stmt, Resident.id, page)
