"""Where runs execute: procrastinate on PostgreSQL, a thread pool in the API process on SQLite.

PostgreSQL: the job is deferred through the SQLAlchemy session's own psycopg connection
(procrastinate's ``configure(connection=...)``), so it commits or rolls back with the run row.
``wushe worker`` (``run_worker()``) runs procrastinate's worker; on start and every minute it
sweeps runs whose heartbeat went stale back into the queue (or fails them after
MAX_ATTEMPTS). A failed attempt raises, and procrastinate's retry strategy runs the job again.

SQLite (the embedded default): after the run's transaction commits it goes to a small
thread pool in the API process, so the one-command demo needs no other service. On start
(``resume()``, from the app's lifespan) runs a previous process left queued or running are
queued again, so a run survives a restart of the API process.

``WUSHE_RUNS_ENGINE`` = auto (the default: procrastinate on PostgreSQL, local on SQLite),
local or procrastinate.
"""

import logging
import os
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from service.config import get_settings
from service.runs import executor

log = logging.getLogger(__name__)

QUEUE = "dispatch_runs"
LOCAL_WORKERS = 2
RETRY_WAIT_S = 2


def engine_name() -> str:
    chosen = os.environ.get("WUSHE_RUNS_ENGINE", "auto")
    if chosen != "auto":
        return chosen
    url = get_settings().database_url
    return "procrastinate" if url.startswith("postgresql") else "local"


def enqueue(session: Session, run_id: str) -> None:
    """Hand a run just recorded in ``session`` to the engine, atomically with that record."""
    if engine_name() == "procrastinate":
        _defer(session, run_id)
        return

    def submit(_session: Session) -> None:
        _local_submit(run_id)

    sa_event.listen(session, "after_commit", submit, once=True)


def signal_cancel_after_commit(session: Session, run_id: str) -> None:
    """Signal only once the request to stop is committed, so the run's final transaction
    sees it and ends `cancelled` rather than `succeeded`."""
    sa_event.listen(session, "after_commit", lambda _s: signal_cancel(run_id), once=True)


def signal_cancel(run_id: str) -> None:
    """Stop a run of this process at once; other processes notice at their next heartbeat."""
    stop = _local_stops.get(run_id)
    if stop is not None:
        stop.set()


# --- local: a thread pool inside the API process

_local_stops: dict[str, threading.Event] = {}
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _local_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(LOCAL_WORKERS, thread_name_prefix="wushe-run")
        return _pool


def _local_submit(run_id: str, delay: float = 0.0) -> None:
    _local_pool().submit(_local_execute, run_id, delay)


def _local_execute(run_id: str, delay: float) -> None:
    if delay:
        threading.Event().wait(delay)
    stop = _local_stops.setdefault(run_id, threading.Event())
    try:
        executor.execute(run_id, stop)
    except executor.RetryRun:
        _local_submit(run_id, RETRY_WAIT_S)
    except Exception:
        log.exception("dispatch run %s: unexpected failure", run_id)
    finally:
        _local_stops.pop(run_id, None)


