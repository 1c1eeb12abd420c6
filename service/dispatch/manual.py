"""Manual dispatch: a dispatcher names the responders; the solver's checker has the last word.

Hard constraints are checked by ``solver.check`` (written independently of the solver) on a
problem holding this request, the named responders and their fixed work, so a dispatcher
is held to exactly the rules the solver obeys. Soft issues are allowed and reported:
a responder farther than 80 % of its radius (its preferred distance), and a responder who
already has more tasks today than the community's average.
"""

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

import solver
from service.assignments.models import Assignment
from service.dispatch import adapter, lifecycle, live
from service.dispatch import repository as repo
from service.errors import Conflict, FieldError, Unprocessable
from service.requests.models import ServiceRequest
from service.types import utcnow
from solver.check import check, fund_eligible, haversine_m, travel_minutes

PREFERRED_SHARE = 0.8
ASSIGNABLE = ("submitted", "offered", "accepted")


def _travel(
    problem: solver.Problem, responder_id: str, location: tuple[float, float]
) -> tuple[int, int]:
    r = next(x for x in problem.responders if x.id == responder_id)
    metres = round(haversine_m(r.location, location))
    return travel_minutes(metres, r.speed_kmh), metres


def _planned(
    problem: solver.Problem,
    ctx: adapter.Context,
    request: ServiceRequest,
    ids: list[str],
    roles: list[str],
) -> solver.Assignment:
    d = ctx.request_dicts[request.id]
    start = d["window"][0]
    fund_id = None
    if request.cost_fen > 0:
        fund_id = next(
            (
                f["id"]
                for f in problem.to_dict()["funds"]
                if fund_eligible(f, d) and f["balance"] >= request.cost_fen
            ),
            None,
        )
    legs = [_travel(problem, j, (request.lon, request.lat)) for j in ids]
    return solver.Assignment(
        request_id=request.id,
        responder_ids=tuple(ids),
        roles=tuple(roles),
        start=start,
        travel_minutes=tuple(m for m, _ in legs),
        distance_m=tuple(x for _, x in legs),
        fund_id=fund_id,
    )


def _fixed(problem: solver.Problem) -> list[solver.Assignment]:
    kinds = {r.id: r.kind for r in problem.responders}
    where = {q.id: q.location for q in problem.requests}
    out = []
    for f in problem.fixed:
        legs = [_travel(problem, j, where[f.request_id]) for j in f.responder_ids]
        out.append(
            solver.Assignment(
                request_id=f.request_id,
                responder_ids=tuple(f.responder_ids),
                roles=tuple(kinds[j] for j in f.responder_ids),
                start=f.start,
                travel_minutes=tuple(m for m, _ in legs),
                distance_m=tuple(x for _, x in legs),
                fund_id=f.fund_id,
                fixed=True,
            )
        )
    return out


def _warnings(
    session: Session, ctx: adapter.Context, request: ServiceRequest, planned: solver.Assignment
) -> list[str]:
    out = []
    for j, metres in zip(planned.responder_ids, planned.distance_m, strict=True):
        preferred = PREFERRED_SHARE * ctx.responders[j].radius_m
        if metres > preferred:
            out.append(
                f"responder {j} is {metres / 1000:.1f} km away, beyond the preferred "
                f"{preferred / 1000:.1f} km"
            )
    day = adapter.planning_origin(request.window_start)
    counts = repo.task_counts(session, request.community_id, day, day + timedelta(days=1))
    if counts:
        average = sum(counts.values()) / len(counts)
        for j in planned.responder_ids:
            if counts.get(j, 0) > average:
                out.append(
                    f"responder {j} already has {counts[j]} task(s) that day, above the "
                    f"community's average of {average:.1f}"
                )
    return out


