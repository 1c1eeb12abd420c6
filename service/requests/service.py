"""Rules for service requests: who may file them, what they must reference, what they default to."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.audit import recorder as audit
from service.auth.principal import Principal, Role
from service.emergency import service as emergency
from service.errors import Conflict, FieldError, Forbidden, NotFound, Unprocessable
from service.places import repository as places_repo
from service.places import service as places
from service.places.models import Community
from service.requests import repository as repo
from service.requests import schemas
from service.requests.models import ServiceRequest
from service.residents.models import Resident
from service.types import dump_json, new_id
from service.zones import service as zones

# What PATCH may touch, and only while the request is still submitted.
EDITABLE_STATE = "submitted"


def _duplicate(source: str, external_id: str | None) -> Conflict:
    message = f"a request from {source} with external id {external_id!r} already exists"
    return Conflict(message, [FieldError(field="external_id", message=message, type="unique")])


def _check_window(start: datetime, end: datetime) -> None:
    if end <= start:
        raise Unprocessable.on("window_end", "the window must end after it starts")


def get_request(session: Session, principal: Principal, request_id: str) -> ServiceRequest:
    found = repo.get_visible(session, principal, request_id)
    if found is None:
        raise NotFound("No such service request.")
    return found


def visible_request(
    session: Session, principal: Principal, request_id: str, field: str
) -> ServiceRequest:
    """A request named in a body: unknown and invisible look the same (422)."""
    found = repo.get_visible(session, principal, request_id)
    if found is None:
        raise Unprocessable.on(field, f"unknown request {request_id!r}")
    return found


def _place(
    session: Session, principal: Principal, data: schemas.RequestCreate
) -> tuple[Community, str | None]:
    """The request's community and grid; a grid app must file in one of its own grids."""
    if principal.role is Role.grid_app and data.grid_id is None:
        raise Unprocessable.on("grid_id", "a grid app files requests in one of its grids")
    # The grid and its community in one statement (grid apps name a grid): the checks below
    # then read both without a query while this holds them.
    _held = places_repo.load_grid_and_community(session, data.grid_id) if data.grid_id else None
    grid = (
        places.visible_grid(session, principal, data.grid_id, "grid_id") if data.grid_id else None
    )
    community_id = data.community_id or (grid.community_id if grid else None)
    if community_id is None:
        raise Unprocessable.on("community_id", "name the community (or a grid in it)")
    community = places.visible_community(session, principal, community_id, "community_id")
    if grid is not None and grid.community_id != community_id:
        raise Unprocessable.on("grid_id", f"grid {grid.id!r} is not in community {community_id!r}")
    return community, grid.id if grid else None


def _resident(
    session: Session, principal: Principal, resident_id: str | None, community_id: str
) -> Any:
    if resident_id is None:
        return None
    from service.residents import service as residents

    resident = residents.visible_resident(session, principal, resident_id, "resident_id")
    if resident.community_id != community_id:
        raise Unprocessable.on("resident_id", f"resident {resident_id!r} is not in this community")
    return resident


def _location(data: schemas.RequestCreate, resident: Any) -> tuple[float, float]:
    if data.location is not None:
        return data.location.lon, data.location.lat
    if resident is not None:
        return resident.lon, resident.lat
    raise Unprocessable.on("location", "a location is required when no resident is given")


def _source(principal: Principal, data: schemas.RequestCreate) -> str:
    # A grid app cannot pass its requests off as imports or console entries.
    if principal.role is Role.grid_app:
        return "grid_app"
    return data.source or "console"


@contextmanager
def _duplicates_refused(source: str, external_id: str | None) -> Iterator[None]:
    """A request whose source already filed this external id (before, or at this very moment)
    is refused, by the unique index, as a 409 when its insert is flushed. Nothing is read
    beforehand: the refusal ends the transaction, and the import checks its rows itself
    (intake)."""
    try:
        yield
    except IntegrityError as exc:
        if "external_id" in str(exc.orig):
            raise _duplicate(source, external_id) from None
        raise


