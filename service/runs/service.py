"""Rules for runs: who may start, see, cancel and commit one, and how a plan becomes offers.

Committing re-checks the plan against the database in three short steps, none of which holds
a transaction while the solver works:
1. a dry run writes every planned offer in a transaction that is rolled back, which sorts the
   plan into what still fits, what needs re-solving (a responder gone or inactive, a cap or a
   time slot used meanwhile, a fund drawn down) and what is no longer open (cancelled,
   accepted elsewhere); in that same transaction, with the fitting offers written, the
   problem for the requests to re-solve is built, so it counts them;
2. the solver re-plans only those requests, outside any transaction;
3. one transaction locks the run, the requests (in id order) and the responders (in id
   order, the order live matching uses), checks every offer again and writes what fits.
A routes run's plan is committed by route_commit instead (offers and pickup stock).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session

import solver
from service.auth.principal import SYSTEM, Principal, Role
from service.db import get_sessionmaker
from service.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable
from service.requests.models import ServiceRequest
from service.runs import repository as repo
from service.runs import schemas
from service.runs.models import DispatchRun
from service.runs.publish import end, publish
from service.types import utcnow

RESOLVE_TIME_LIMIT_S = 10


def _dispatcher(principal: Principal) -> None:
    if principal.role not in (Role.admin, Role.dispatcher):
        raise Forbidden("Only dispatchers and admins run batch dispatch.")


def _scope_communities(
    session: Session, principal: Principal, scope: schemas.RunScope
) -> list[str]:
    """The scope's communities; a scope the caller does not (wholly) see is unknown (422)."""
    if scope.type == "community":
        ids = (
            [scope.id] if principal.sees(scope.id) and _community_exists(session, scope.id) else []
        )
    elif scope.type == "grid":
        grid = repo.grid(session, scope.id)
        ids = [grid.community_id] if grid is not None and principal.sees(grid.community_id) else []
    else:
        if scope.type == "street":
            ids = repo.communities_of_street(session, scope.id)
        else:
            ids = repo.communities_of_district(session, scope.id)
        if not all(principal.sees(c) for c in ids):
            ids = []
    if not ids:
        raise Unprocessable.on("scope.id", f"unknown {scope.type} {scope.id!r}")
    return ids


def _community_exists(session: Session, community_id: str) -> bool:
    from service.places.models import Community

    return session.get(Community, community_id) is not None


def _check_scope_size(session: Session, community_ids: list[str], data: schemas.RunCreate) -> None:
    """A run over a whole scope plans every pending request in it: no more than a run may."""
    from service.config import get_settings

    limit = get_settings().runs_max_requests
    grid_id = data.scope.id if data.scope.type == "grid" else None
    pending = len(repo.open_request_ids(session, community_ids, grid_id, None, utcnow()))
    if pending > limit:
        raise PayloadTooLarge(
            f"the scope holds {pending} pending requests and a run plans at most {limit}: "
            "name the requests (request_ids) or narrow the scope"
        )


def create_run(session: Session, principal: Principal, data: schemas.RunCreate) -> DispatchRun:
    _dispatcher(principal)
    community_ids = _scope_communities(session, principal, data.scope)
    request_ids = None
    if data.request_ids is not None:
        request_ids = sorted(set(data.request_ids))
        found = repo.requests_by_id(session, request_ids)
        grid_id = data.scope.id if data.scope.type == "grid" else None
        for i, rid in enumerate(data.request_ids):
            r = found.get(rid)
            if (
                r is None
                or r.community_id not in community_ids
                or (grid_id is not None and r.grid_id != grid_id)
            ):
                raise Unprocessable.on(f"request_ids.{i}", f"unknown request {rid!r} in this scope")
    else:
        _check_scope_size(session, community_ids, data)
    run = DispatchRun(
        scope_type=data.scope.type,
        scope_id=data.scope.id,
        community_ids=community_ids,
        request_ids=request_ids,
        mode=data.mode,
        kind=data.kind,
        time_limit_s=data.time_limit_s,
        seed=data.seed,
        state="queued",
        phase="queued",
        progress={},
        attempts=0,
        cancel_requested=False,
        created_by_key_id=principal.key_id,
    )
    repo.add_run(session, run)
    publish(
        session,
        run,
        "run.created",
        time_limit_s=run.time_limit_s,
        requests=len(request_ids) if request_ids is not None else None,
    )
    from service.runs import jobs

    jobs.enqueue(session, run.id)
    return run


