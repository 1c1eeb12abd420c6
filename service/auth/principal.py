"""Who is calling, and what they may see: resolved once per request from the API key."""

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.auth.models import ApiKey
from service.config import get_settings
from service.db import forget_on_commit, get_session
from service.errors import Forbidden, NotFound, Unauthorized
from service.places.models import Community, Grid
from service.types import utcnow

KEY_HEADER = "X-API-Key"


class Role(StrEnum):
    grid_app = "grid_app"
    responder = "responder"
    dispatcher = "dispatcher"
    admin = "admin"


@dataclass(frozen=True)
class Principal:
    key_id: str | None
    role: Role
    # None means every community (admin); otherwise the communities this caller may see.
    community_ids: frozenset[str] | None
    grid_ids: frozenset[str] = frozenset()
    responder_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    def sees(self, community_id: str | None) -> bool:
        return self.community_ids is None or community_id in self.community_ids

    def require_community(self, community_id: str | None) -> None:
        """Refuse, as 'not found', an object of a community the caller may not see."""
        if not self.sees(community_id):
            raise NotFound("No such object.")


SYSTEM = Principal(key_id=None, role=Role.admin, community_ids=None)


def hash_key(secret: str) -> str:
    pepper = get_settings().key_pepper.encode()
    return hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


def generate_key() -> tuple[str, str]:
    """A new key and its lookup prefix: ``wsk_<prefix>_<secret>``."""
    prefix = secrets.token_hex(6)
    return f"wsk_{prefix}_{secrets.token_urlsafe(24)}", prefix


def _prefix_of(key: str) -> str | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "wsk" or not parts[1]:
        return None
    return parts[1]


def _communities_of(session: Session, key: ApiKey) -> frozenset[str] | None:
    role = Role(key.role)
    if role is Role.admin:
        return None
    ids = set(key.community_ids or [])
    if key.street_id:
        ids |= set(
            session.scalars(select(Community.id).where(Community.street_id == key.street_id))
        )
    if role is Role.grid_app and key.grid_ids:
        ids |= set(session.scalars(select(Grid.community_id).where(Grid.id.in_(key.grid_ids))))
    if role is Role.responder and key.responder_id:
        from service.responders.repository import community_ids_of_responder

        ids |= set(community_ids_of_responder(session, key.responder_id))
    return frozenset(ids)


@dataclass(frozen=True)
class _Checked:
    principal: Principal
    expires_at: datetime | None
    until: float  # _clock() after which the key is read again


# Keys checked lately, by their hash (so only a key that matched is ever found here).
_checked: dict[str, _Checked] = {}
_checked_lock = threading.Lock()
CHECKED_MAX = 10_000
# The rows a principal is made of: a commit that changes any of them empties the cache. A
# responder is there for its community links: removing one shows in the flush as a change
# of the responder, not always as a deleted link.
_SCOPE_TABLES = frozenset({"api_key", "community", "grid", "responder", "responder_community"})
_clock = time.monotonic


def _unexpired(key_expires_at: datetime | None) -> None:
    if key_expires_at is not None and key_expires_at <= utcnow():
        raise Unauthorized("The API key has expired.")


def checked(presented: str | None) -> Principal | None:
    """The caller, if its key was checked within ``key_cache_s``; None: read it."""
    if not presented or not _checked:
        return None
    hit = _checked.get(hash_key(presented))
    if hit is None or hit.until <= _clock():
        return None
    _unexpired(hit.expires_at)
    return hit.principal


def forget_checked_keys() -> None:
    with _checked_lock:
        _checked.clear()


def authenticate(session: Session, presented: str | None) -> Principal:
    if not presented:
        raise Unauthorized(f"Send an API key in the {KEY_HEADER} header.")
    prefix = _prefix_of(presented)
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix)) if prefix else None
    digest = hash_key(presented)
    if key is None or not hmac.compare_digest(key.key_hash, digest):
        raise Unauthorized("The API key is not valid.")
    if key.revoked_at is not None:
        raise Unauthorized("The API key has been revoked.")
    _unexpired(key.expires_at)
    principal = Principal(
        key_id=key.id,
        role=Role(key.role),
        community_ids=_communities_of(session, key),
        grid_ids=frozenset(key.grid_ids or []),
        responder_id=key.responder_id,
    )
    ttl = get_settings().key_cache_s
    if ttl > 0:
        with _checked_lock:
            if len(_checked) >= CHECKED_MAX:
                _checked.clear()
            _checked[digest] = _Checked(principal, key.expires_at, _clock() + ttl)
    return principal


forget_on_commit(_SCOPE_TABLES, forget_checked_keys)


_header = APIKeyHeader(name=KEY_HEADER, auto_error=False, description="Wushe API key")
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def current_principal(
    request: Request, session: SessionDep, presented: Annotated[str | None, Depends(_header)]
) -> Principal:
    # A key checked a moment ago is answered here, on the event loop; only a key read from
    # the database takes a worker thread.
    principal = checked(presented) or await run_in_threadpool(authenticate, session, presented)
    session.info["actor"] = principal
    request.state.principal = principal
    return principal


def require(*roles: Role) -> Callable[..., Principal]:
    """Dependency: the caller, if its role is one of ``roles`` (admin always passes)."""
    allowed = set(roles) | {Role.admin}

    # Async: a role check needs no worker thread.
    async def dependency(
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"The {principal.role.value} role may not do this.")
        return principal

    # The access test reads this to try every route with every weaker role.
    dependency.allowed_roles = frozenset(allowed)  # type: ignore[attr-defined]
    return dependency
