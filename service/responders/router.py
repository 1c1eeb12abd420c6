from typing import Annotated

from fastapi import APIRouter, Depends

from service.auth.principal import Principal, Role, SessionDep, require
from service.errors import COMMON, NotFound, responses
from service.pagination import Page, PageParams
from service.responders import repository as repo
from service.responders import schemas
from service.responders import service as responders

router = APIRouter(prefix="/v1", tags=["responders"])

# Responders read and adjust only their own profile; the service narrows them to it.
Reader = Annotated[Principal, Depends(require(Role.dispatcher, Role.responder))]
Writer = Annotated[Principal, Depends(require(Role.dispatcher))]
Pages = Annotated[PageParams, Depends()]


@router.post("/responders", status_code=201, responses=responses(*COMMON))
def create_responder(
    session: SessionDep, principal: Writer, body: schemas.ResponderCreate
) -> schemas.ResponderOut:
    return schemas.ResponderOut.model_validate(
        responders.create_responder(session, principal, body)
    )


@router.get("/responders", responses=responses(*COMMON))
def list_responders(
    session: SessionDep,
    principal: Reader,
    page: Pages,
    kind: schemas.ResponderKind | None = None,
    community_id: str | None = None,
    active: bool | None = None,
    qualification: str | None = None,
    volunteer_group: schemas.VolunteerGroup | None = None,
) -> Page[schemas.ResponderOut]:
    items, cursor = repo.list_responders(
        session,
        principal,
        page,
        kind.value if kind else None,
        community_id,
        active,
        qualification,
        volunteer_group.value if volunteer_group else None,
    )
    return Page(items=[schemas.ResponderOut.model_validate(i) for i in items], next_cursor=cursor)


@router.get("/responders/{responder_id}", responses=responses(*COMMON, NotFound))
def get_responder(
    session: SessionDep, principal: Reader, responder_id: str
) -> schemas.ResponderOut:
    return schemas.ResponderOut.model_validate(
        responders.get_responder(session, principal, responder_id)
    )


@router.patch("/responders/{responder_id}", responses=responses(*COMMON, NotFound))
def update_responder(
    session: SessionDep, principal: Reader, responder_id: str, body: schemas.ResponderUpdate
) -> schemas.ResponderOut:
    return schemas.ResponderOut.model_validate(
        responders.update_responder(session, principal, responder_id, body)
    )
