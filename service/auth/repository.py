from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth.models import ApiKey
from service.auth.principal import Principal
from service.pagination import PageParams, fetch_page


def get(session: Session, key_id: str) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def list_keys(session: Session, principal: Principal, page: PageParams, role: str | None):  # type: ignore[no-untyped-def]
    stmt = select(ApiKey)
    if not principal.is_admin:
        # Dispatchers see the keys they issued; scoping by JSON column is not portable.
        stmt = stmt.where(ApiKey.created_by == principal.key_id)
    if role:
        stmt = stmt.where(ApiKey.role == role)
    return fetch_page(session, stmt, ApiKey.id, page)
