from typing import Annotated

from fastapi import APIRouter, Depends, Query

from service.auth.principal import Principal, Role, SessionDep, require
from service.errors import COMMON, Forbidden, NotFound, responses
from service.pagination import Page, PageParams
from service.residents import privacy, schemas
from service.residents import repository as repo
from service.residents import service as residents
from service.residents.models import Resident

router = APIRouter(prefix="/v1", tags=["residents"])

# Responders never list or open residents: what they need comes with their assignments.
Keeper = Annotated[Principal, Depends(require(Role.dispatcher, Role.grid_app))]
Pages = Annotated[PageParams, Depends()]


def _masked(resident: Resident) -> schemas.ResidentOut:
    return schemas.ResidentOut.model_validate(privacy.view(resident, full=False))


@router.post("/residents", status_code=201, responses=responses(*COMMON))
def create_resident(
    session: SessionDep, principal: Keeper, body: schemas.ResidentCreate
) -> schemas.ResidentOut:
    """Register a resident; the answer shows phone and address masked, like every read."""
    return _masked(residents.create_resident(session, principal, body))


@router.get("/residents", responses=responses(*COMMON))
def list_residents(
    session: SessionDep,
    principal: Keeper,
    page: Pages,
    community_id: str | None = None,
    grid_id: str | None = None,
    tag: schemas.ResidentTag | None = None,
) -> Page[schemas.ResidentOut]:
    items, cursor = repo.list_residents(
        session, principal, page, community_id, grid_id, tag.value if tag else None
    )
    return Page(items=[_masked(i) for i in items], next_cursor=cursor)


@router.get("/residents/{resident_id}", responses=responses(*COMMON, NotFound))
def get_resident(
    session: SessionDep,
    principal: Keeper,
    resident_id: str,
    reveal: Annotated[
        bool, Query(description="Full phone, address and notes (dispatchers; audited)")
    ] = False,
) -> schemas.ResidentOut:
    resident = residents.get_resident(session, principal, resident_id)
    if not reveal:
        return _masked(resident)
    if principal.role is not Role.dispatcher:
        raise Forbidden("Only dispatchers of the resident's community see full personal data.")
    privacy.record_reveal(session, resident, "dispatcher read")
    return schemas.ResidentOut.model_validate(privacy.view(resident, full=True))


@router.patch("/residents/{resident_id}", responses=responses(*COMMON, NotFound))
def update_resident(
    session: SessionDep, principal: Keeper, resident_id: str, body: schemas.ResidentUpdate
) -> schemas.ResidentOut:
    return _masked(residents.update_resident(session, principal, resident_id, body))