def create_request(
    session: Session,
    principal: Principal,
    data: schemas.RequestCreate,
    *,
    match: bool = True,
    source: str | None = None,
) -> ServiceRequest:
    """Store a request and, where the community dispatches automatically and ``match`` holds,
    offer it at once (live matching, in this transaction). ``source`` is set by the import,
    whatever the caller's role."""
    if principal.role not in (Role.admin, Role.dispatcher, Role.grid_app):
        raise Forbidden("Only dispatchers and grid apps file service requests.")
    # Held until the request is matched: the session's identity map keeps only weak
    # references, and live matching reads the community again (without a query while held).
    community, grid_id = _place(session, principal, data)
    community_id = community.id
    resident = _resident(session, principal, data.resident_id, community_id)
    from service.catalogue import service as catalogue

    category = catalogue.category_defaults(session, data.category_code, "category_code")
    lon, lat = _location(data, resident)
    _check_window(data.window_start, data.window_end)
    source = source or _source(principal, data)
    request = ServiceRequest(
        id=new_id(),
        community_id=community_id,
        grid_id=grid_id,
        resident_id=data.resident_id,
        category_code=category.code,
        lon=lon,
        lat=lat,
        window_start=data.window_start,
        window_end=data.window_end,
        urgency=data.urgency,
        duration_min=data.duration_min or category.default_duration_min,
        quantity=data.quantity,
        cost_fen=data.cost_fen,
        required_qualifications=list(
            data.required_qualifications
            if data.required_qualifications is not None
            else category.required_qualifications
        ),
        min_licence=data.min_licence or category.min_licence,
        team=dump_json(data.team) if data.team is not None else category.default_team,
        max_distance_m=data.max_distance_m,
        description=data.description,
        source=source,
        external_id=data.external_id,
        state="submitted",
        zone_id=data.zone_id,
        created_by_key_id=principal.key_id,
    )
    if data.zone_id is not None:
        zones.check_zone(session, community_id, data.zone_id, "zone_id")
    else:
        zones.tag(session, request)
    request.urgency_given = data.urgency
    request.urgency = emergency.urgency_for(
        community, request, resident.tags if resident else None
    )
    session.add(request)
    outcome = None
    with _duplicates_refused(source, data.external_id):
        if match:
            from service.dispatch import live

            # Matched in the same transaction: the offer commits with the request or not at
            # all. The request is inserted with its offer, in one flush (the audit trail has
            # its creation as it is now and the offer on top, as if flushed between), or at
            # the end if it is queued. Until then no query flushes it: live matching's reads
            # do not need it in the database.
            audit.created(session, request)
            with session.no_autoflush:
                outcome = live.on_created(session, request)
        session.flush()
    request.dispatch = outcome.as_dict() if outcome is not None else None
    return request


def update_request(
    session: Session, principal: Principal, request_id: str, data: schemas.RequestUpdate
) -> ServiceRequest:
    request = get_request(session, principal, request_id)
    if principal.role not in (Role.admin, Role.dispatcher, Role.grid_app):
        raise Forbidden("Only dispatchers and grid apps change service requests.")
    if request.state != EDITABLE_STATE:
        raise Conflict(
            f"A request can be changed only while submitted; this one is {request.state}."
        )
    changes = data.model_dump(exclude_unset=True, mode="python")
    _check_window(
        changes.get("window_start", request.window_start),
        changes.get("window_end", request.window_end),
    )
    for key, value in changes.items():
        if key == "location":
            request.lon, request.lat = value["coordinates"]
        else:
            setattr(request, key, dump_json(value))
    if "location" in changes:
        zones.tag(session, request)
    if "urgency" in changes or "description" in changes:
        if "urgency" in changes:
            request.urgency_given = request.urgency
        tags = session.get(Resident, request.resident_id).tags if request.resident_id else None
        request.urgency = emergency.urgency_for(
            session.get(Community, request.community_id), request, tags
        )
    session.flush()
    return request
