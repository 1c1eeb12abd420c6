"""Rules for responders: kind-specific fields, scope by served community, self-service shifts."""

from typing import Any

from sqlalchemy.orm import Session

from service.audit import recorder as audit
from service.auth.principal import Principal, Role
from service.errors import Forbidden, NotFound, Unprocessable
from service.places import service as places
from service.responders import repository as repo
from service.responders import schemas
from service.responders.models import Responder, ResponderCommunity
from service.types import dump_json

DEFAULT_SPEED_KMH = {"walk": 4.5, "bicycle": 12.0, "ebike": 18.0, "car": 25.0}

# Fields that mean something for one kind only, with the value every other kind must keep.
KIND_FIELDS: dict[str, tuple[str, Any]] = {
    "licence_level": ("social_worker", "none"),
    "is_supervisor": ("social_worker", False),
    "volunteer_groups": ("volunteer", []),
    "is_party_member": ("volunteer", False),
    "registered_name": ("organization", None),
    "service_categories": ("organization", []),
    "slots_per_day": ("organization", None),
    "coverage_area": ("organization", None),
}

# What a responder may change about itself: when it can work, and whether it is available.
SELF_SERVICE = frozenset({"weekly_shifts", "shift_exceptions", "active"})


def _can_see(principal: Principal, responder: Responder) -> bool:
    if principal.role is Role.responder:
        return responder.id == principal.responder_id
    return any(principal.sees(cid) for cid in responder.community_ids)


def get_responder(session: Session, principal: Principal, responder_id: str) -> Responder:
    responder = repo.get(session, responder_id)
    if responder is None or not _can_see(principal, responder):
        raise NotFound("No such responder.")
    return responder


def visible_responder(
    session: Session, principal: Principal, responder_id: str, field: str
) -> Responder:
    """A responder named in a request body: unknown and invisible look the same (422)."""
    responder = repo.get(session, responder_id)
    if responder is None or not _can_see(principal, responder):
        raise Unprocessable.on(field, f"unknown responder {responder_id!r}")
    return responder


def _check_kind(kind: str, values: dict[str, Any]) -> None:
    for field, (owner, neutral) in KIND_FIELDS.items():
        if kind != owner and values.get(field, neutral) != neutral:
            raise Unprocessable.on(field, f"{field} applies to {owner} responders only, not {kind}")
    if kind == "organization" and not values.get("registered_name"):
        raise Unprocessable.on("registered_name", "an organization needs its registered name")


def _check_categories(session: Session, codes: list[str]) -> None:
    if codes:
        # Imported here: the catalogue domain depends on nothing of ours and may load later.
        from service.catalogue.service import require_categories

        require_categories(session, codes, "service_categories")


def _visible_communities(
    session: Session, principal: Principal, community_ids: list[str]
) -> list[str]:
    for i, community_id in enumerate(community_ids):
        places.visible_community(session, principal, community_id, f"community_ids.{i}")
    return list(dict.fromkeys(community_ids))


def create_responder(
    session: Session, principal: Principal, data: schemas.ResponderCreate
) -> Responder:
    if principal.role not in (Role.admin, Role.dispatcher):
        raise Forbidden("Only dispatchers and admins register responders.")
    values = data.model_dump(mode="json")
    _check_kind(data.kind.value, values)
    community_ids = _visible_communities(session, principal, values.pop("community_ids"))
    _check_categories(session, values["service_categories"])
    location = values.pop("location")
    if values["speed_kmh"] is None:
        values["speed_kmh"] = DEFAULT_SPEED_KMH[values["travel_mode"]]
    responder = Responder(
        **values,
        lon=location["coordinates"][0],
        lat=location["coordinates"][1],
        community_links=[ResponderCommunity(community_id=cid) for cid in community_ids],
    )
    session.add(responder)
    session.flush()
    return responder


def _merged(responder: Responder, changes: dict[str, Any]) -> dict[str, Any]:
    current = {field: getattr(responder, field) for field in KIND_FIELDS}
    return current | {k: v for k, v in changes.items() if k in KIND_FIELDS}


def _set_communities(
    session: Session, principal: Principal, responder: Responder, requested: list[str]
) -> None:
    wanted = _visible_communities(session, principal, requested)
    # A dispatcher cannot drop a community it does not see: those links stay as they are.
    kept_hidden = [cid for cid in responder.community_ids if not principal.sees(cid)]
    target = list(dict.fromkeys(wanted + kept_hidden))
    existing = {link.community_id: link for link in responder.community_links}
    if set(target) != set(existing):
        # The links are rows of their own; the responder's audit entry says what changed.
        audit.record(
            session,
            responder,
            "update",
            {"community_ids": sorted(existing)},
            {"community_ids": sorted(target)},
        )
    responder.community_links = [
        existing.get(cid) or ResponderCommunity(community_id=cid) for cid in target
    ]


def update_responder(
    session: Session, principal: Principal, responder_id: str, data: schemas.ResponderUpdate
) -> Responder:
    responder = get_responder(session, principal, responder_id)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True, mode="json")
    if principal.role is Role.responder:
        refused = sorted(set(changes) - SELF_SERVICE)
        if refused:
            raise Forbidden(
                "A responder may change only its shifts and availability, "
                f"not {', '.join(refused)}."
            )
    elif principal.role not in (Role.admin, Role.dispatcher):
        raise Forbidden("Only dispatchers and admins change responders.")
    _check_kind(responder.kind, _merged(responder, changes))
    if "service_categories" in changes:
        _check_categories(session, changes["service_categories"])
    if "community_ids" in changes:
        _set_communities(session, principal, responder, changes.pop("community_ids"))
    if "travel_mode" in changes and "speed_kmh" not in changes:
        # A new way of travelling makes the old speed meaningless unless one is given.
        changes["speed_kmh"] = DEFAULT_SPEED_KMH[changes["travel_mode"]]
    for key, value in changes.items():
        if key == "location":
            responder.lon, responder.lat = value["coordinates"]
        else:
            setattr(responder, key, dump_json(value))
    session.flush()
    return responder
