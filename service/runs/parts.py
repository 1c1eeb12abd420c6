"""City scale: a run planned as independent parts, each part its own job.

``split_run`` (from ``executor.execute``, right after the run is claimed) splits an assign
run's scope (service.runs.split says how). One part: nothing changes, the run is solved as
before. Several: one transaction writes a ``dispatch_run_part`` row per part and hands each
to the engine (a procrastinate job ``wushe.execute_part`` on PostgreSQL, so every
``wushe worker`` on every machine takes parts; the local pool on SQLite); the run stays
``running`` and its progress counts the parts.

A part is executed like a run: claimed (attempts counted, the worker's host:pid recorded),
loaded, solved with no transaction open while a heartbeat stamps the part, finished in one
transaction. That transaction locks the run row first (every part transaction does, so they
never deadlock), records the part's plan, and when it is the last part it merges the parts'
plans and ends the run as a single run ends (``executor.close_with_plan``); mode=commit then
commits the whole plan once. A part whose worker died goes back to the queue by the sweeper
(stale heartbeat); after WUSHE_RUNS_MAX_ATTEMPTS it fails and so does the run, with its
reason, and nothing is committed. Cancelling a split run cancels its queued parts and stops
the running ones; the run ends cancelled without a plan (a plan of only some parts would be
half a plan).
"""

import logging
import os
import socket
import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from service.config import get_settings
from service.runs import executor, split
from service.runs import repository as repo
from service.runs.executor import _tx
from service.runs.models import DispatchRun, DispatchRunPart
from service.runs.publish import end, publish
from service.types import utcnow

log = logging.getLogger(__name__)


