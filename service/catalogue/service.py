"""Rules for the service catalogue: everyone reads it, only an admin changes it."""

from collections.abc import Sequence

from sqlalchemy.orm import Session

from service.auth.principal import Principal, Role
from service.catalogue import repository as repo
from service.catalogue import schemas
from service.catalogue.models import ServiceCategory
from service.errors import Conflict, Forbidden, NotFound, Unprocessable


def _admin_only(principal: Principal) -> None:
    if principal.role is not Role.admin:
        raise Forbidden("Only an admin may change the service catalogue.")


def _unknown(code: str, field: str) -> Unprocessable:
    return Unprocessable.on(field, f"unknown category {code!r}")


def require_category(session: Session, code: str, field: str) -> ServiceCategory:
    """A category named in a request body; unknown and inactive ones are both refused (422)."""
    category = repo.get_by_code(session, code)
    if category is None or not category.active:
        raise _unknown(code, field)
    return category


def require_categories(session: Session, codes: Sequence[str], field: str) -> list[ServiceCategory]:
    """Every code must name an active category; one query for the lot, answered in order."""
    found = repo.get_by_codes(session, codes)
    for code in codes:
        category = found.get(code)
        if category is None or not category.active:
            raise _unknown(code, field)
    return [found[code] for code in codes]


def get_category(session: Session, code: str) -> ServiceCategory:
    category = repo.get_by_code(session, code)
    if category is None:
        raise NotFound("No such service category.")
    return category


def create_category(
    session: Session, principal: Principal, data: schemas.CategoryCreate
) -> ServiceCategory:
    _admin_only(principal)
    if repo.get_by_code(session, data.code) is not None:
        raise Conflict(f"A service category with code {data.code!r} already exists.")
    category = ServiceCategory(**data.model_dump(mode="json"))
    session.add(category)
    session.flush()
    return category


def update_category(
    session: Session, principal: Principal, code: str, data: schemas.CategoryUpdate
) -> ServiceCategory:
    _admin_only(principal)
    category = get_category(session, code)
    for key, value in data.model_dump(exclude_unset=True, mode="json").items():
        setattr(category, key, value)
    session.flush()
    return category
