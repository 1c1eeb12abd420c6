"""The one state machine for requests and assignments, and what each move sets off.

Request:    submitted -> offered -> accepted -> in_progress -> completed
            offered -> submitted (an offer declined or timed out; a dispatcher unassigns)
            accepted -> submitted (a dispatcher unassigns)
            any open state -> cancelled (reason required); submitted/offered -> expired
Assignment: offered -> accepted | declined | timed_out | cancelled
            accepted -> in_progress | cancelled;  in_progress -> completed | cancelled

A team (several live assignments on one request) is all or none: the request is accepted when
every live assignment is, in progress when the first member starts, completed when the last
member completes; one member declining or timing out withdraws the whole team's offer so the
request is matched again as a whole.

Money: a request with a cost reserves it on the chosen fund when offered; completion turns
the hold into a spend; decline, time-out, unassign and cancel release it.

Credit on each completed assignment: hours_served += actual minutes (started -> completed)
rounded up to whole hours; points += 10 per task, +5 if urgent, +10 if emergency.

Every move names its audit action and records an event in the same transaction; an illegal
move raises ``Conflict`` before anything is changed.
"""

import math
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.assignments.models import LIVE_STATES, Assignment
from service.audit.recorder import name_action
from service.dispatch import repository as repo
from service.errors import Conflict
from service.requests.models import ServiceRequest
from service.responders.models import Responder
from service.types import utcnow

REQUEST_MOVES: dict[str, frozenset[str]] = {
    "submitted": frozenset({"offered", "cancelled", "expired"}),
    "offered": frozenset({"submitted", "accepted", "cancelled", "expired"}),
    "accepted": frozenset({"submitted", "in_progress", "cancelled"}),
    "in_progress": frozenset({"completed", "cancelled"}),
}
ASSIGNMENT_MOVES: dict[str, frozenset[str]] = {
    "offered": frozenset({"accepted", "declined", "timed_out", "cancelled"}),
    "accepted": frozenset({"in_progress", "cancelled"}),
    "in_progress": frozenset({"completed", "cancelled"}),
}
REQUEST_VERBS = {
    "submitted": ("requeue", "request.queued"),
    "offered": ("offer", "request.offered"),
    "accepted": ("accept", "request.accepted"),
    "in_progress": ("start", "request.started"),
    "completed": ("complete", "request.completed"),
    "cancelled": ("cancel", "request.cancelled"),
    "expired": ("expire", "request.expired"),
}
ASSIGNMENT_VERBS = {
    "accepted": ("accept", "assignment.accepted"),
    "declined": ("decline", "assignment.declined"),
    "timed_out": ("time_out", "assignment.timed_out"),
    "in_progress": ("start", "assignment.started"),
    "completed": ("complete", "assignment.completed"),
    "cancelled": ("cancel", "assignment.cancelled"),
}
STAMPS = {"accepted": "accepted_at", "in_progress": "started_at", "completed": "completed_at"}
POINTS_PER_TASK = 10
URGENCY_BONUS = {"normal": 0, "urgent": 5, "emergency": 10}


def event(
    session: Session,
    kind: str,
    *,
    community_id: str,
    subject_type: str,
    subject_id: str,
    payload: dict[str, Any],
    responder_id: str | None = None,
    about: ServiceRequest | None = None,
) -> None:
    from service.events.service import record

    record(
        session,
        community_id=community_id,
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        payload=payload,
        responder_id=responder_id,
        about=about,
    )


def transition_request(
    session: Session, request: ServiceRequest, to_state: str, *, reason: str | None = None
) -> None:
    before = request.state
    if to_state not in REQUEST_MOVES.get(before, frozenset()):
        raise Conflict(f"A {before} request cannot become {to_state}.")
    verb, kind = REQUEST_VERBS[to_state]
    request.state = to_state
    name_action(session, request.id, verb)
    payload = {"from": before, "to": to_state, "reason": reason, "grid_id": request.grid_id}
    event(
        session,
        kind,
        community_id=request.community_id,
        subject_type="service_request",
        subject_id=request.id,
        payload=payload,
    )
    # Flushed now, so the audit entry of this move carries its verb and no later change is
    # folded into it; whatever else is pending (the offer's rows, events) goes in the same
    # flush, one insert per table.
    session.flush()


def transition_assignment(
    session: Session, assignment: Assignment, to_state: str, *, reason: str | None = None
) -> None:
    before = assignment.state
    if to_state not in ASSIGNMENT_MOVES.get(before, frozenset()):
        raise Conflict(f"An {before} assignment cannot become {to_state}.")
    verb, kind = ASSIGNMENT_VERBS[to_state]
    assignment.state = to_state
    if to_state in STAMPS:
        setattr(assignment, STAMPS[to_state], utcnow())
    if reason:
        assignment.note = (
            f"{assignment.note}\n{to_state}: {reason}"
            if assignment.note
            else (f"{to_state}: {reason}")
        )
    name_action(session, assignment.id, verb)
    event(
        session,
        kind,
        community_id=assignment.community_id,
        subject_type="assignment",
        subject_id=assignment.id,
        payload={
            "from": before,
            "to": to_state,
            "reason": reason,
            "request_id": assignment.request_id,
        },
        responder_id=assignment.responder_id,
    )
    session.flush()  # as in transition_request


# --- money


