"""Rules for the service catalogue: everyone reads it, only an admin changes it."""

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from service.auth.principal import Principal, Role
from service.catalogue import repository as repo
from service.catalogue import schemas
from service.catalogue.models import ServiceCategory
from service.config import get_settings
from service.db import forget_on_commit
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


@dataclass(frozen=True)
class Defaults:
    """What a new request takes from its category unless it says otherwise: a snapshot, safe
    to share between threads (the lists are handed out as fresh copies)."""

    code: str
    default_duration_min: int
    min_licence: str
    qualifications: tuple[str, ...]
    team_json: str

    @property
    def required_qualifications(self) -> list[str]:
        return list(self.qualifications)

    @property
    def default_team(self) -> list[Any]:
        return list(json.loads(self.team_json))


# Active categories' defaults by code, with the time.monotonic() after which they are read
# again. Every request filed reads its category: from here, no query.
_defaults: dict[str, tuple[Defaults, float]] = {}
_defaults_lock = threading.Lock()
_clock = time.monotonic


def forget_defaults() -> None:
    with _defaults_lock:
        _defaults.clear()


forget_on_commit(frozenset({ServiceCategory.__tablename__}), forget_defaults)


def category_defaults(session: Session, code: str, field: str) -> Defaults:
    """require_category for filing a request, answered from memory for up to
    ``catalogue_cache_s`` after the category was read."""
    hit = _defaults.get(code)
    if hit is not None and hit[1] > _clock():
        return hit[0]
    category = require_category(session, code, field)
    found = Defaults(
        code=category.code,
        default_duration_min=category.default_duration_min,
        min_licence=category.min_licence,
        qualifications=tuple(category.required_qualifications or ()),
        team_json=json.dumps(category.default_team or []),
    )
    ttl = get_settings().catalogue_cache_s
    if ttl > 0:
        with _defaults_lock:
            _defaults[code] = (found, _clock() + ttl)
    return found


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
