"""Executing one run: claim it, load the problem, solve, write the plan; engine-agnostic.

Each step is its own short transaction and the solver runs with none open. The plan is
written in the final transaction only, so a process killed mid-run leaves the run `running`
with no plan: its heartbeat goes stale and the sweeper re-queues it (or fails it after
WUSHE_RUNS_MAX_ATTEMPTS). While solving, a heartbeat thread stamps the run, publishes the
solver's progress and turns a cancellation request (from any process) into the solver's stop
event. Every change of state is also written to the events outbox (run.*, see publish.py) in
the transaction that makes it.
"""

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

import solver
from service.config import get_settings
from service.db import get_sessionmaker
from service.runs import repository as repo
from service.runs.models import DispatchRun
from service.runs.publish import end, publish
from service.types import utcnow

log = logging.getLogger(__name__)
WRITE_RETRY_S = 1.0
T = TypeVar("T")


def max_attempts() -> int:
    return get_settings().runs_max_attempts


def stale_s() -> float:
    """A running run whose heartbeat is older than this was lost with its process."""
    return get_settings().runs_stale_s


class RetryRun(Exception):
    """The run failed this attempt and is queued again: the engine should run it again."""


def execute(run_id: str, stop: threading.Event | None = None) -> str:
    """Run ``run_id`` if it is queued; the run's state afterwards."""
    stop = stop or threading.Event()
    claimed, state = _claim(run_id)
    if not claimed:
        return state
    kind = _kind(run_id)
    try:
        if kind == "assign":
            from service.runs import parts

            if parts.split_run(run_id):
                return "running"  # its parts are jobs now; the last to finish ends the run
        problem, ctx_origin, considered, not_open = _load(run_id, kind)
        if kind == "routes":
            from service.runs import routing

            routes = _solve(run_id, problem.problem, stop, considered, routing.solve)
            body = routing.plan_body(routes, problem)
        else:
            body = {**_solve(run_id, problem, stop, considered).to_dict(), "kind": "assign"}
    except Exception as exc:
        log.exception("dispatch run %s failed", run_id)
        if _give_back(run_id, f"{type(exc).__name__}: {exc}"):
            raise RetryRun(run_id) from exc
        return "failed"
    state = _when_reachable(lambda: _finish(run_id, body, ctx_origin, not_open))
    if state == "succeeded" and _mode(run_id) == "commit":
        auto_commit(run_id)
        state = state_of(run_id)
    return state


def _when_reachable(write: Callable[[], T]) -> T:
    """Run the final ``write``, waiting out a database outage for up to WUSHE_RUNS_STALE_S.

    The plan was expensive and is only in memory: a database that is restarting should not
    throw it away. Waiting longer than the staleness limit is pointless, since the sweeper
    may meanwhile queue the run again (``_finish`` then finds it no longer ``running`` and
    writes nothing). The write is one transaction, so a retry never doubles anything.
    """
    deadline = time.monotonic() + stale_s()
    while True:
        try:
            return write()
        except (OperationalError, InterfaceError):
            if time.monotonic() >= deadline:
                raise
            log.warning("database unreachable; writing the run's plan again in %ss", WRITE_RETRY_S)
            time.sleep(WRITE_RETRY_S)


def auto_commit(run_id: str) -> None:
    """mode=commit: the same code as POST .../commit; a failure is recorded, not raised."""
    from service.runs.service import system_commit

    try:
        system_commit(run_id)
    except Exception as exc:
        log.exception("dispatch run %s: automatic commit failed", run_id)
        with _tx() as session:
            run = repo.get_run(session, run_id, lock=True)
            if run is not None and run.state == "succeeded":
                run.error = f"automatic commit failed: {type(exc).__name__}: {exc}"
                publish(session, run, "run.commit_failed", error=run.error)


class _tx:
    """A short transaction of its own, committed on success."""

    def __enter__(self) -> Session:
        self.session = get_sessionmaker()()
        return self.session

    def __exit__(self, kind: Any, *_: Any) -> None:
        try:
            if kind is None:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()


def state_of(run_id: str) -> str:
    """The run's state now (``missing`` if there is no such run)."""
    with _tx() as session:
        run = repo.get_run(session, run_id)
        return run.state if run is not None else "missing"


def queued_run_ids() -> list[str]:
    with _tx() as session:
        return [r.id for r in repo.runs_in(session, ["queued"])]


