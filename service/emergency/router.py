from typing import Annotated

from fastapi import APIRouter, Depends

from service.auth.principal import Principal, Role, SessionDep, require
from service.emergency import schemas
from service.emergency import service as emergency
from service.errors import COMMON, NotFound, responses

router = APIRouter(prefix="/v1", tags=["emergency"])

Switcher = Annotated[Principal, Depends(require(Role.admin, Role.dispatcher))]


@router.post("/communities/{community_id}/mode", responses=responses(*COMMON, NotFound))
def switch_community_mode(
    session: SessionDep, principal: Switcher, community_id: str, body: schemas.ModeChange
) -> schemas.ModeChanges:
    """Switch a community to emergency mode (战时) or back to peacetime, with a reason."""
    return emergency.switch_community(session, principal, community_id, body)


@router.post("/streets/{street_id}/mode", responses=responses(*COMMON, NotFound))
def switch_street_mode(
    session: SessionDep, principal: Switcher, street_id: str, body: schemas.ModeChange
) -> schemas.ModeChanges:
    """Switch every community of a street the caller dispatches for, together."""
    return emergency.switch_street(session, principal, street_id, body)
