"""Issuing and revoking API keys: dispatchers may issue weaker keys inside their own scope."""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from service.audit.recorder import name_action
from service.auth import repository as repo
from service.auth.models import ApiKey
from service.auth.principal import Principal, Role, generate_key, hash_key
from service.auth.schemas import ApiKeyCreate
from service.errors import Forbidden, NotFound, Unprocessable
from service.places import repository as places_repo
from service.places import service as places
from service.types import utcnow

DEFAULT_LIFETIME = timedelta(days=365)


def _check_scope(session: Session, principal: Principal, data: ApiKeyCreate) -> None:
    if data.role in (Role.admin, Role.dispatcher) and not principal.is_admin:
        raise Forbidden("Only an admin issues admin and dispatcher keys.")
    if data.street_id is not None:
        if not principal.is_admin:
            raise Forbidden("Only an admin issues street-wide keys.")
        if places_repo.get_street(session, data.street_id) is None:
            raise Unprocessable.on("street_id", f"unknown street {data.street_id!r}")
    for i, community_id in enumerate(data.community_ids):
        places.visible_community(session, principal, community_id, f"community_ids.{i}")
    for i, grid_id in enumerate(data.grid_ids):
        places.visible_grid(session, principal, grid_id, f"grid_ids.{i}")
    if data.role is Role.grid_app and not data.grid_ids:
        raise Unprocessable.on("grid_ids", "a grid_app key needs at least one grid")
    if data.role is Role.dispatcher and not (data.community_ids or data.street_id):
        raise Unprocessable.on("community_ids", "a dispatcher key needs communities or a street")
    if data.role is Role.responder:
        if data.responder_id is None:
            raise Unprocessable.on("responder_id", "a responder key needs its responder")
        from service.responders import service as responders

        responders.visible_responder(session, principal, data.responder_id, "responder_id")


def create(session: Session, principal: Principal, data: ApiKeyCreate) -> tuple[ApiKey, str]:
    _check_scope(session, principal, data)
    expires_at: datetime = data.expires_at or utcnow() + DEFAULT_LIFETIME
    if expires_at <= utcnow():
        raise Unprocessable.on("expires_at", "the expiry must lie in the future")
    secret, prefix = generate_key()
    key = ApiKey(
        name=data.name,
        prefix=prefix,
        key_hash=hash_key(secret),
        role=data.role.value,
        street_id=data.street_id,
        community_ids=list(data.community_ids),
        grid_ids=list(data.grid_ids),
        responder_id=data.responder_id,
        created_by=principal.key_id,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return key, secret


def _visible(principal: Principal, key: ApiKey | None) -> ApiKey:
    if key is None or not (principal.is_admin or key.created_by == principal.key_id):
        raise NotFound("No such API key.")
    return key


def get(session: Session, principal: Principal, key_id: str) -> ApiKey:
    return _visible(principal, repo.get(session, key_id))


def revoke(session: Session, principal: Principal, key_id: str) -> ApiKey:
    key = get(session, principal, key_id)
    if key.revoked_at is None:
        name_action(session, key.id, "revoke")
        key.revoked_at = utcnow()
        session.flush()
    return key
