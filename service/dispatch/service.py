"""Who may move which request or assignment; the moves themselves live in ``lifecycle``.

Every operation locks the request row first (then, inside, responders in id order), the same
order live matching takes, so concurrent moves on one request serialise without deadlock.
"""

from sqlalchemy.orm import Session

from service.assignments import service as assignments
from service.assignments.models import Assignment
from service.auth.principal import Principal, Role
from service.dispatch import lifecycle, live, manual, schemas
from service.dispatch import repository as repo
from service.errors import Forbidden
from service.requests import service as requests
from service.requests.models import ServiceRequest


def _own_assignment(
    session: Session, principal: Principal, assignment_id: str
) -> tuple[ServiceRequest, Assignment]:
    """The assignment (a responder sees only its own: others are 404) and its locked request."""
    found = assignments.get_assignment(session, principal, assignment_id)
    if principal.role not in (Role.admin, Role.dispatcher, Role.responder):
        raise Forbidden("Only the responder or a dispatcher moves an assignment.")
    request = repo.lock_request(session, found.request_id)
    session.refresh(found)
    return request, found


def accept(session: Session, principal: Principal, assignment_id: str) -> Assignment:
    request, assignment = _own_assignment(session, principal, assignment_id)
    lifecycle.accept(session, request, assignment)
    return assignment


def decline(session: Session, principal: Principal, assignment_id: str, reason: str) -> Assignment:
    request, assignment = _own_assignment(session, principal, assignment_id)
    lifecycle.withdraw(session, request, assignment, "declined", reason)
    live.rematch(session, request)
    return assignment


def time_out(session: Session, assignment: Assignment) -> live.Outcome:
    """For the background loop: an offer past its respond_by times out and is matched again."""
    request = repo.lock_request(session, assignment.request_id)
    session.refresh(assignment)
    lifecycle.withdraw(session, request, assignment, "timed_out", "no answer in time")
    return live.rematch(session, request)


def expire(session: Session, request: ServiceRequest) -> None:
    """For the background loop: a request still open past its window expires."""
    locked = repo.lock_request(session, request.id)
    lifecycle.expire(session, locked)


def start(session: Session, principal: Principal, assignment_id: str) -> Assignment:
    request, assignment = _own_assignment(session, principal, assignment_id)
    lifecycle.start(session, request, assignment)
    return assignment


def complete(session: Session, principal: Principal, assignment_id: str) -> Assignment:
    request, assignment = _own_assignment(session, principal, assignment_id)
    lifecycle.complete(session, request, assignment)
    return assignment


def _request_for(session: Session, principal: Principal, request_id: str) -> ServiceRequest:
    found = requests.get_request(session, principal, request_id)
    return repo.lock_request(session, found.id)


def _dispatcher(principal: Principal) -> None:
    if principal.role not in (Role.admin, Role.dispatcher):
        raise Forbidden("Only dispatchers assign by hand.")


def cancel(session: Session, principal: Principal, request_id: str, reason: str) -> ServiceRequest:
    request = _request_for(session, principal, request_id)
    lifecycle.cancel(session, request, reason)
    return request


def rate(
    session: Session, principal: Principal, request_id: str, body: schemas.RatingBody
) -> ServiceRequest:
    request = _request_for(session, principal, request_id)
    lifecycle.rate(session, request, body.rating, body.comment)
    return request


def assign(
    session: Session, principal: Principal, request_id: str, body: schemas.AssignBody
) -> tuple[list[Assignment], list[str]]:
    _dispatcher(principal)
    request = _request_for(session, principal, request_id)
    roles = [r.value for r in body.roles] if body.roles is not None else None
    return manual.assign(session, request, body.responder_ids, roles, body.note)


def unassign(
    session: Session, principal: Principal, request_id: str, reason: str
) -> ServiceRequest:
    _dispatcher(principal)
    request = _request_for(session, principal, request_id)
    lifecycle.unassign(session, request, reason)
    return request