def wait_local(timeout: float = 60.0) -> None:
    """Tests: wait until every run handed to the local pool so far has finished."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        done = threading.Event()
        threading.Thread(target=lambda: (pool.shutdown(wait=True), done.set())).start()
        done.wait(timeout)


def resume() -> list[str]:
    """On start of the process that executes runs locally: what a previous one left behind.

    With the local engine only the API process runs them, so at its start every `running`
    run belonged to a process that is gone: queued again (attempts stay counted). Queued
    runs are submitted; finished commit-mode runs whose commit never happened are committed.
    """
    from service.runs import repository as repo
    from service.types import utcnow

    with executor._tx() as session:
        for run in repo.runs_in(session, ["running"]):
            executor._requeue_lost(run, utcnow())
        queued = [r.id for r in repo.runs_in(session, ["queued"])]
    pending_commits = executor.pending_commits()
    for run_id in queued:
        _local_submit(run_id)
    for run_id in pending_commits:
        _local_pool().submit(executor.auto_commit, run_id)
    return queued + pending_commits


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """Resume local runs with the app, and stop taking new ones at shutdown."""
    if engine_name() == "local":
        resume()
    try:
        yield
    finally:
        global _pool
        with _pool_lock:
            pool, _pool = _pool, None
        if pool is not None:
            # Runs in progress finish before the process exits; queued ones wait for resume().
            pool.shutdown(wait=False, cancel_futures=True)


# --- procrastinate on PostgreSQL


def _conninfo() -> str:
    url = get_settings().database_url
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql://" + url.removeprefix(prefix)
    return url


@lru_cache
def get_app():  # type: ignore[no-untyped-def]
    """The procrastinate App on the service's database, with the run task and the sweeper."""
    import procrastinate

    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=_conninfo()),
    )

    @app.task(
        name="wushe.execute_run",
        queue=QUEUE,
        retry=procrastinate.RetryStrategy(max_attempts=executor.MAX_ATTEMPTS, wait=RETRY_WAIT_S),
    )
    def execute_run(run_id: str) -> None:
        # A worker runs sync tasks in threads; the run's own heartbeat and cancel check
        # apply as in the API process.
        executor.execute(run_id)

    @app.periodic(cron="* * * * *", periodic_id="wushe.sweep_runs")
    @app.task(name="wushe.sweep_runs", queue=QUEUE, queueing_lock="wushe.sweep_runs")
    def sweep_runs(timestamp: int) -> None:
        sweep()

    return app


def _defer(session: Session, run_id: str) -> None:
    import procrastinate.exceptions

    task = get_app().tasks["wushe.execute_run"]
    raw = session.connection().connection.driver_connection
    try:
        task.configure(connection=raw, queueing_lock=run_id).defer(run_id=run_id)
    except procrastinate.exceptions.AlreadyEnqueued:
        pass  # a job for this run is already waiting


def sweep() -> list[str]:
    """Lost runs back into the queue, each with a new job (procrastinate engine)."""
    from service.runs import repository as repo

    requeued = executor.lose_stale()
    for run_id in executor.pending_commits(older_than_s=executor.STALE_S):
        executor.auto_commit(run_id)
    if requeued:
        with executor._tx() as session:
            for run_id in requeued:
                if (run := repo.get_run(session, run_id)) is not None and run.state == "queued":
                    _defer(session, run_id)
        log.info("dispatch runs queued again after losing their worker: %s", requeued)
    return requeued


def work_until_idle() -> None:
    """Tests and one-off use: a worker that runs what is queued and returns."""
    get_app().run_worker(queues=[QUEUE], wait=False, install_signal_handlers=False)


def run_worker(concurrency: int = 1) -> None:
    """``wushe worker``: sweep once, then run procrastinate's worker until stopped."""
    if engine_name() != "procrastinate":
        raise RuntimeError(
            "the worker runs on PostgreSQL; with SQLite, runs execute inside `wushe serve`"
        )
    sweep()
    get_app().run_worker(queues=[QUEUE], concurrency=concurrency)


def apply_schema(connection: Any) -> None:
    """procrastinate's tables and functions, for the migration (PostgreSQL only)."""
    from procrastinate.schema import SchemaManager

    connection.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def drop_schema(connection: Any) -> None:
    """Undo apply_schema (the migration's downgrade): every procrastinate_* table, function
    and type; procrastinate ships no drop script."""
    from sqlalchemy import text

    tables = connection.execute(
        text("SELECT tablename FROM pg_tables WHERE tablename LIKE 'procrastinate%'")
    ).scalars()
    for name in list(tables):
        connection.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}" CASCADE')
    functions = connection.execute(
        text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.proname LIKE 'procrastinate%' AND n.nspname = current_schema()"
        )
    ).scalars()
    for signature in list(functions):
        connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
    types = connection.execute(
        text(
            "SELECT typname FROM pg_type "
            "WHERE typname LIKE 'procrastinate%' AND typtype IN ('e', 'c')"
        )
    ).scalars()
    for name in list(types):
        connection.exec_driver_sql(f'DROP TYPE IF EXISTS "{name}" CASCADE')