def get_run(session: Session, principal: Principal, run_id: str) -> DispatchRun:
    run = repo.get_run(session, run_id)
    if run is None or not all(principal.sees(c) for c in run.community_ids):
        raise NotFound("No such dispatch run.")
    return run


def plan_of(session: Session, principal: Principal, run_id: str) -> schemas.PlanOut:
    run = get_run(session, principal, run_id)
    if run.plan is None:
        raise Conflict(f"The run is {run.state} and has no plan yet.")
    return plan_out(run)


def plan_out(run: DispatchRun) -> schemas.PlanOut:
    plan: dict[str, Any] = run.plan or {}
    origin = datetime.fromisoformat(plan["origin"])
    assignments = [
        {**a, "start": origin + timedelta(minutes=a["start"]) if a["start"] is not None else None}
        for a in plan["assignments"]
    ]
    return schemas.PlanOut.model_validate(
        {
            **{k: plan[k] for k in ("status", "method", "objective", "bound", "gap", "time_s")},
            "run_id": run.id,
            "state": run.state,
            "kind": plan.get("kind", "assign"),
            "assignments": assignments,
            "unassigned": plan["unassigned"],
            "commit": plan.get("commit"),
            "routes": plan.get("routes"),
        }
    )


def cancel_run(session: Session, principal: Principal, run_id: str) -> DispatchRun:
    """A queued run ends at once; a running one is asked to stop and keeps its best plan."""
    _dispatcher(principal)
    get_run(session, principal, run_id)
    run = repo.get_run(session, run_id, lock=True)
    assert run is not None
    if run.state == "queued":
        end(session, run, "cancelled", utcnow())
    elif run.state == "running":
        from service.runs import parts

        if not parts.cancel(session, run):
            run.cancel_requested = True
    else:
        raise Conflict(f"The run is {run.state}; only a queued or running run can be cancelled.")
    session.flush()
    from service.runs import jobs

    jobs.signal_cancel_after_commit(session, run.id)
    return run


# --- commit


@dataclass
class Sorting:
    """What a pass over planned offers found."""

    written: list[str] = field(default_factory=list)  # assignment ids
    offered: list[str] = field(default_factory=list)  # request ids
    resolve: dict[str, str] = field(default_factory=dict)  # request id -> why
    dropped: dict[str, str] = field(default_factory=dict)  # request id -> why


def commit_run(principal: Principal, run_id: str) -> schemas.CommitOut:
    """Apply a run's plan (see the module docstring); its own short transactions."""
    _dispatcher(principal)
    maker = get_sessionmaker()
    with maker() as session:
        routes = (get_run(session, principal, run_id).plan or {}).get("kind") == "routes"
    if routes:
        from service.runs import route_commit

        return route_commit.commit(principal, run_id)
    with maker() as session:
        session.info["actor"] = principal
        run = get_run(session, principal, run_id)
        _committable(run)
        plan = dict(run.plan or {})
        community_ids = list(run.community_ids)
        time_limit = min(run.time_limit_s, RESOLVE_TIME_LIMIT_S)
        seed = run.seed
        origin = datetime.fromisoformat(plan["origin"])
        candidates = [(origin, a) for a in _planned(plan)]
        # 1. dry run, rolled back; the re-solve problem is built with the fitting offers in
        dry = _write(session, candidates, run_id)
        problem, new_origin = None, origin
        if dry.resolve:
            from service.dispatch import adapter

            problem, ctx = adapter.build_problem(
                session,
                community_ids,
                sorted(dry.resolve),
                fixed_states=adapter.LIVE_FIXED_STATES,
            )
            new_origin = ctx.origin
        session.rollback()
    # 2. re-plan only what no longer fits, with no transaction open
    resolved: list[solver.Assignment] = []
    unplaced: dict[str, str] = {}
    if problem is not None:
        replan = solver.solve(problem, time_limit=time_limit, seed=seed)
        resolved = [a for a in replan.assignments if not a.fixed and a.request_id in dry.resolve]
        for u in replan.unassigned:
            if u.request_id in dry.resolve:
                unplaced[u.request_id] = f"{u.reason}: {u.message}"
    # 3. one transaction: lock, check again, write
    with maker() as session:
        session.info["actor"] = principal
        run = repo.get_run(session, run_id, lock=True)
        assert run is not None
        _committable(run)
        keep = [(origin, a) for _, a in candidates if a.request_id not in dry.resolve]
        keep += [(new_origin, a) for a in resolved]
        final = _write(session, keep, run_id)
        # what changed again since the dry run is not re-solved a second time: left unplaced
        final.dropped.update(final.resolve)
        changes = _changes(dry, final, resolved, unplaced)
        report = {"offered": len(final.offered), "changes": changes, "at": utcnow().isoformat()}
        run.plan = {**plan, "commit": report}
        run.state = "committed"
        what = [c["what"] for c in changes]
        publish(
            session,
            run,
            "run.committed",
            offered=len(final.offered),
            # planned without an offer (the plan's unassigned, and what no longer fitted)
            unassigned=len(plan.get("unassigned", [])) + what.count("unplaced"),
            dropped=what.count("dropped"),
            resolved=what.count("resolved"),
        )
        session.flush()
        session.commit()
    return schemas.CommitOut(
        run_id=run_id,
        state="committed",
        offered=len(final.offered),
        assignment_ids=final.written,
        changes=[schemas.CommitChange.model_validate(c) for c in changes],
    )


