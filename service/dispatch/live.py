"""Live matching: a new (or re-queued) request is offered at once to the best responder or team.

The solver proposes from a snapshot; the database decides. Before writing, the request row
and every candidate responder are locked (request first, then responders in id order, so
concurrent matchers never deadlock), their counted work is re-read and every cap re-checked;
a candidate that no longer fits is skipped for the next alternative. On SQLite, which has no
row locks, one process-wide lock makes live matching a single writer until the transaction
ends.
"""

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

import solver
from service.assignments.models import LIVE_STATES, Assignment
from service.config import get_settings
from service.dispatch import adapter, lifecycle, warm
from service.dispatch import repository as repo
from service.errors import Conflict
from service.requests.models import ServiceRequest
from service.responders.models import Responder
from service.types import utcnow
from solver.match import as_request
from solver.problem import Request

_SQLITE_WRITER = threading.Lock()


@dataclass
class Outcome:
    """What live matching did with a request, as the API reports it."""

    outcome: str
    offers: list[dict[str, Any]] = field(default_factory=list)
    reason: str | None = None
    message: str | None = None
    remedy: str | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.outcome == "offered":
            return {"outcome": "offered", "offers": self.offers}
        return {
            "outcome": self.outcome,
            "reason": self.reason,
            "message": self.message,
            "remedy": self.remedy,
        }


def _queued(reason: str, message: str, remedy: str | None) -> Outcome:
    return Outcome("queued", reason=reason, message=message, remedy=remedy)


def single_writer(session: Session) -> None:
    """On SQLite, hold the process-wide writer lock until this transaction ends."""
    if session.get_bind().dialect.name != "sqlite" or session.info.get("live_writer"):
        return
    _SQLITE_WRITER.acquire()
    session.info["live_writer"] = True

    def _release(_session: Session, *_: Any) -> None:
        if session.info.pop("live_writer", False):
            _SQLITE_WRITER.release()

    for name in ("after_commit", "after_rollback"):
        sa_event.listen(session, name, _release, once=True)


def on_created(session: Session, request: ServiceRequest) -> Outcome | None:
    """Called in the transaction that stored the request; None where dispatch is by hand."""
    community = repo.community(session, request.community_id)
    if community is None or not community.auto_dispatch:
        return None
    return match(session, request, fresh=True)


def rematch(session: Session, request: ServiceRequest) -> Outcome:
    """Match a request that is back in the queue (declined, timed out) without those responders."""
    community = repo.community(session, request.community_id)
    if community is None or not community.auto_dispatch:
        return _queued(
            "manual_dispatch",
            "This community dispatches by hand; the request waits for a dispatcher.",
            "a dispatcher assigns it",
        )
    return match(session, request)


def _metrics(seconds: float, solving: float, offers: int) -> None:
    from service import metrics

    metrics.LIVE_MATCH_SECONDS.observe(seconds)
    metrics.SOLVE_SECONDS.labels(kind="live").observe(solving)
    if offers:
        metrics.OFFERS_MADE.inc(offers)


def match(
    session: Session, request: ServiceRequest, now: datetime | None = None, *, fresh: bool = False
) -> Outcome:
    """Offer the request to the best responder or team that still fits, or say why not.

    ``fresh``: the request was added in this very transaction (and may not be flushed yet),
    so no one else can see it, lock it or have offered it yet; the re-read under lock is
    skipped."""
    began = time.perf_counter()
    now = now or utcnow()
    if not fresh:
        request = repo.lock_request(session, request.id)
    elif request.cost_fen > 0:
        # A cost is reserved on a fund by a ledger entry that names the request: the request
        # row goes in first (the ledger entry has no relationship that would order them).
        session.flush()
    single_writer(session)
    if not fresh and (request.state != "submitted" or repo.live_assignments(session, request.id)):
        return _queued("not_open", f"The request is {request.state}.", None)
    if request.window_end <= now:
        outcome = _queued(
            "window_passed",
            "The request's window has already ended; nobody can still start it in time.",
            "a later window",
        )
        _record_queued(session, request, outcome)
        return outcome
    origin = adapter.planning_origin(max(request.window_start, now))
    day = warm.day_state(session, request.community_id, origin)
    community = repo.community(session, request.community_id)  # loaded already: no query
    if community is not None and day.ctx.emergency != (community.mode == "emergency"):
        # The community switched mode since the state was built: caps and team differ.
        day = warm.rebuild_now(session, day)
    if request.cost_fen > 0 and not warm.refresh_funds(session, day):
        day = warm.rebuild_now(session, day)
    ctx = replace(day.ctx, requests={request.id: request}, request_dicts={}, responders={})
    wanted = as_request(adapter.live_request_dict(session, request, ctx, now, fresh=fresh))
    solving = time.perf_counter()
    with day.lock:
        found = solver.match_one(wanted, day.state)
    solving = time.perf_counter() - solving
    outcome = _offer_first_fitting(session, ctx, request, found, now, day, wanted)
    _metrics(time.perf_counter() - began, solving, len(outcome.offers))
    return outcome


