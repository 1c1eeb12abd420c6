from typing import Annotated

from fastapi import APIRouter, Depends

from service.assignments import repository as repo
from service.assignments import schemas
from service.assignments import service as assignments
from service.auth.principal import Principal, Role, SessionDep, require
from service.errors import COMMON, Conflict, NotFound, responses
from service.pagination import Page, PageParams

router = APIRouter(prefix="/v1", tags=["assignments"])

Reader = Annotated[Principal, Depends(require(*Role))]
Dispatcher = Annotated[Principal, Depends(require(Role.dispatcher))]
Pages = Annotated[PageParams, Depends()]


@router.post("/assignments", status_code=201, responses=responses(*COMMON, Conflict))
def create_assignment(
    session: SessionDep, principal: Dispatcher, body: schemas.AssignmentCreate
) -> schemas.AssignmentOut:
    return schemas.AssignmentOut.model_validate(
        assignments.create_assignment(session, principal, body)
    )


@router.get("/assignments", responses=responses(*COMMON))
def list_assignments(
    session: SessionDep,
    principal: Reader,
    page: Pages,
    request_id: str | None = None,
    responder_id: str | None = None,
    state: schemas.AssignmentState | None = None,
    community_id: str | None = None,
) -> Page[schemas.AssignmentOut]:
    items, cursor = repo.list_assignments(
        session,
        principal,
        page,
        request_id=request_id,
        responder_id=responder_id,
        state=state,
        community_id=community_id,
    )
    return Page(items=[schemas.AssignmentOut.model_validate(i) for i in items], next_cursor=cursor)


@router.get("/assignments/{assignment_id}", responses=responses(*COMMON, NotFound))
def get_assignment(
    session: SessionDep, principal: Reader, assignment_id: str
) -> schemas.AssignmentOut:
    return schemas.AssignmentOut.model_validate(
        assignments.get_assignment(session, principal, assignment_id)
    )


@router.patch("/assignments/{assignment_id}", responses=responses(*COMMON, NotFound))
def update_assignment(
    session: SessionDep, principal: Dispatcher, assignment_id: str, body: schemas.AssignmentUpdate
) -> schemas.AssignmentOut:
    return schemas.AssignmentOut.model_validate(
        assignments.update_assignment(session, principal, assignment_id, body)
    )