def _committable(run: DispatchRun) -> None:
    if run.state == "committed":
        raise Conflict("This run's plan has already been committed.")
    if run.plan is None or run.state not in ("succeeded", "cancelled"):
        raise Conflict(f"The run is {run.state}; only a finished run with a plan is committed.")


def _planned(plan: dict[str, Any]) -> list[solver.Assignment]:
    planned = [solver.Assignment.from_dict(a) for a in plan["assignments"]]
    return [a for a in planned if not a.fixed]  # accepted and in-progress work never moves


def _changes(
    dry: Sorting, final: Sorting, resolved: list[solver.Assignment], unplaced: dict[str, str]
) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    for rid, why in sorted(dry.dropped.items()):
        changes.append({"request_id": rid, "what": "dropped", "why": why})
    placed = {a.request_id: a for a in resolved if a.request_id in final.offered}
    for rid, why in sorted(dry.resolve.items()):
        if rid in placed:
            changes.append(
                {
                    "request_id": rid,
                    "what": "resolved",
                    "why": why,
                    "responder_ids": list(placed[rid].responder_ids),
                }
            )
        else:
            reason = final.dropped.get(rid) or unplaced.get(rid) or "no responder fits now"
            changes.append({"request_id": rid, "what": "unplaced", "why": f"{why}; {reason}"})
    for rid, why in sorted(final.dropped.items()):
        if rid not in dry.dropped and rid not in dry.resolve:
            changes.append({"request_id": rid, "what": "unplaced", "why": why})
    return changes


def _write(
    session: Session, candidates: list[tuple[datetime, solver.Assignment]], run_id: str
) -> Sorting:
    """Lock, check and write each candidate offer (its plan's origin with it); sort the ones
    that do not fit. All requests are locked before any responder, as live matching does."""
    from service.dispatch import live
    from service.dispatch import repository as dispatch_repo

    now = utcnow()
    out = Sorting()
    if not candidates:
        return out
    live.single_writer(session)  # SQLite: the same single writer live matching uses
    requests = {}
    for rid in sorted({a.request_id for _, a in candidates}):
        try:
            requests[rid] = dispatch_repo.lock_request(session, rid)
        except NoResultFound:
            out.dropped[rid] = "the request no longer exists"
    responders = {
        r.id: r
        for r in dispatch_repo.lock_responders(
            session, {j for _, a in candidates for j in a.responder_ids}
        )
    }
    contexts = {origin: _context(origin, requests) for origin, _ in candidates}
    for origin, a in candidates:
        ctx = contexts[origin]
        request = requests.get(a.request_id)
        if request is None:
            continue
        why = _no_longer_open(session, request, now)
        if why:
            out.dropped[request.id] = why
            continue
        why = _does_not_fit(session, ctx, request, a, responders, origin)
        if why:
            out.resolve[request.id] = why
            continue
        try:
            # live.offer refuses a drawn-down fund before it writes anything (no savepoint:
            # pysqlite's savepoints would commit the dry run)
            outcome = live.offer(session, ctx, request, a, now, note=f"batch run {run_id}")
        except Conflict as exc:  # the fund was drawn down meanwhile
            out.resolve[request.id] = f"fund: {exc.detail}"
            continue
        out.offered.append(request.id)
        out.written += [o["assignment_id"] for o in outcome.offers]
    return out