def _offer_first_fitting(
    session: Session,
    ctx: adapter.Context,
    request: ServiceRequest,
    found: solver.Match,
    now: datetime,
    day: warm.DayState,
    wanted: Request,
) -> Outcome:
    if found.best is None:
        why = found.unassigned
        outcome = _queued(
            why.reason if why else "unmatched",
            why.message if why else "No responder fits.",
            why.remedy if why else None,
        )
        _record_queued(session, request, outcome)
        return outcome
    candidates = [found.best, *found.alternatives]
    locked = _lock_candidates(session, candidates)
    for attempt in range(2):
        refused = False
        for candidate in candidates:
            if not all(
                j in locked and locked[j].active and (ctx.emergency or not locked[j].emergency_team)
                for j in candidate.responder_ids
            ):
                continue
            if not all(
                adapter.responder_signature(locked[j]) == day.signatures.get(j)
                for j in candidate.responder_ids
            ):
                # The state knew this responder differently (edited since): its word is stale.
                day.stale = True
                continue
            if not fits(session, ctx, request, candidate, locked):
                refused = True
                # Another process (a batch run's worker, another API worker) may have given
                # them work: count it in the state, so it is not proposed again.
                _catch_up(session, day, candidate)
                continue
            try:
                outcome = offer(session, ctx, request, candidate, now, warm_day=day)
            except Conflict:
                # The fund was drawn down by a concurrent offer: nothing was written.
                continue
            _count_in_state(session, day, candidate, wanted)
            return outcome
        if attempt or not refused:
            break
        # A concurrent offer took the time or capacity the state proposed. Offers are counted
        # in the state before their locks are released, so, holding the locks now, the state
        # knows them: ask again, among the responders already locked (no new lock, no
        # lock-order inversion).
        with day.lock:
            again = solver.match_one(wanted, day.state)
        candidates = [
            c
            for c in ([again.best, *again.alternatives] if again.best else [])
            if all(j in locked for j in c.responder_ids)
        ]
    outcome = _queued(
        "capacity",
        "Every suitable responder reached a task, minute or load limit a moment ago.",
        "one more responder free in the window",
    )
    _record_queued(session, request, outcome)
    return outcome


def _catch_up(session: Session, day: warm.DayState, candidate: solver.Assignment) -> None:
    """Count in the state the live tasks the candidates hold on the state's days that it
    did not count (neither built from nor offered by this process), one share each, as if
    this process had offered them. A refusal with all work known was a race inside this
    process, which the state has already caught up with. Another process's later release
    of such a task raises the community's change counter: until the next check of it (at
    most `live_cache_ttl_s` later) the state counts the responder busier than it is (a
    safe error). Catching up per responder replaces a rebuild of the whole state, which at
    10,000 responders took most of a second worker's time."""
    horizon = day.origin + timedelta(days=adapter.MAX_DAYS)
    for w in repo.work(session, candidate.responder_ids, day.origin, horizon):
        key = (w.request_id, w.responder_id)
        if w.state not in LIVE_STATES or w.request_id in day.fixed_requests or key in day.members:
            continue
        start = day.ctx.minutes(w.planned_start) if w.planned_start is not None else None
        share = solver.Assignment(w.request_id, (w.responder_id,), ("",), start, (w.travel,), (0,))
        # Only what the caps read: the request's duration and boxes (no fund: balances
        # are re-read under lock whenever an offer draws on one).
        stub = Request(w.request_id, (0.0, 0.0), duration=w.duration, quantity=w.quantity)
        day.commit(key, warm.Member(share, stub))


def _lock_candidates(
    session: Session, candidates: list[solver.Assignment]
) -> dict[str, repo.ResponderTerms]:
    """Lock the candidates' responders, skipping those another matcher holds right now.

    Concurrent requests from one neighbourhood all rank the same few responders first;
    waiting for each other's locks would serialise them. Skipping spreads them over the next
    best instead. Only if no candidate could be locked whole does the matcher wait, and then
    only for rows above every id it already holds, so waits follow one global order and
    cannot deadlock."""
    ids = {j for c in candidates for j in c.responder_ids}
    locked = {r.id: r for r in repo.lock_responder_terms(session, ids, skip_locked=True)}
    if any(all(j in locked for j in c.responder_ids) for c in candidates):
        return locked
    held = max(locked, default="")
    for c in candidates:
        missing = [j for j in c.responder_ids if j not in locked]
        if all(j > held for j in missing):
            locked.update((r.id, r) for r in repo.lock_responder_terms(session, missing))
            return locked
    return locked