def reserve(session: Session, request: ServiceRequest, fund_id: str | None) -> None:
    if request.cost_fen <= 0 or fund_id is None:
        return
    from service.funds import service as funds
    from service.funds.schemas import EntryKind

    funds.post_entry(
        session,
        fund_id,
        EntryKind.reservation,
        request.cost_fen,
        request_id=request.id,
        note="held for an offered request",
    )


def release(session: Session, request: ServiceRequest, note: str) -> None:
    from service.funds import service as funds
    from service.funds.schemas import EntryKind

    for fund_id, amount in sorted(repo.held_for_request(session, request.id).items()):
        funds.post_entry(
            session, fund_id, EntryKind.release, amount, request_id=request.id, note=note
        )


def _spend(session: Session, request: ServiceRequest) -> None:
    from service.funds import service as funds
    from service.funds.schemas import EntryKind

    for fund_id, amount in sorted(repo.held_for_request(session, request.id).items()):
        funds.post_entry(
            session,
            fund_id,
            EntryKind.release,
            amount,
            request_id=request.id,
            note="released on completion",
        )
        funds.post_entry(
            session,
            fund_id,
            EntryKind.spend,
            amount,
            request_id=request.id,
            note="paid for a completed request",
        )


# --- operations (the caller has locked the request row)


def _check(assignment: Assignment, to_state: str) -> None:
    if to_state not in ASSIGNMENT_MOVES.get(assignment.state, frozenset()):
        raise Conflict(f"An {assignment.state} assignment cannot become {to_state}.")


def accept(session: Session, request: ServiceRequest, assignment: Assignment) -> None:
    _check(assignment, "accepted")
    transition_assignment(session, assignment, "accepted")
    live = repo.live_assignments(session, request.id)
    if request.state == "offered" and all(a.state == "accepted" for a in live):
        transition_request(session, request, "accepted")


def start(session: Session, request: ServiceRequest, assignment: Assignment) -> None:
    _check(assignment, "in_progress")
    if request.state not in ("accepted", "in_progress"):
        raise Conflict("The request is not accepted by every member of its team yet.")
    transition_assignment(session, assignment, "in_progress")
    if request.state == "accepted":
        transition_request(session, request, "in_progress")


def _credit(session: Session, request: ServiceRequest, assignment: Assignment) -> None:
    responder = session.get(Responder, assignment.responder_id, with_for_update=True)
    if responder is None:
        return
    began: datetime = assignment.started_at or assignment.accepted_at or assignment.offered_at
    ended: datetime = assignment.completed_at or utcnow()
    minutes = max(0, math.ceil((ended - began).total_seconds() / 60))
    responder.hours_served += math.ceil(minutes / 60)
    responder.points += POINTS_PER_TASK + URGENCY_BONUS.get(request.urgency, 0)
    name_action(session, responder.id, "credit")
    session.flush()


def complete(session: Session, request: ServiceRequest, assignment: Assignment) -> None:
    _check(assignment, "completed")
    transition_assignment(session, assignment, "completed")
    _credit(session, request, assignment)
    if request.state == "in_progress" and not repo.live_assignments(session, request.id):
        _spend(session, request)
        transition_request(session, request, "completed")


def withdraw(
    session: Session, request: ServiceRequest, assignment: Assignment, to_state: str, reason: str
) -> None:
    """A member declined or let the offer time out: the whole offer goes back to the queue."""
    _check(assignment, to_state)
    if request.state != "offered":
        raise Conflict(f"The request is {request.state}; only an open offer can be {to_state}.")
    transition_assignment(session, assignment, to_state, reason=reason)
    for other in repo.live_assignments(session, request.id):
        transition_assignment(session, other, "cancelled", reason=f"team member {to_state}")
    release(session, request, f"offer {to_state}")
    transition_request(session, request, "submitted", reason=reason)


def _close(session: Session, request: ServiceRequest, to_state: str, reason: str) -> None:
    if to_state not in REQUEST_MOVES.get(request.state, frozenset()):
        raise Conflict(f"A {request.state} request cannot become {to_state}.")
    for a in repo.live_assignments(session, request.id):
        transition_assignment(session, a, "cancelled", reason=reason)
    release(session, request, f"request {to_state}")
    transition_request(session, request, to_state, reason=reason)


def cancel(session: Session, request: ServiceRequest, reason: str) -> None:
    _close(session, request, "cancelled", reason)


def expire(session: Session, request: ServiceRequest) -> None:
    _close(session, request, "expired", "the window ended before anyone took it")


def unassign(session: Session, request: ServiceRequest, reason: str) -> None:
    """A dispatcher takes the request back from whoever holds it (not once work has started)."""
    if request.state not in ("offered", "accepted"):
        raise Conflict(f"A {request.state} request has nobody to unassign.")
    _close(session, request, "submitted", reason)


def rate(session: Session, request: ServiceRequest, rating: int, comment: str | None) -> None:
    if request.state != "completed":
        raise Conflict(f"Only a completed request can be rated; this one is {request.state}.")
    if request.rating is not None:
        raise Conflict("This request has already been rated.")
    request.rating = rating
    request.rating_comment = comment
    name_action(session, request.id, "rate")
    session.flush()
    event(
        session,
        "request.rated",
        community_id=request.community_id,
        subject_type="service_request",
        subject_id=request.id,
        payload={"rating": rating, "grid_id": request.grid_id},
    )


def is_live(assignment: Assignment) -> bool:
    return assignment.state in LIVE_STATES