def _mode(run_id: str) -> str:
    with _tx() as session:
        run = repo.get_run(session, run_id)
        return run.mode if run is not None else "preview"


def _kind(run_id: str) -> str:
    with _tx() as session:
        run = repo.get_run(session, run_id)
        return run.kind if run is not None else "assign"


def _claim(run_id: str) -> tuple[bool, str]:
    """Take a queued run: (True, "running"); otherwise (False, its state) and hands off.

    A run already ``running`` belongs to another attempt (a second job for the same run, say
    procrastinate retrying a job whose worker lost the database while that attempt goes on,
    or goes on writing); solving it again beside that attempt would only waste the machine.
    If that attempt is really gone, its heartbeat goes stale and the sweeper queues the run.
    """
    with _tx() as session:
        run = repo.get_run(session, run_id, lock=True)
        if run is None:
            return False, "missing"
        if run.state != "queued":
            return False, run.state
        now = utcnow()
        if run.cancel_requested:
            end(session, run, "cancelled", now)
            return False, run.state
        if run.attempts >= max_attempts():
            error = f"gave up after {run.attempts} attempts; last: {run.error or 'unknown'}"
            end(session, run, "failed", now, error=error)
            return False, run.state
        run.attempts += 1
        run.state, run.phase = "running", "loading"
        run.started_at = run.heartbeat_at = now
        publish(session, run, "run.started")
        return True, run.state


def _load(run_id: str, kind: str = "assign") -> tuple[Any, datetime, int, list[str]]:
    """One short read: the scope's open requests and the problem built from them (the
    adapter's ``solver.Problem``; for a routes run a ``routing.Loaded``)."""
    from service.dispatch import adapter
    from service.runs import routing

    with _tx() as session:
        run = repo.get_run(session, run_id)
        assert run is not None
        now = utcnow()
        grid_id = run.scope_id if run.scope_type == "grid" else None
        ids = repo.open_request_ids(session, run.community_ids, grid_id, run.request_ids, now)
        not_open = sorted(set(run.request_ids or []) - set(ids))
        problem: Any
        if kind == "routes":
            named = run.request_ids is not None
            problem = routing.build(session, list(run.community_ids), ids, now, named=named)
            origin, considered = problem.origin, problem.considered
        else:
            problem, ctx = adapter.build_problem(session, list(run.community_ids), ids, now=now)
            origin, considered = ctx.origin, len(ids)
        repo.touch(
            session,
            run_id,
            utcnow(),
            phase="solving",
            progress={"requests_considered": considered},
        )
        return problem, origin, considered, not_open


def _solve(
    run_id: str,
    problem: Any,
    stop: threading.Event,
    considered: int,
    solve: Callable[..., Any] | None = None,
    *,
    stamp: Callable[[Session], bool] | None = None,
) -> Any:
    """Solve with a heartbeat thread beside; ``stamp`` (a part's) replaces the run's own
    heartbeat and progress: it stamps and says whether to go on."""
    with _tx() as session:
        run = repo.get_run(session, run_id)
        assert run is not None
        time_limit, seed = run.time_limit_s, run.seed
    latest: dict[str, Any] = {"requests_considered": considered}
    done = threading.Event()
    settings = get_settings()
    every = settings.runs_progress_event_s
    told = {"at": time.monotonic(), "progress": dict(latest)}

    def on_progress(update: dict[str, Any]) -> None:
        latest.update({k: v for k, v in update.items() if k != "phase"})

    def beat() -> None:
        while not done.wait(settings.runs_heartbeat_s):
            try:
                with _tx() as session:
                    if stamp is not None:
                        if not stamp(session):
                            stop.set()
                        continue
                    progress = dict(latest)
                    alive = repo.touch(session, run_id, utcnow(), progress=progress)
                    if not alive or repo.cancel_requested(session, run_id):
                        stop.set()
                    elif every and progress != told["progress"]:
                        if time.monotonic() - told["at"] >= every:
                            _tell_progress(session, run_id, progress)
                            told.update(at=time.monotonic(), progress=progress)
            except Exception:
                log.exception("dispatch run %s: heartbeat failed", run_id)

    thread = threading.Thread(target=beat, name=f"run-{run_id[:8]}-beat", daemon=True)
    thread.start()
    try:
        return (solve or solver.solve)(
            problem, time_limit=time_limit, seed=seed, stop=stop, on_progress=on_progress
        )
    finally:
        done.set()
        thread.join()