class RetryPart(Exception):
    """The part failed this attempt and is queued again: the engine should run it again."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def split_run(run_id: str) -> bool:
    """Split the claimed run into parts and hand them to the engine: True; or False when it
    is one part (the caller solves it as one run)."""
    from service.runs import jobs

    with _tx() as session:
        run = repo.get_run(session, run_id, lock=True)
        if run is None or run.state != "running" or repo.has_parts(session, run_id):
            return False
        now = utcnow()
        grid_id = run.scope_id if run.scope_type == "grid" else None
        community_ids = list(run.community_ids)
        if len(community_ids) < 2:
            return False
        requests = repo.open_requests(session, community_ids, grid_id, run.request_ids, now)
        pending: dict[str, int] = {}
        for community_id in requests.values():
            pending[community_id] = pending.get(community_id, 0) + 1
        groups = split.split(
            repo.street_of(session, community_ids),
            repo.community_links(session, community_ids),
            pending,
            get_settings().runs_part_requests,
        )
        if len(groups) < 2:
            return False
        for index, group in enumerate(groups):
            members = set(group)
            part = DispatchRunPart(
                run_id=run_id,
                index=index,
                community_ids=group,
                request_ids=sorted(r for r, c in requests.items() if c in members),
                state="queued",
                attempts=0,
            )
            session.add(part)
            session.flush()
            jobs.enqueue_part(session, part.id)
        run.phase = "solving"
        run.heartbeat_at = now
        run.progress = {
            "requests_considered": len(requests),
            "parts_total": len(groups),
            "parts_done": 0,
            "requests_planned": 0,
        }
        publish(session, run, "run.progress", progress=run.progress)
        return True


def execute_part(part_id: str, stop: threading.Event | None = None) -> str:
    """Run ``part_id`` if it is queued; the state of its run afterwards."""
    stop = stop or threading.Event()
    claimed = _claim(part_id, stop)
    if claimed is None:
        return "missing"
    run_id, ok = claimed
    if not ok:
        return executor.state_of(run_id)
    try:
        problem, origin, not_open = _load(part_id)

        def stamp(session: Session) -> bool:
            alive = repo.touch_part(session, part_id, utcnow())
            run = repo.get_run(session, run_id)
            going = run is not None and run.state == "running" and not run.cancel_requested
            return alive and going

        plan = executor._solve(run_id, problem, stop, len(problem.requests), stamp=stamp)
        body = {**plan.to_dict(), "kind": "assign"}
    except Exception as exc:
        log.exception("dispatch run %s: part %s failed", run_id, part_id)
        if _give_back(part_id, f"{type(exc).__name__}: {exc}"):
            raise RetryPart(part_id) from exc
        return executor.state_of(run_id)
    state, last = executor._when_reachable(lambda: _finish(part_id, body, origin, not_open))
    if last and state == "succeeded" and executor._mode(run_id) == "commit":
        executor.auto_commit(run_id)
        state = executor.state_of(run_id)
    return state


def _claim(part_id: str, stop: threading.Event) -> tuple[str, bool] | None:
    """(run id, claimed?); None if there is no such part. A part of a run that is no longer
    running is cancelled; one of a run asked to stop is solved with ``stop`` set (at once)."""
    with _tx() as session:
        run_id = repo.part_run_id(session, part_id)
        if run_id is None:
            return None
        run = repo.get_run(session, run_id, lock=True)
        part = repo.get_part(session, part_id, lock=True)
        assert run is not None and part is not None
        if part.state != "queued":
            return run_id, False
        now = utcnow()
        if run.state != "running":
            _end_part(part, "cancelled", now)
            return run_id, False
        if part.attempts >= executor.max_attempts():
            _fail(session, run, part, now, f"gave up after {part.attempts} attempts")
            return run_id, False
        if run.cancel_requested:
            stop.set()
        part.attempts += 1
        part.state, part.worker = "running", worker_name()
        part.started_at = part.heartbeat_at = now
        return run_id, True


def _load(part_id: str) -> tuple[Any, datetime, list[str]]:
    """The part's problem: its communities' responders and funds, its requests still open."""
    from service.dispatch import adapter

    with _tx() as session:
        part = repo.get_part(session, part_id)
        assert part is not None
        now = utcnow()
        members = list(part.community_ids)
        ids = repo.open_request_ids(session, members, None, list(part.request_ids), now)
        not_open = sorted(set(part.request_ids) - set(ids))
        problem, ctx = adapter.build_problem(session, members, ids, now=now)
        repo.touch_part(session, part_id, utcnow())
        return problem, ctx.origin, not_open


def _finish(
    part_id: str, body: dict[str, Any], origin: datetime, not_open: list[str]
) -> tuple[str, bool]:
    """The part's final transaction: (the run's state, whether this part ended the run)."""
    with _tx() as session:
        run_id = repo.part_run_id(session, part_id)
        run = repo.get_run(session, run_id or "", lock=True)
        part = repo.get_part(session, part_id, lock=True)
        if run is None or part is None:
            return "missing", False
        if part.state != "running":
            return run.state, False  # lost meanwhile and taken over by another attempt
        now = utcnow()
        body["origin"] = origin.isoformat()
        body["unassigned"] += executor.not_open_entries(not_open)
        part.plan = body
        _end_part(part, "succeeded", now)
        if run.state != "running":
            return run.state, False  # the run failed or was cancelled meanwhile
        last = _progress(session, run, now)
        return run.state, last


def _progress(session: Session, run: DispatchRun, now: datetime) -> bool:
    """Count finished parts into the run's progress; end the run if none is left (True)."""
    parts = repo.parts_of(session, run.id)
    done = [p for p in parts if p.state == "succeeded"]
    run.progress = {
        **(run.progress or {}),
        "parts_total": len(parts),
        "parts_done": len(done),
        "requests_planned": sum(len(p.request_ids) for p in done),
        "best_objective": sum(float((p.plan or {}).get("objective", 0)) for p in done),
        "bound": sum(float((p.plan or {}).get("bound", 0)) for p in done),
    }
    run.heartbeat_at = now
    if any(p.state in ("queued", "running") for p in parts):
        publish(session, run, "run.progress", progress=run.progress)
        return False
    if len(done) < len(parts):  # some part was cancelled: no half plan
        end(session, run, "cancelled" if run.cancel_requested else "failed", now)
        return True
    body = split.merge([p.plan for p in done if p.plan is not None])
    named = set(run.request_ids or [])
    body["unassigned"] += executor.not_open_entries(
        sorted(named - {r for p in parts for r in p.request_ids})
    )
    executor.close_with_plan(session, run, body)
    return True


