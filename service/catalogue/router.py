from typing import Annotated

from fastapi import APIRouter, Depends

from service.auth.principal import Principal, Role, SessionDep, require
from service.catalogue import repository as repo
from service.catalogue import schemas
from service.catalogue import service as catalogue
from service.errors import COMMON, Conflict, NotFound, responses
from service.pagination import Page, PageParams

router = APIRouter(prefix="/v1", tags=["catalogue"])

Reader = Annotated[Principal, Depends(require(*Role))]
# No role besides admin (which always passes) may change the menu.
Admin = Annotated[Principal, Depends(require())]
Pages = Annotated[PageParams, Depends()]


@router.get("/service-categories", responses=responses(*COMMON))
def list_service_categories(
    session: SessionDep, principal: Reader, page: Pages, active: bool | None = None
) -> Page[schemas.CategoryOut]:
    items, cursor = repo.list_categories(session, page, active)
    return Page(items=[schemas.CategoryOut.model_validate(i) for i in items], next_cursor=cursor)


@router.post("/service-categories", status_code=201, responses=responses(*COMMON, Conflict))
def create_service_category(
    session: SessionDep, principal: Admin, body: schemas.CategoryCreate
) -> schemas.CategoryOut:
    return schemas.CategoryOut.model_validate(catalogue.create_category(session, principal, body))


@router.get("/service-categories/{code}", responses=responses(*COMMON, NotFound))
def get_service_category(session: SessionDep, principal: Reader, code: str) -> schemas.CategoryOut:
    return schemas.CategoryOut.model_validate(catalogue.get_category(session, code))


@router.patch("/service-categories/{code}", responses=responses(*COMMON, NotFound))
def update_service_category(
    session: SessionDep, principal: Admin, code: str, body: schemas.CategoryUpdate
) -> schemas.CategoryOut:
    return schemas.CategoryOut.model_validate(
        catalogue.update_category(session, principal, code, body)
    )