def _tell_progress(session: Session, run_id: str, progress: dict[str, Any]) -> None:
    """A run.progress event: at most one per WUSHE_RUNS_PROGRESS_EVENT_S, and only when the
    solver's progress changed since the last one, so a long run does not flood the feed."""
    run = repo.get_run(session, run_id)
    if run is not None:
        publish(session, run, "run.progress", progress=progress)


def _finish(run_id: str, body: dict[str, Any], origin: datetime, not_open: list[str]) -> str:
    """The final transaction: the plan and the end state, or nothing if the run was lost."""
    with _tx() as session:
        run = repo.get_run(session, run_id, lock=True)
        if run is None or run.state != "running":
            return run.state if run is not None else "missing"  # taken over meanwhile
        body["origin"] = origin.isoformat()
        body["unassigned"] += not_open_entries(not_open)
        close_with_plan(session, run, body)
        return run.state


def not_open_entries(request_ids: list[str]) -> list[dict[str, str]]:
    """Unassigned entries for named requests that were no longer open when loaded."""
    return [
        {
            "request_id": rid,
            "reason": "not_open",
            "message": "The request was no longer submitted when the run started.",
            "remedy": "nothing to do unless it is re-opened",
        }
        for rid in request_ids
    ]


def close_with_plan(session: Session, run: DispatchRun, body: dict[str, Any]) -> None:
    """End a running ``run`` with its plan: succeeded, or cancelled if asked to stop."""
    body["commit"] = None
    run.plan = body
    run.progress = {
        **(run.progress or {}),
        "best_objective": body["objective"],
        "bound": body["bound"],
    }
    run.heartbeat_at = utcnow()
    end(
        session,
        run,
        "cancelled" if run.cancel_requested else "succeeded",
        run.heartbeat_at,
        status=body["status"],
        objective=body["objective"],
        bound=body["bound"],
        assigned=sum(1 for a in body["assignments"] if not a.get("fixed")),
        unassigned=len(body["unassigned"]),
    )


def _give_back(run_id: str, error: str) -> bool:
    """After a failed attempt: queued again (True) or failed for good (False)."""
    with _tx() as session:
        run = repo.get_run(session, run_id, lock=True)
        if run is None or run.state != "running":
            return False
        run.error = error
        if run.cancel_requested:
            end(session, run, "cancelled", utcnow())
            return False
        if run.attempts >= max_attempts():
            end(session, run, "failed", utcnow())
            return False
        run.state, run.phase = "queued", "queued"
        publish(session, run, "run.retrying", error=error)
        return True


def lose_stale(now: datetime | None = None) -> list[str]:
    """Running runs whose heartbeat stopped: queued again, or failed after the last attempt.
    Returns the ids queued again (the caller hands them to its engine)."""
    now = now or utcnow()
    requeued = []
    with _tx() as session:
        for run_id in repo.stale_runs(session, now - timedelta(seconds=stale_s())):
            run = repo.get_run(session, run_id, lock=True)
            if run is None or run.state != "running":
                continue
            if _requeue_lost(session, run, now):
                requeued.append(run.id)
    return requeued


def _requeue_lost(session: Session, run: DispatchRun, now: datetime) -> bool:
    lost = f"lost: no heartbeat since {run.heartbeat_at.isoformat() if run.heartbeat_at else '-'}"
    run.error = lost
    if run.cancel_requested:
        end(session, run, "cancelled", now)
        return False
    if run.attempts >= max_attempts():
        end(session, run, "failed", now, error=f"{lost}; gave up after {run.attempts} attempts")
        return False
    run.state, run.phase = "queued", "queued"
    publish(session, run, "run.retrying", error=lost)
    return True


def pending_commits(older_than_s: float = 0.0) -> list[str]:
    """Commit-mode runs that finished but whose commit never happened (the process died in
    between). A second commit attempt is harmless: commit refuses a committed run."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    with _tx() as session:
        return [
            r.id
            for r in repo.runs_in(session, ["succeeded"])
            if r.mode == "commit"
            and r.plan is not None
            and r.plan.get("commit") is None
            and not r.error
            and (r.finished_at is None or r.finished_at <= cutoff)
        ]
