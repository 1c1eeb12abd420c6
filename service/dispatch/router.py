"""Lifecycle moves, rating and manual dispatch over HTTP."""

from typing import Annotated

from fastapi import APIRouter, Depends

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


@router.post("/assignments/{assignment_id}/accept", responses=MOVE)
def accept_assignment(session: SessionDep, principal: Mover, assignment_id: str) -> AssignmentOut:
    """The responder takes the offer; the request is accepted once its whole team has."""
    return AssignmentOut.model_validate(dispatch.accept(session, principal, assignment_id))


@router.post("/assignments/{assignment_id}/decline", responses=MOVE)
def decline_assignment(
    session: SessionDep, principal: Mover, assignment_id: str, body: schemas.DeclineBody
) -> AssignmentOut:
    """The responder turns the offer down; the request is matched again without them."""
    return AssignmentOut.model_validate(
        dispatch.decline(session, principal, assignment_id, body.reason)
    )


@router.post("/assignments/{assignment_id}/start", responses=MOVE)
def start_assignment(session: SessionDep, principal: Mover, assignment_id: str) -> AssignmentOut:
    return AssignmentOut.model_validate(dispatch.start(session, principal, assignment_id))


@router.post("/assignments/{assignment_id}/complete", responses=MOVE)
def complete_assignment(session: SessionDep, principal: Mover, assignment_id: str) -> AssignmentOut:
    """Done: hours and points are credited; the last member completes the request."""
    return AssignmentOut.model_validate(dispatch.complete(session, principal, assignment_id))


@router.post("/requests/{request_id}/cancel", responses=MOVE)
def cancel_request(
    session: SessionDep, principal: Closer, request_id: str, body: schemas.CancelBody
) -> RequestOut:
    return RequestOut.model_validate(dispatch.cancel(session, principal, request_id, body.reason))


@router.post("/requests/{request_id}/rating", responses=MOVE)
def rate_request(
    session: SessionDep, principal: Closer, request_id: str, body: schemas.RatingBody
) -> RequestOut:
    """The resident's side rates a completed request, once (评单)."""
    return RequestOut.model_validate(dispatch.rate(session, principal, request_id, body))


@router.post("/requests/{request_id}/assign", responses=MOVE)
def assign_request(
    session: SessionDep, principal: Dispatcher, request_id: str, body: schemas.AssignBody
) -> schemas.ManualOut:
    """Assign or reassign by hand: hard constraints refuse (422), soft ones warn."""
    rows, warnings = dispatch.assign(session, principal, request_id, body)
    return schemas.ManualOut(
        assignments=[AssignmentOut.model_validate(a) for a in rows], warnings=warnings
    )


@router.post("/requests/{request_id}/unassign", responses=MOVE)
def unassign_request(
    session: SessionDep, principal: Dispatcher, request_id: str, body: schemas.UnassignBody
) -> RequestOut:
    return RequestOut.model_validate(dispatch.unassign(session, principal, request_id, body.reason))
