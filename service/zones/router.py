from typing import Annotated

from fastapi import APIRouter, Depends

from service.auth.principal import Principal, Role, SessionDep, require
from service.errors import COMMON, NotFound, responses
from service.pagination import Page, PageParams
from service.zones import repository as repo
from service.zones import schemas
from service.zones import service as zones
from service.zones.models import Zone

router = APIRouter(prefix="/v1", tags=["zones"])

Reader = Annotated[Principal, Depends(require(Role.admin, Role.dispatcher, Role.grid_app))]
Writer = Annotated[Principal, Depends(require(Role.admin, Role.dispatcher))]
Pages = Annotated[PageParams, Depends()]


def _out(zone: Zone) -> schemas.ZoneOut:
    from service.types import utcnow

    return schemas.ZoneOut.model_validate(
        {
            **{c: getattr(zone, c) for c in schemas.ZoneOut.model_fields if c != "in_force"},
            "in_force": zone.in_force(utcnow()),
        }
    )


@router.get("/zones", responses=responses(*COMMON))
def list_zones(
    session: SessionDep,
    principal: Reader,
    page: Pages,
    community_id: str | None = None,
    status: schemas.Status | None = None,
) -> Page[schemas.ZoneOut]:
    items, cursor = repo.list_zones(session, principal, page, community_id, status)
    return Page(items=[_out(z) for z in items], next_cursor=cursor)


@router.post("/zones", status_code=201, responses=responses(*COMMON))
def create_zone(
    session: SessionDep, principal: Writer, body: schemas.ZoneCreate
) -> schemas.ZoneChange:
    """Draw a zone; open requests and residents inside are tagged with it while it is in force."""
    zone, retagged = zones.create_zone(session, principal, body)
    return schemas.ZoneChange(zone=_out(zone), retagged=retagged)


@router.get("/zones/{zone_id}", responses=responses(*COMMON, NotFound))
def get_zone(session: SessionDep, principal: Reader, zone_id: str) -> schemas.ZoneOut:
    return _out(zones.get_zone(session, principal, zone_id))


@router.patch("/zones/{zone_id}", responses=responses(*COMMON, NotFound))
def update_zone(
    session: SessionDep, principal: Writer, zone_id: str, body: schemas.ZoneUpdate
) -> schemas.ZoneChange:
    """Change a zone's status, outline or period; open requests and residents are re-tagged."""
    zone, retagged = zones.update_zone(session, principal, zone_id, body)
    return schemas.ZoneChange(zone=_out(zone), retagged=retagged)


@router.delete("/zones/{zone_id}", responses=responses(*COMMON, NotFound))
def delete_zone(session: SessionDep, principal: Writer, zone_id: str) -> schemas.Retagged:
    """Lift a zone; requests and residents inside are re-tagged (to another zone or none)."""
    return zones.delete_zone(session, principal, zone_id)
