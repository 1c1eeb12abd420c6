"""The one translation between database rows and the solver's objects, both ways.

Times: the problem's origin is local midnight (Asia/Shanghai) of the planning day, the day
of the earliest window among the requests planned (or of ``now``); every time is minutes
from it. Shifts are expanded for each day the requests' windows touch (at most a week).

Caps: a responder's per-day caps (organizations: the lower of ``max_tasks_per_day`` and
``slots_per_day``), less the counted work (live or completed) of the planning day that is
not passed as ``fixed``, and no more than what is left of the weekly caps. Work counts toward
the day its request's window starts.

Zones: a request carries the id of the zone it lies in; the zone's status decides whether
only responders cleared for it may enter (sealed and controlled) or anyone (precaution). A
zone id that names no zone (written before zones were drawn) is treated as sealed.

Funds: each fund's balance is what it has available, plus what it already holds for fixed
work in the problem (the solver counts fixed charges against the balance itself).
"""

import math
import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

import solver
from service.assignments.models import Assignment
from service.dispatch import repository as repo
from service.requests.models import ServiceRequest
from service.responders.models import Responder
from service.types import new_id, utcnow

LOCAL = ZoneInfo("Asia/Shanghai")
MAX_DAYS = 7
FIXED_STATES = ("accepted", "in_progress")
LIVE_FIXED_STATES = ("offered", "accepted", "in_progress")


@dataclass
class Context:
    """What the problem was built from: the origin and the rows behind each id."""

    origin: datetime
    day_end: datetime
    week_start: datetime
    week_end: datetime
    # Any planned community in emergency mode: emergency caps and the emergency team apply.
    emergency: bool = False
    requests: dict[str, ServiceRequest] = field(default_factory=dict)
    request_dicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    responders: dict[str, repo.ResponderTerms] = field(default_factory=dict)
    # adapter.responder_signature of each responder in the problem.
    signatures: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def minutes(self, at: datetime) -> int:
        return math.floor((at - self.origin).total_seconds() / 60)

    def instant(self, minutes: int) -> datetime:
        return self.origin + timedelta(minutes=minutes)


def planning_origin(at: datetime) -> datetime:
    """Local midnight of the day ``at`` falls in."""
    local = at.astimezone(LOCAL)
    return datetime.combine(local.date(), time(0), tzinfo=LOCAL)


def _context(start: datetime) -> Context:
    origin = planning_origin(start)
    week_start = origin - timedelta(days=origin.weekday())
    return Context(
        origin=origin,
        day_end=origin + timedelta(days=1),
        week_start=week_start,
        week_end=week_start + timedelta(days=7),
    )


