from typing import Annotated

from fastapi import APIRouter, Depends

from service.auth.principal import Principal, Role, SessionDep, require
from service.errors import COMMON, NotFound, responses
from service.pagination import Page, PageParams
from service.residents import repository as repo
from service.residents import schemas
from service.residents import service as residents

router = APIRouter(prefix="/v1", tags=["residents"])

# Responders never list or open residents: what they need comes with their assignments.
Keeper = Annotated[Principal, Depends(require(Role.dispatcher, Role.grid_app))]
Pages = Annotated[PageParams, Depends()]


@router.post("/residents", status_code=201, responses=responses(*COMMON))
def create_resident(
    session: SessionDep, principal: Keeper, body: schemas.ResidentCreate
) -> schemas.ResidentOut:
    return schemas.ResidentOut.model_validate(residents.create_resident(session, principal, body))


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
    return Page(items=[schemas.ResidentOut.model_validate(i) for i in items], next_cursor=cursor)


@router.get("/residents/{resident_id}", responses=responses(*COMMON, NotFound))
def get_resident(session: SessionDep, principal: Keeper, resident_id: str) -> schemas.ResidentOut:
    return schemas.ResidentOut.model_validate(
        residents.get_resident(session, principal, resident_id)
    )


@router.patch("/residents/{resident_id}", responses=responses(*COMMON, NotFound))
def update_resident(
    session: SessionDep, principal: Keeper, resident_id: str, body: schemas.ResidentUpdate
) -> schemas.ResidentOut:
    return schemas.ResidentOut.model_validate(
        residents.update_resident(session, principal, resident_id, body)
    )