def _context(origin: datetime, requests: dict[str, ServiceRequest]):  # type: ignore[no-untyped-def]
    """An adapter context for the plan's origin, so plan minutes map back to instants."""
    from service.dispatch import adapter

    week_start = origin - timedelta(days=origin.weekday())
    return adapter.Context(
        origin=origin,
        day_end=origin + timedelta(days=1),
        week_start=week_start,
        week_end=week_start + timedelta(days=7),
        requests=dict(requests),
    )


def _no_longer_open(session: Session, request: ServiceRequest, now: datetime) -> str | None:
    from service.dispatch import repository as dispatch_repo

    if request.state != "submitted":
        return f"the request is {request.state} now"
    if dispatch_repo.live_assignments(session, request.id):
        return "the request is held by a responder now"
    if request.window_end <= now:
        return "the request's window has ended"
    return None


def _does_not_fit(  # type: ignore[no-untyped-def]
    session: Session, ctx, request: ServiceRequest, a: solver.Assignment, responders, origin
) -> str | None:
    from service.dispatch import live

    for j in a.responder_ids:
        r = responders.get(j)
        if r is None or not r.active:
            return f"responder {j} is no longer active"
    if not live.fits(session, ctx, request, a, responders):
        return "a responder's task, minute or load cap was used meanwhile"
    if a.start is not None:
        start = origin + timedelta(minutes=a.start)
        for j, travel in zip(a.responder_ids, a.travel_minutes, strict=True):
            lo = start - timedelta(minutes=travel)
            hi = start + timedelta(minutes=request.duration_min + travel)
            for other, s, d, t in repo.busy_elsewhere(session, [j], [request.id]):
                if s - timedelta(minutes=t) < hi and lo < s + timedelta(minutes=d + t):
                    return f"responder {other} took other work at that time meanwhile"
    return None


def system_commit(run_id: str) -> schemas.CommitOut:
    """mode=commit: the executor applies the plan as the system, with the same code."""
    return commit_run(SYSTEM, run_id)


def run_out(run: DispatchRun) -> schemas.RunOut:
    return schemas.RunOut.model_validate(
        {
            **{c: getattr(run, c) for c in schemas.RunOut.model_fields if hasattr(run, c)},
            "progress": run.progress or {},
            "has_plan": run.plan is not None,
        }
    )


async def stream(
    principal: Principal,
    run_id: str,
    max_seconds: float,
    is_disconnected,  # type: ignore[no-untyped-def]
):  # type: ignore[no-untyped-def]
    """Server-sent `run` events whenever the run's state, phase or progress changes, until it
    ends (then one `end` event) or time is up. Each poll is its own short read."""
    import time

    import anyio
    from starlette.concurrency import run_in_threadpool

    deadline = time.monotonic() + max_seconds
    last = None
    yield "retry: 3000\n\n"
    while time.monotonic() < deadline:
        if await is_disconnected():
            return
        out = await run_in_threadpool(_poll_run, principal, run_id)
        frame = out.model_dump_json()
        if frame != last:
            yield f"event: run\ndata: {frame}\n\n"
            last = frame
        if out.state in ("succeeded", "failed", "cancelled", "committed"):
            yield f"event: end\ndata: {frame}\n\n"
            return
        await anyio.sleep(max(0.0, min(STREAM_POLL_S, deadline - time.monotonic())))


STREAM_POLL_S = 0.5


def _poll_run(principal: Principal, run_id: str) -> schemas.RunOut:
    with get_sessionmaker()() as session:
        return run_out(get_run(session, principal, run_id))
