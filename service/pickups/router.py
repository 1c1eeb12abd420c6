"""Pickup points over HTTP: the places route runs collect boxes from."""

from typing import Annotated

from fastapi import APIRouter, Depends

from service.auth.principal import Principal, Role, SessionDep, require
from service.errors import COMMON, NotFound, responses
from service.pagination import Page, PageParams
from service.pickups import repository as repo
from service.pickups import schemas
from service.pickups import service as pickups

router = APIRouter(prefix="/v1", tags=["pickup points"])

# Dispatchers of the point's community keep it (admins always pass).
Dispatcher = Annotated[Principal, Depends(require(Role.dispatcher))]
Pages = Annotated[PageParams, Depends()]


def _out(point) -> schemas.PickupPointOut:  # type: ignore[no-untyped-def]
    return schemas.PickupPointOut.model_validate(point)


@router.get("/pickup-points", responses=responses(*COMMON))
def list_pickup_points(
    session: SessionDep,
    principal: Dispatcher,
    page: Pages,
    community_id: str | None = None,
    active: bool | None = None,
) -> Page[schemas.PickupPointOut]:
    items, cursor = repo.list_points(session, principal, page, community_id, active)
    return Page(items=[_out(p) for p in items], next_cursor=cursor)


@router.post("/pickup-points", status_code=201, responses=responses(*COMMON))
def create_pickup_point(
    session: SessionDep, principal: Dispatcher, body: schemas.PickupPointCreate
) -> schemas.PickupPointOut:
    """A pharmacy or dispensary with its opening hours and its stock per service category."""
    return _out(pickups.create_point(session, principal, body))


@router.get("/pickup-points/{pickup_point_id}", responses=responses(*COMMON, NotFound))
def get_pickup_point(
    session: SessionDep, principal: Dispatcher, pickup_point_id: str
) -> schemas.PickupPointOut:
    return _out(pickups.get_point(session, principal, pickup_point_id))


@router.patch("/pickup-points/{pickup_point_id}", responses=responses(*COMMON, NotFound))
def update_pickup_point(
    session: SessionDep,
    principal: Dispatcher,
    pickup_point_id: str,
    body: schemas.PickupPointUpdate,
) -> schemas.PickupPointOut:
    """Change hours, stock (replaced as a whole), place or name; `active` retires or restores."""
    return _out(pickups.update_point(session, principal, pickup_point_id, body))


@router.delete("/pickup-points/{pickup_point_id}", responses=responses(*COMMON, NotFound))
def retire_pickup_point(
    session: SessionDep, principal: Dispatcher, pickup_point_id: str
) -> schemas.PickupPointOut:
    """Retire the point (`active` false): plans that name it keep their meaning."""
    return _out(pickups.retire_point(session, principal, pickup_point_id))