def _end_part(part: DispatchRunPart, state: str, now: datetime, error: str | None = None) -> None:
    part.state, part.finished_at = state, now
    if error is not None:
        part.error = error


def _fail(
    session: Session, run: DispatchRun, part: DispatchRunPart, now: datetime, why: str
) -> None:
    """The part failed for good: so does its run, and its other queued parts are dropped."""
    _end_part(part, "failed", now, why if part.error is None else f"{why}; last: {part.error}")
    for other in repo.parts_of(session, run.id):
        if other.state == "queued":
            _end_part(other, "cancelled", now)
    if run.state == "running":
        end(session, run, "failed", now, error=f"part {part.index} failed: {part.error}")


def _give_back(part_id: str, error: str) -> bool:
    """After a failed attempt: queued again (True) or failed for good, with its run (False)."""
    with _tx() as session:
        run_id = repo.part_run_id(session, part_id)
        run = repo.get_run(session, run_id or "", lock=True)
        part = repo.get_part(session, part_id, lock=True)
        if run is None or part is None or part.state != "running":
            return False
        part.error = error
        return _retry(session, run, part, utcnow())


def lose_stale(now: datetime | None = None) -> list[str]:
    """Running parts whose heartbeat stopped: queued again, or failed (with their run) after
    the last attempt. Returns the part ids queued again (the caller hands them to its engine)."""
    now = now or utcnow()
    before = now - timedelta(seconds=executor.stale_s())
    requeued = []
    with _tx() as session:
        for run_id, part_id in repo.stale_parts(session, before):
            run = repo.get_run(session, run_id, lock=True)
            part = repo.get_part(session, part_id, lock=True)
            if run is None or part is None or part.state != "running":
                continue
            if requeue_lost(session, run, part, now):
                requeued.append(part.id)
    return requeued


def requeue_lost(session: Session, run: DispatchRun, part: DispatchRunPart, now: datetime) -> bool:
    beat = part.heartbeat_at.isoformat() if part.heartbeat_at else "-"
    part.error = f"lost: no heartbeat since {beat} ({part.worker})"
    return _retry(session, run, part, now)


def _retry(session: Session, run: DispatchRun, part: DispatchRunPart, now: datetime) -> bool:
    """A part that stopped unfinished (its error set): queued again (True), or cancelled
    with its run, or failed with it after the last attempt."""
    if run.state != "running" or run.cancel_requested:
        _end_part(part, "cancelled", now)
        if run.state == "running":
            _progress(session, run, now)
        return False
    if part.attempts >= executor.max_attempts():
        _fail(session, run, part, now, f"gave up after {part.attempts} attempts")
        return False
    part.state = "queued"
    publish(session, run, "run.retrying", error=part.error, part=part.index)
    return True


def cancel(session: Session, run: DispatchRun) -> bool:
    """Cancel a split run (locked by the caller): queued parts now, running ones at their
    next heartbeat; the run ends once no part runs. False if the run is not split."""
    parts = repo.parts_of(session, run.id, lock=True)
    if not parts:
        return False
    now = utcnow()
    run.cancel_requested = True
    for part in parts:
        if part.state == "queued":
            _end_part(part, "cancelled", now)
    if not any(p.state == "running" for p in parts):
        _progress(session, run, now)
    return True


def queued_part_ids() -> list[str]:
    with _tx() as session:
        return [p.id for p in repo.parts_in(session, ["queued"])]


def part_state(part_id: str) -> str:
    with _tx() as session:
        part = repo.get_part(session, part_id)
        return part.state if part is not None else "missing"
