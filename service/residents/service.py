"""Rules for residents: a dispatcher keeps its communities' residents, a grid app its grids'."""

from typing import Any

from sqlalchemy.orm import Session

from service.auth.principal import Principal, Role
from service.errors import Forbidden, NotFound, Unprocessable
from service.places import service as places
from service.residents import repository as repo
from service.residents import schemas
from service.residents.models import Resident
from service.types import dump_json
from service.zones import service as zones

EDITORS = (Role.admin, Role.dispatcher, Role.grid_app)


def _can_see(principal: Principal, resident: Resident) -> bool:
    if principal.role is Role.responder:
        # Responders reach a resident only through their own assignments, never directly.
        return False
    if not principal.sees(resident.community_id):
        return False
    return principal.role is not Role.grid_app or resident.grid_id in principal.grid_ids


def get_resident(session: Session, principal: Principal, resident_id: str) -> Resident:
    resident = repo.get(session, resident_id)
    if resident is None or not _can_see(principal, resident):
        raise NotFound("No such resident.")
    return resident


def visible_resident(
    session: Session, principal: Principal, resident_id: str, field: str
) -> Resident:
    """A resident named in a request body: unknown and invisible look the same (422)."""
    resident = repo.get(session, resident_id)
    if resident is None or not _can_see(principal, resident):
        raise Unprocessable.on(field, f"unknown resident {resident_id!r}")
    return resident


def _check_grid(
    session: Session, principal: Principal, community_id: str, grid_id: str | None
) -> None:
    if grid_id is None:
        if principal.role is Role.grid_app:
            # A grid app's residents are those of its grids; one without a grid would vanish.
            raise Unprocessable.on(
                "grid_id", "a grid app must place the resident in one of its grids"
            )
        return
    grid = places.visible_grid(session, principal, grid_id, "grid_id")
    if grid.community_id != community_id:
        raise Unprocessable.on("grid_id", f"grid {grid_id!r} is not in community {community_id!r}")


def create_resident(
    session: Session, principal: Principal, data: schemas.ResidentCreate
) -> Resident:
    if principal.role not in EDITORS:
        raise Forbidden("Only dispatchers, grid apps and admins register residents.")
    places.visible_community(session, principal, data.community_id, "community_id")
    _check_grid(session, principal, data.community_id, data.grid_id)
    resident = Resident(
        community_id=data.community_id,
        grid_id=data.grid_id,
        name=data.name,
        phone=data.phone,
        address=data.address,
        lon=data.location.lon,
        lat=data.location.lat,
        tags=dump_json(data.tags),
        notes=data.notes,
    )
    zones.tag(session, resident)
    session.add(resident)
    session.flush()
    return resident


def update_resident(
    session: Session, principal: Principal, resident_id: str, data: schemas.ResidentUpdate
) -> Resident:
    resident = get_resident(session, principal, resident_id)
    if principal.role not in EDITORS:
        raise Forbidden("Only dispatchers, grid apps and admins change residents.")
    changes: dict[str, Any] = data.model_dump(exclude_unset=True, mode="json")
    if "grid_id" in changes:
        _check_grid(session, principal, resident.community_id, changes["grid_id"])
    for key, value in changes.items():
        if key == "location":
            resident.lon, resident.lat = value["coordinates"]
        else:
            setattr(resident, key, value)
    if "location" in changes:
        zones.tag(session, resident)
    session.flush()
    return resident
