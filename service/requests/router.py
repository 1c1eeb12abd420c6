from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from service.auth.principal import Principal, Role, SessionDep, require
from service.errors import COMMON, Conflict, NotFound, responses
from service.pagination import Page, PageParams
from service.requests import repository as repo
from service.requests import schemas
from service.requests import service as requests
from service.types import Instant

router = APIRouter(prefix="/v1", tags=["requests"])

Reader = Annotated[Principal, Depends(require(*Role))]
Writer = Annotated[Principal, Depends(require(Role.dispatcher, Role.grid_app))]
Pages = Annotated[PageParams, Depends()]


@router.post(
    "/requests",
    status_code=201,
    response_model=schemas.RequestOut,
    responses=responses(*COMMON, Conflict),
)
def create_request(session: SessionDep, principal: Writer, body: schemas.RequestCreate) -> Response:
    created = schemas.RequestOut.model_validate(requests.create_request(session, principal, body))
    # Serialised here, in the handler's thread: live matching holds responder row locks until
    # the commit, and FastAPI would otherwise need a second worker thread to serialise the
    # answer before committing; with every worker waiting on those locks, none would be free.
    return JSONResponse(created.model_dump(mode="json"), status_code=201)


@router.get("/requests", responses=responses(*COMMON))
def list_requests(
    session: SessionDep,
    principal: Reader,
    page: Pages,
    community_id: str | None = None,
    grid_id: str | None = None,
    state: schemas.RequestState | None = None,
    urgency: schemas.Urgency | None = None,
    category_code: str | None = None,
    source: schemas.Source | None = None,
    external_id: str | None = None,
    created_after: Instant | None = None,
    created_before: Instant | None = None,
) -> Page[schemas.RequestOut]:
    items, cursor = repo.list_requests(
        session,
        principal,
        page,
        community_id=community_id,
        grid_id=grid_id,
        state=state,
        urgency=urgency,
        category_code=category_code,
        source=source,
        external_id=external_id,
        created_after=created_after,
        created_before=created_before,
    )
    return Page(items=[schemas.RequestOut.model_validate(i) for i in items], next_cursor=cursor)


@router.get("/requests/{request_id}", responses=responses(*COMMON, NotFound))
def get_request(session: SessionDep, principal: Reader, request_id: str) -> schemas.RequestOut:
    return schemas.RequestOut.model_validate(requests.get_request(session, principal, request_id))


@router.patch("/requests/{request_id}", responses=responses(*COMMON, NotFound, Conflict))
def update_request(
    session: SessionDep, principal: Writer, request_id: str, body: schemas.RequestUpdate
) -> schemas.RequestOut:
    return schemas.RequestOut.model_validate(
        requests.update_request(session, principal, request_id, body)
    )
