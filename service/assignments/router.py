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


CONTACT_STATES = ("accepted", "in_progress")
ContactReader = Annotated[Principal, Depends(require(Role.dispatcher, Role.responder))]


@router.get(
    "/assignments/{assignment_id}/contact",
    responses=responses(*COMMON, NotFound, Conflict),
)
def get_assignment_contact(
    session: SessionDep, principal: ContactReader, assignment_id: str
) -> schemas.Contact:
    """The resident's full name, phone, address and notes for the responder who accepted this
    assignment (or a dispatcher of its community). Every call is audited as a reveal."""
    from service.requests.models import ServiceRequest
    from service.residents import privacy
    from service.residents.models import Resident

    assignment = assignments.get_assignment(session, principal, assignment_id)
    if principal.role is Role.responder and assignment.state not in CONTACT_STATES:
        raise Conflict("Contact details are shown once the assignment is accepted.")
    request = session.get(ServiceRequest, assignment.request_id)
    resident_id = request.resident_id if request is not None else None
    resident = session.get(Resident, resident_id) if resident_id else None
    if resident is None:
        raise NotFound("This assignment's request names no registered resident.")
    who = "assigned responder" if principal.role is Role.responder else "dispatcher read"
    privacy.record_reveal(session, resident, who)
    full = privacy.view(resident, full=True)
    return schemas.Contact(
        resident_id=resident.id,
        name=full["name"],
        phone=full["phone"],
        address=full["address"],
        notes=full["notes"],
        location=full["location"],
    )