def _starts(
    problem: solver.Problem,
    ctx: adapter.Context,
    request: ServiceRequest,
    planned: solver.Assignment,
    fixed: list[solver.Assignment],
) -> list[int]:
    """Where a start can first fit: the window's first minute, each shift's opening and the
    end of each member's fixed work (plus travel), kept inside the window."""
    low, high = ctx.request_dicts[request.id]["window"]
    shifts = {r.id: r.shifts for r in problem.responders}
    durations = {q.id: q.duration for q in problem.requests}
    starts = {low}
    for j, minutes in zip(planned.responder_ids, planned.travel_minutes, strict=True):
        opens = [s for s, _ in shifts[j] or ()]
        ends = [
            f.start + durations[f.request_id] + t
            for f in fixed
            if f.start is not None
            for k, t in zip(f.responder_ids, f.travel_minutes, strict=True)
            if k == j
        ]
        starts.update(x + minutes for x in (*opens, *ends) if low <= x + minutes <= high)
    return sorted(starts)


def _violations(
    problem: solver.Problem,
    planned: solver.Assignment,
    fixed: list[solver.Assignment],
    responder_ids: list[str],
) -> list:
    plan = solver.Plan(
        status="feasible",
        method="greedy",
        objective=0.0,
        bound=0.0,
        gap=0.0,
        time_s=0.0,
        assignments=(planned, *fixed),
        unassigned=(),
    )
    # Only what concerns this request or the named responders: older work is not re-judged.
    return [
        v
        for v in check(problem, plan)
        if v.request_id == planned.request_id or set(v.responder_ids) & set(responder_ids)
    ]


def _check_named(session: Session, request: ServiceRequest, ids: list[str]) -> None:
    if len(set(ids)) != len(ids):
        raise Unprocessable.on("responder_ids", "a responder is named twice")
    serving = {r.id for r in repo.active_responders(session, [request.community_id], ids)}
    for j in ids:
        if j not in serving:
            raise Unprocessable.on(
                "responder_ids", f"unknown or inactive responder {j!r} for this community"
            )


def assign(
    session: Session,
    request: ServiceRequest,
    responder_ids: list[str],
    roles: list[str] | None,
    note: str | None,
    now: datetime | None = None,
) -> tuple[list[Assignment], list[str]]:
    """Assign (or reassign) by hand; the request is locked by the caller."""
    now = now or utcnow()
    if request.state not in ASSIGNABLE:
        raise Conflict(f"A {request.state} request cannot be assigned by hand.")
    if roles is not None and len(roles) != len(responder_ids):
        raise Unprocessable.on("roles", "give one role per responder, or none")
    _check_named(session, request, responder_ids)
    live.single_writer(session)
    repo.lock_responders(session, responder_ids)
    if request.state != "submitted":
        lifecycle.unassign(session, request, "reassigned by a dispatcher")
    problem, ctx = adapter.build_problem(
        session,
        [request.community_id],
        [request.id],
        now,
        responder_ids=responder_ids,
        fixed_states=adapter.LIVE_FIXED_STATES,
        honour_exclusions=False,
    )
    kinds = {r.id: r.kind for r in problem.responders}
    planned = _planned(
        problem, ctx, request, responder_ids, list(roles or [kinds[j] for j in responder_ids])
    )
    fixed = _fixed(problem)
    violations = None
    for start in _starts(problem, ctx, request, planned, fixed):
        attempt = replace(planned, start=start)
        found = _violations(problem, attempt, fixed, responder_ids)
        if violations is None or not found:
            planned, violations = attempt, found
        if not found:
            break
    if violations:
        errors = [
            FieldError(field="responder_ids", message=v.message, type=v.code) for v in violations
        ]
        raise Unprocessable(
            "The assignment breaks a hard constraint: " + "; ".join(v.message for v in violations),
            errors,
        )
    warnings = _warnings(session, ctx, request, planned)
    text = "; ".join([*(["manual: " + w for w in warnings]), *([note] if note else [])]) or None
    outcome = live.offer(session, ctx, request, planned, now, note=text)
    rows = [session.get(Assignment, o["assignment_id"]) for o in outcome.offers]
    for a in rows:
        assert a is not None
        lifecycle.event(
            session,
            "assignment.manual",
            community_id=a.community_id,
            subject_type="assignment",
            subject_id=a.id,
            payload={"request_id": request.id, "warnings": warnings},
            responder_id=a.responder_id,
        )
    return [a for a in rows if a is not None], warnings
