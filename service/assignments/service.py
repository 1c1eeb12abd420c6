"""Rules for assignments: which responder may be offered which request, and by whom."""

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.assignments import repository as repo
from service.assignments import schemas
from service.assignments.models import Assignment
from service.auth.principal import Principal, Role
from service.errors import Conflict, Forbidden, NotFound, Unprocessable
from service.requests import service as requests
from service.requests.models import FINAL_STATES, ServiceRequest
from service.types import utcnow

LIVE_INDEX = "uq_assignment_live_responder"


def _dispatcher_only(principal: Principal) -> None:
    if principal.role not in (Role.admin, Role.dispatcher):
        raise Forbidden("Only dispatchers and admins assign responders.")


def _double_booked(responder_id: str) -> Conflict:
    return Conflict(f"Responder {responder_id!r} already holds a live assignment for this request.")


def get_assignment(session: Session, principal: Principal, assignment_id: str) -> Assignment:
    found = repo.get_visible(session, principal, assignment_id)
    if found is None:
        raise NotFound("No such assignment.")
    return found


def _check_responder(
    session: Session, principal: Principal, data: schemas.AssignmentCreate, request: ServiceRequest
) -> None:
    from service.responders import service as responders
    from service.responders.repository import community_ids_of_responder

    responder = responders.visible_responder(session, principal, data.responder_id, "responder_id")
    if not responder.active:
        raise Unprocessable.on("responder_id", f"responder {data.responder_id!r} is not active")
    if request.community_id not in community_ids_of_responder(session, responder.id):
        raise Unprocessable.on(
            "responder_id",
            f"responder {data.responder_id!r} does not serve the request's community",
        )
    if data.role != responder.kind:
        raise Unprocessable.on("role", f"the responder is a {responder.kind}, not a {data.role}")


def create_assignment(
    session: Session, principal: Principal, data: schemas.AssignmentCreate
) -> Assignment:
    _dispatcher_only(principal)
    request = requests.visible_request(session, principal, data.request_id, "request_id")
    if request.state in FINAL_STATES:
        raise Conflict(f"The request is {request.state}; it takes no more assignments.")
    _check_responder(session, principal, data, request)
    if data.fund_id is not None:
        # Only that the fund exists and is visible; eligibility and balance come with payment.
        from service.funds import service as funds

        funds.visible_fund(session, principal, data.fund_id, "fund_id")
    if repo.holds_live(session, request.id, data.responder_id):
        raise _double_booked(data.responder_id)
    assignment = Assignment(
        request_id=request.id,
        responder_id=data.responder_id,
        community_id=request.community_id,
        role=data.role,
        state="offered",
        planned_start=data.planned_start,
        offered_at=utcnow(),
        respond_by=data.respond_by,
        travel_minutes=data.travel_minutes,
        distance_m=data.distance_m,
        fund_id=data.fund_id,
        note=data.note,
    )
    session.add(assignment)
    try:
        session.flush()
    except IntegrityError as exc:
        # A concurrent dispatcher won the race; the partial unique index caught it.
        if LIVE_INDEX in str(exc.orig) or "assignment.request_id" in str(exc.orig):
            raise _double_booked(data.responder_id) from None
        raise
    return assignment


def update_assignment(
    session: Session, principal: Principal, assignment_id: str, data: schemas.AssignmentUpdate
) -> Assignment:
    assignment = get_assignment(session, principal, assignment_id)
    _dispatcher_only(principal)
    for key, value in data.model_dump(exclude_unset=True).items():
        setattr(assignment, key, value)
    session.flush()
    return assignment
