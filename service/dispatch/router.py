"""Lifecycle moves, rating and manual dispatch over HTTP."""

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from service.assignments.schemas import AssignmentOut
from service.auth.principal import Principal, Role, SessionDep, require
from service.dispatch import schemas
from service.dispatch import service as dispatch
from service.errors import COMMON, Conflict, NotFound, responses
from service.requests.schemas import RequestOut

router = APIRouter(prefix="/v1", tags=["dispatch"])

Mover = Annotated[Principal, Depends(require(Role.responder, Role.dispatcher))]
Closer = Annotated[Principal, Depends(require(Role.dispatcher, Role.grid_app))]
Dispatcher = Annotated[Principal, Depends(require(Role.dispatcher))]
MOVE = responses(*COMMON, NotFound, Conflict)


def _answer(model: BaseModel) -> Response:
    """Serialise in the handler's thread: these moves hold row locks until the commit, and
    FastAPI would otherwise wait for a second worker thread (possibly all blocked on those
    locks) to serialise the answer before committing."""
    return JSONResponse(model.model_dump(mode="json"))


@router.post("/assignments/{assignment_id}/accept", responses=MOVE, response_model=AssignmentOut)
def accept_assignment(session: SessionDep, principal: Mover, assignment_id: str) -> Response:
    """The responder takes the offer; the request is accepted once its whole team has."""
    moved = dispatch.accept(session, principal, assignment_id)
    return _answer(AssignmentOut.model_validate(moved))


@router.post("/assignments/{assignment_id}/decline", responses=MOVE, response_model=AssignmentOut)
def decline_assignment(
    session: SessionDep, principal: Mover, assignment_id: str, body: schemas.DeclineBody
) -> Response:
    """The responder turns the offer down; the request is matched again without them."""
    moved = dispatch.decline(session, principal, assignment_id, body.reason)
    return _answer(AssignmentOut.model_validate(moved))


@router.post("/assignments/{assignment_id}/start", responses=MOVE, response_model=AssignmentOut)
def start_assignment(session: SessionDep, principal: Mover, assignment_id: str) -> Response:
    moved = dispatch.start(session, principal, assignment_id)
    return _answer(AssignmentOut.model_validate(moved))


@router.post("/assignments/{assignment_id}/complete", responses=MOVE, response_model=AssignmentOut)
def complete_assignment(session: SessionDep, principal: Mover, assignment_id: str) -> Response:
    """Done: hours and points are credited; the last member completes the request."""
    moved = dispatch.complete(session, principal, assignment_id)
    return _answer(AssignmentOut.model_validate(moved))


@router.post("/requests/{request_id}/cancel", responses=MOVE, response_model=RequestOut)
def cancel_request(
    session: SessionDep, principal: Closer, request_id: str, body: schemas.CancelBody
) -> Response:
    cancelled = dispatch.cancel(session, principal, request_id, body.reason)
    return _answer(RequestOut.model_validate(cancelled))


@router.post("/requests/{request_id}/rating", responses=MOVE, response_model=RequestOut)
def rate_request(
    session: SessionDep, principal: Closer, request_id: str, body: schemas.RatingBody
) -> Response:
    """The resident's side rates a completed request, once (评单)."""
    return _answer(RequestOut.model_validate(dispatch.rate(session, principal, request_id, body)))


@router.post("/requests/{request_id}/assign", responses=MOVE, response_model=schemas.ManualOut)
def assign_request(
    session: SessionDep, principal: Dispatcher, request_id: str, body: schemas.AssignBody
) -> Response:
    """Assign or reassign by hand: hard constraints refuse (422), soft ones warn."""
    rows, warnings = dispatch.assign(session, principal, request_id, body)
    assigned = [AssignmentOut.model_validate(a) for a in rows]
    return _answer(schemas.ManualOut(assignments=assigned, warnings=warnings))


@router.post("/requests/{request_id}/unassign", responses=MOVE, response_model=RequestOut)
def unassign_request(
    session: SessionDep, principal: Dispatcher, request_id: str, body: schemas.UnassignBody
) -> Response:
    unassigned = dispatch.unassign(session, principal, request_id, body.reason)
    return _answer(RequestOut.model_validate(unassigned))
