"""Every query about the service catalogue (not community-scoped: everyone reads it)."""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.catalogue.models import ServiceCategory
from service.pagination import PageParams, fetch_page


def list_categories(session: Session, page: PageParams, active: bool | None):  # type: ignore[no-untyped-def]
    stmt = select(ServiceCategory)
    if active is not None:
        stmt = stmt.where(ServiceCategory.active == active)
    return fetch_page(session, stmt, ServiceCategory.id, page)


def get_by_code(session: Session, code: str) -> ServiceCategory | None:
    return session.scalar(select(ServiceCategory).where(ServiceCategory.code == code))


def get_by_codes(session: Session, codes: Iterable[str]) -> dict[str, ServiceCategory]:
    stmt = select(ServiceCategory).where(ServiceCategory.code.in_(set(codes)))
    return {category.code: category for category in session.scalars(stmt)}