def _count_in_state(
    session: Session, day: warm.DayState, candidate: solver.Assignment, wanted: Request
) -> None:
    """Count each member's share in the warm state now, while its row is still locked, so a
    matcher waiting for that lock finds the state already up to date; a rollback takes it
    back. Shares are per member: one member of a team may decline while the others stay."""
    keys = []
    for j, role, minutes, metres in zip(
        candidate.responder_ids,
        candidate.roles,
        candidate.travel_minutes,
        candidate.distance_m,
        strict=True,
    ):
        share = replace(
            candidate,
            responder_ids=(j,),
            roles=(role,),
            travel_minutes=(minutes,),
            distance_m=(metres,),
            fund_id=None,
        )
        day.commit((wanted.id, j), warm.Member(share, wanted))
        keys.append((wanted.id, j))

    def undo() -> None:
        for key in keys:
            day.release(key)

    warm.on_rollback(session, undo)


def _record_queued(session: Session, request: ServiceRequest, outcome: Outcome) -> None:
    lifecycle.event(
        session,
        "request.queued",
        community_id=request.community_id,
        subject_type="service_request",
        subject_id=request.id,
        payload={**outcome.as_dict(), "grid_id": request.grid_id},
    )


def fits(
    session: Session,
    ctx: adapter.Context,
    request: ServiceRequest,
    candidate: solver.Assignment,
    locked: Mapping[str, Responder | repo.ResponderTerms],
) -> bool:
    """Re-read the locked responders' counted work and check every cap with this task added,
    and that the visit (with its round trip) overlaps none of their other timed work."""
    day = adapter.planning_origin(request.window_start)
    week = day - timedelta(days=day.weekday())
    ids = list(candidate.responder_ids)
    counted = repo.work(
        session, ids, min(week, day), max(week + timedelta(days=7), day + timedelta(days=1))
    )
    for j, travel in zip(ids, candidate.travel_minutes, strict=True):
        r = locked[j]
        mine = [w for w in counted if w.responder_id == j and w.request_id != request.id]
        today = [w for w in mine if day <= w.window_start < day + timedelta(days=1)]
        this_week = [w for w in mine if week <= w.window_start < week + timedelta(days=7)]
        minutes = request.duration_min + 2 * travel
        task_cap, minute_cap = adapter.day_caps(r, ctx.emergency)
        checks = (
            (task_cap, len(today) + 1),
            (minute_cap, sum(w.minutes for w in today) + minutes),
            (r.max_tasks_per_week, len(this_week) + 1),
            (r.max_minutes_per_week, sum(w.minutes for w in this_week) + minutes),
            (r.load_capacity, sum(w.quantity for w in today) + request.quantity),
        )
        if any(cap is not None and used > cap for cap, used in checks):
            return False
        if candidate.start is not None:
            start = ctx.instant(candidate.start)
            trip = timedelta(minutes=travel)
            out, back = start - trip, start + timedelta(minutes=request.duration_min) + trip
            for busy in (w.busy() for w in mine if w.state in LIVE_STATES):
                if busy is not None and busy[0] < back and out < busy[1]:
                    return False
    return True


def offer(
    session: Session,
    ctx: adapter.Context,
    request: ServiceRequest,
    candidate: solver.Assignment,
    now: datetime,
    *,
    note: str | None = None,
    warm_day: "warm.DayState | None" = None,
) -> Outcome:
    """Write the offer: reserve the cost, add the rows, move the request to offered.

    With ``warm_day`` the caller commits the offer to that warm state itself."""
    lifecycle.reserve(session, request, candidate.fund_id)
    respond_by = now + timedelta(seconds=get_settings().offer_timeout_s)
    rows = adapter.plan_to_assignments(
        ctx, candidate, offered_at=now, respond_by=respond_by, note=note
    )
    if warm_day is not None:
        warm.own(session, [a.id for a in rows])
    add_offers(session, request, rows)
    lifecycle.transition_request(session, request, "offered")
    return Outcome(
        "offered",
        offers=[
            {
                "assignment_id": a.id,
                "responder_id": a.responder_id,
                "role": a.role,
                "respond_by": a.respond_by,
            }
            for a in rows
        ],
    )


def add_offers(session: Session, request: ServiceRequest, rows: list[Assignment]) -> None:
    """Add the offer rows and their events; they are flushed with the request's move to
    offered, which follows."""
    from service.audit.recorder import name_action

    for a in rows:
        session.add(a)
        name_action(session, a.id, "offer")
        lifecycle.event(
            session,
            "assignment.offered",
            community_id=a.community_id,
            subject_type="assignment",
            subject_id=a.id,
            payload={
                "request_id": request.id,
                "role": a.role,
                "respond_by": a.respond_by,
                "planned_start": a.planned_start,
                "note": a.note,
            },
            responder_id=a.responder_id,
            about=request,
        )