def _clock(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


@lru_cache(maxsize=1024)
def _weekly(
    pattern: tuple[tuple[int, str, str], ...], origin: datetime, days: int
) -> tuple[tuple[int, int], ...]:
    """A weekly pattern laid over ``days`` days from ``origin``, in problem minutes. Most
    responders share a few patterns: a warm state of 10,000 spent most of a second here."""
    out = []
    for k in range(days):
        weekday = (origin + timedelta(days=k)).weekday()
        out += [(k * 1440 + _clock(a), k * 1440 + _clock(b)) for d, a, b in pattern if d == weekday]
    return tuple(sorted(out))


def shifts_of(responder: repo.ResponderTerms, ctx: Context, days: int) -> list[list[int]] | None:
    """The responder's shifts in problem minutes; None (always available) if it has none at all."""
    if not responder.weekly_shifts and not responder.shift_exceptions:
        return None
    if not responder.shift_exceptions:
        pattern = tuple((s["weekday"], s["start"], s["end"]) for s in responder.weekly_shifts)
        return [list(shift) for shift in _weekly(pattern, ctx.origin, days)]
    exceptions = {e["date"]: e for e in responder.shift_exceptions or []}
    out: list[list[int]] = []
    for k in range(days):
        day = (ctx.origin + timedelta(days=k)).date()
        base = k * 1440
        exception = exceptions.get(day.isoformat())
        if exception is not None:
            if not exception.get("available"):
                continue
            if exception.get("start") is None:
                out.append([base, base + 1440])
            else:
                out.append([base + _clock(exception["start"]), base + _clock(exception["end"])])
            continue
        if not responder.weekly_shifts:
            out.append([base, base + 1440])
            continue
        for shift in responder.weekly_shifts:
            if shift["weekday"] == day.weekday():
                out.append([base + _clock(shift["start"]), base + _clock(shift["end"])])
    return sorted(out)


def _left(cap: int | None, used: int) -> int | None:
    return None if cap is None else max(0, cap - used)


def _min_cap(*caps: int | None) -> int | None:
    known = [c for c in caps if c is not None]
    return min(known) if known else None


def day_caps(
    responder: Responder | repo.ResponderTerms, emergency: bool
) -> tuple[int | None, int | None]:
    """(tasks, minutes) a responder may take in a day: in emergency mode its emergency caps,
    where it has them, replace the daily ones; an organization never exceeds its slots."""
    tasks, minutes = responder.max_tasks_per_day, responder.max_minutes_per_day
    if emergency:
        if responder.emergency_max_tasks_per_day is not None:
            tasks = responder.emergency_max_tasks_per_day
        if responder.emergency_max_minutes_per_day is not None:
            minutes = responder.emergency_max_minutes_per_day
    slots = responder.slots_per_day if responder.kind == "organization" else None
    return _min_cap(tasks, slots), minutes


def responder_dict(
    responder: repo.ResponderTerms,
    ctx: Context,
    days: int,
    day_used: tuple[int, int, int],
    week_used: tuple[int, int],
) -> dict[str, Any]:
    tasks, minutes, boxes = day_used
    task_cap, minute_cap = day_caps(responder, ctx.emergency)
    categories = responder.service_categories or None
    return {
        "id": responder.id,
        "kind": responder.kind,
        "location": [responder.lon, responder.lat],
        "radius_m": responder.radius_m,
        "speed_kmh": responder.speed_kmh,
        "qualifications": list(responder.qualifications or []),
        "licence": responder.licence_level,
        "categories": list(categories) if categories else None,
        "community_ids": responder.community_ids,
        "shifts": shifts_of(responder, ctx, days),
        "max_tasks": _min_cap(
            _left(task_cap, tasks),
            _left(responder.max_tasks_per_week, week_used[0]),
        ),
        "max_minutes": _min_cap(
            _left(minute_cap, minutes),
            _left(responder.max_minutes_per_week, week_used[1]),
        ),
        "load_capacity": max(0, responder.load_capacity - boxes),
        "zone_clearances": list(responder.zone_clearances or []),
    }


def responder_signature(responder: Responder | repo.ResponderTerms) -> tuple[Any, ...]:
    """Everything about a responder that decides what it may be offered, apart from its work.

    Two rows with equal signatures give the solver the same responder (before counted work)."""
    return (
        responder.active,
        responder.kind,
        responder.lon,
        responder.lat,
        responder.radius_m,
        responder.speed_kmh,
        tuple(responder.qualifications or ()),
        responder.licence_level,
        tuple(responder.service_categories or ()),
        tuple(sorted(responder.community_ids)),
        repr(responder.weekly_shifts),
        repr(responder.shift_exceptions),
        responder.max_tasks_per_day,
        responder.slots_per_day,
        responder.max_minutes_per_day,
        responder.max_tasks_per_week,
        responder.max_minutes_per_week,
        responder.emergency_team,
        responder.emergency_max_tasks_per_day,
        responder.emergency_max_minutes_per_day,
        responder.load_capacity,
        tuple(responder.zone_clearances or ()),
    )


def live_request_dict(
    session: Session, request: ServiceRequest, ctx: Context, now: datetime, *, fresh: bool
) -> dict[str, Any]:
    """One request as live matching sees it: from ``now`` on, with its resident's facts.
    A ``fresh`` request (stored in this transaction) has no declined offers to exclude."""
    tags = repo.resident_tags(session, [request.resident_id] if request.resident_id else [])
    excluded = {} if fresh else repo.excluded_responders(session, [request.id])
    previous = repo.previous_responders(
        session, [request.resident_id] if request.resident_id else []
    )
    return request_dict(
        request,
        ctx,
        tags=tags.get(request.resident_id or "", []),
        excluded=excluded.get(request.id, set()),
        previous=previous.get(request.resident_id or ""),
        not_before=now,
        zone_status=repo.zone_statuses(session, [request.zone_id]).get(request.zone_id or ""),
    )


def request_dict(
    request: ServiceRequest,
    ctx: Context,
    *,
    tags: list[str],
    excluded: set[str],
    previous: str | None,
    not_before: datetime | None = None,
    zone_status: str | None = None,
) -> dict[str, Any]:
    start = request.window_start
    if not_before is not None and not_before > start:
        start = min(not_before, request.window_end)
    team = None
    if request.team:
        # Slots carry a role and a count; the request's licence applies to its social workers.
        team = [
            {
                "role": slot["role"],
                "count": slot["count"],
                "qualifications": [],
                "min_licence": request.min_licence if slot["role"] == "social_worker" else "none",
            }
            for slot in request.team
        ]
    return {
        "id": request.id,
        "location": [request.lon, request.lat],
        "category": request.category_code,
        "community_id": request.community_id,
        "resident_id": request.resident_id,
        "resident_tags": tags,
        "urgency": request.urgency,
        "window": [ctx.minutes(start), ctx.minutes(request.window_end)],
        "duration": request.duration_min,
        "quantity": request.quantity,
        "cost": request.cost_fen,
        "qualifications": list(request.required_qualifications or []),
        "min_licence": request.min_licence,
        "max_distance_m": request.max_distance_m,
        "team": team,
        "zone_id": request.zone_id,
        "zone_status": zone_status,
        "excluded_responders": sorted(excluded),
        "previous_responder": previous,
    }


def fund_dicts(
    session: Session, community_ids: list[str], held: dict[str, int]
) -> list[dict[str, Any]]:
    from service.funds import service as funds_service

    funds = repo.funds_for(session, community_ids)
    ledgers = funds_service.ledgers(session, [f.id for f in funds])
    streets = repo.street_communities(session, {f.street_id for f in funds if f.street_id})
    return [
        {
            "id": f.id,
            "balance": max(0, ledgers[f.id].available_fen) + held.get(f.id, 0),
            "categories": f.eligible_categories,
            "community_ids": [f.community_id] if f.community_id else streets[f.street_id or ""],
            "resident_tags": f.eligible_tags,
        }
        for f in funds
    ]


def build_problem(
    session: Session,
    community_ids: list[str],
    request_ids: list[str] | None = None,
    now: datetime | None = None,
    *,
    responder_ids: list[str] | None = None,
    fixed_states: tuple[str, ...] = FIXED_STATES,
    honour_exclusions: bool = True,
    days: int | None = None,
) -> tuple[solver.Problem, Context]:
    """The problem for these communities' active responders and the given requests.

    Work of the responders in ``fixed_states`` on the planning days enters as ``fixed`` when
    all its members are in the problem; all other counted work only lowers the caps. Without
    requests the planning day is ``now``'s; ``days`` overrides how many days are expanded.
    """
    now = now or utcnow()
    planned = list(repo.requests_by_id(session, request_ids or []).values())
    first = min(max(r.window_start, now) for r in planned) if planned else now
    ctx = _context(first)
    last = max([first, *(r.window_end for r in planned)])
    if days is None:
        days = min(MAX_DAYS, (planning_origin(last) - ctx.origin).days + 1)
    horizon = ctx.origin + timedelta(days=days)

    ctx.emergency = repo.in_emergency(
        session, community_ids or sorted({r.community_id for r in planned})
    )
    responders = [
        r
        for r in repo.serving_terms(session, community_ids, responder_ids)
        if ctx.emergency or not r.emergency_team
    ]
    ctx.responders = {r.id: r for r in responders}
    # A whole community's responders are named by a query, not one parameter each.
    among = ctx.responders if responder_ids is not None else repo.serving_ids(community_ids)
    counted = [
        w
        for w in repo.work(
            session, among, min(ctx.week_start, ctx.origin), max(ctx.week_end, horizon)
        )
        if w.responder_id in ctx.responders
    ]

    # Fixed: whole live groups of the planning days whose members are all in the problem.
    planned_ids = {r.id for r in planned}
    groups: dict[str, list[repo.Work]] = defaultdict(list)
    for w in counted:
        if ctx.origin <= w.window_start < horizon and w.request_id not in planned_ids:
            groups[w.request_id].append(w)
    members_by_request = repo.assignments_by_request(session, groups, fixed_states)
    fixed_assignments = {
        rid: rows
        for rid, rows in members_by_request.items()
        if rows and all(a.responder_id in ctx.responders for a in rows)
    }
    fixed_ids = {a.id for rows in fixed_assignments.values() for a in rows}

    day_used: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    week_used: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for w in counted:
        if w.assignment_id in fixed_ids:
            continue
        if ctx.origin <= w.window_start < ctx.day_end:
            used = day_used[w.responder_id]
            used[0] += 1
            used[1] += w.minutes
            used[2] += w.quantity
        if ctx.week_start <= w.window_start < ctx.week_end:
            week_used[w.responder_id][0] += 1
            week_used[w.responder_id][1] += w.minutes

    fixed_requests = repo.requests_by_id(session, fixed_assignments)
    every = {**fixed_requests, **{r.id: r for r in planned}}
    ctx.requests = every
    tags = repo.resident_tags(session, [r.resident_id for r in every.values() if r.resident_id])
    excluded = repo.excluded_responders(session, planned_ids) if honour_exclusions else {}
    previous = repo.previous_responders(session, [r.resident_id for r in planned if r.resident_id])
    statuses = repo.zone_statuses(session, [r.zone_id for r in every.values()])
    for r in every.values():
        ctx.request_dicts[r.id] = request_dict(
            r,
            ctx,
            tags=tags.get(r.resident_id or "", []),
            excluded=excluded.get(r.id, set()),
            previous=previous.get(r.resident_id or "") if r.id in planned_ids else None,
            not_before=now if r.id in planned_ids else None,
            zone_status=statuses.get(r.zone_id or ""),
        )
    held: dict[str, int] = defaultdict(int)
    fixed = []
    for rid, rows in sorted(fixed_assignments.items()):
        fund_id = rows[0].fund_id if every[rid].cost_fen > 0 else None
        if fund_id:
            held[fund_id] += every[rid].cost_fen
        start = rows[0].planned_start
        fixed.append(
            {
                "request_id": rid,
                "responder_ids": [a.responder_id for a in rows],
                "start": ctx.minutes(start) if start is not None else None,
                "fund_id": fund_id,
            }
        )
    funds = fund_dicts(
        session, community_ids or sorted({r.community_id for r in every.values()}), held
    )
    known_funds = {f["id"] for f in funds}
    for f in fixed:
        if f["fund_id"] not in known_funds:
            f["fund_id"] = None
    ctx.signatures = {r.id: responder_signature(r) for r in responders}
    keys = [
        (
            r.id,
            ctx.signatures[r.id],
            tuple(day_used[r.id]),
            tuple(week_used[r.id]),
            ctx.origin,
            days,
            ctx.emergency,
        )
        for r in responders
    ]
    with _PARSED_LOCK:
        known = [_PARSED.get(key) for key in keys]
    # The parsed responder where one is kept, else its dict (the parser takes either).
    layouts: list[Any] = [
        parsed if parsed is not None else responder_dict(r, ctx, days, key[2], key[3])
        for r, key, parsed in zip(responders, keys, known, strict=True)
    ]
    problem = solver.Problem.from_dict(
        {
            "origin": ctx.origin.isoformat(),
            # Planned requests first, then the fixed ones, in a stable order.
            "requests": [ctx.request_dicts[r.id] for r in planned]
            + [ctx.request_dicts[rid] for rid in sorted(fixed_requests)],
            "responders": layouts,
            "funds": funds,
            "fixed": fixed,
        }
    )
    with _PARSED_LOCK:
        for key, parsed in zip(keys, problem.responders, strict=True):
            _PARSED[key] = parsed
            _PARSED.move_to_end(key)
        while len(_PARSED) > MAX_PARSED:
            _PARSED.popitem(last=False)
    return problem, ctx


# Solver responders already parsed, by everything their dict is made of: a warm state's
# rebuild finds most of its 10,000 unchanged and skips their dicts and parsing (about 40 %
# of a build). The key holds the row's signature, its counted work, and the day, horizon and
# mode it was laid out for.
MAX_PARSED = 50_000
_PARSED: "OrderedDict[tuple[Any, ...], solver.problem.Responder]" = OrderedDict()
_PARSED_LOCK = threading.Lock()


def plan_to_assignments(
    ctx: Context,
    planned: solver.Assignment,
    *,
    state: str = "offered",
    offered_at: datetime | None = None,
    respond_by: datetime | None = None,
    note: str | None = None,
) -> list[Assignment]:
    """One assignment row per member of a solver assignment (not yet added to the session)."""
    request = ctx.requests[planned.request_id]
    start = ctx.instant(planned.start) if planned.start is not None else None
    return [
        Assignment(
            id=new_id(),
            request_id=request.id,
            responder_id=responder_id,
            community_id=request.community_id,
            role=role,
            state=state,
            planned_start=start,
            offered_at=offered_at or utcnow(),
            respond_by=respond_by,
            travel_minutes=minutes,
            distance_m=metres,
            fund_id=planned.fund_id,
            note=note,
        )
        for responder_id, role, minutes, metres in zip(
            planned.responder_ids,
            planned.roles,
            planned.travel_minutes,
            planned.distance_m,
            strict=True,
        )
    ]
