"""Where runs execute: procrastinate on PostgreSQL, a thread pool in the API process on SQLite.

PostgreSQL: the job is deferred through the SQLAlchemy session's own psycopg connection
(procrastinate's ``configure(connection=...)``), so it commits or rolls back with the run row.
``wushe worker`` (``run_worker()``) runs procrastinate's worker; on start and every minute it
sweeps (``sweep_async``): runs whose heartbeat went stale go back into the queue (or are
failed after the last attempt), the procrastinate jobs of workers that died (procrastinate's
own stalled-job check, by worker heartbeat) are ended instead of staying ``doing`` forever,
every queued run gets a job if it has none, and finished jobs past their retention are
deleted. A failed attempt raises, and procrastinate's retry strategy runs the job again.

SQLite (the embedded default): after the run's transaction commits it goes to a small
thread pool in the API process, so the one-command demo needs no other service. On start
(``resume()``, from the app's lifespan) runs a previous process left queued or running are
queued again, so a run survives a restart of the API process.

``WUSHE_RUNS_ENGINE`` = auto (the default: procrastinate on PostgreSQL, local on SQLite),
local or procrastinate.
"""

import asyncio
import contextlib
import logging
import signal
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
EXECUTE = "wushe.execute_run"
EXECUTE_PART = "wushe.execute_part"
LOCAL_WORKERS = 2
RETRY_WAIT_S = 2
# A worker that stopped without being told to (it lost the database) starts again after this.
WORKER_RESTART_S = 2.0


def engine_name() -> str:
    settings = get_settings()
    if settings.runs_engine != "auto":
        return settings.runs_engine
    url = settings.database_url
    return "procrastinate" if url.startswith("postgresql") else "local"


def enqueue(session: Session, run_id: str) -> None:
    """Hand a run just recorded in ``session`` to the engine, atomically with that record."""
    if engine_name() == "procrastinate":
        _defer(session, run_id)
        return

    def submit(_session: Session) -> None:
        _local_submit(run_id)

    sa_event.listen(session, "after_commit", submit, once=True)


def enqueue_part(session: Session, part_id: str) -> None:
    """Hand a part of a split run (service.runs.parts) to the engine, atomically with it."""
    if engine_name() == "procrastinate":
        _defer(session, part_id, EXECUTE_PART)
        return

    def submit(_session: Session) -> None:
        _local_submit_part(part_id)

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


def _local_submit_part(part_id: str, delay: float = 0.0) -> None:
    _local_pool().submit(_local_execute_part, part_id, delay)


def _local_execute_part(part_id: str, delay: float) -> None:
    from service.runs import parts

    if delay:
        threading.Event().wait(delay)
    try:
        parts.execute_part(part_id)
    except parts.RetryPart:
        _local_submit_part(part_id, RETRY_WAIT_S)
    except Exception:
        log.exception("dispatch run part %s: unexpected failure", part_id)


def wait_local(timeout: float = 60.0) -> None:
    """Tests: wait until every run handed to the local pool so far has finished."""
    global _pool
    import time

    deadline = time.monotonic() + timeout
    # a run that splits submits its parts from inside the pool: drain until nothing is left
    while True:
        with _pool_lock:
            pool, _pool = _pool, None
        if pool is None:
            return
        closer = threading.Thread(target=pool.shutdown, kwargs={"wait": True}, daemon=True)
        closer.start()
        closer.join(max(0.0, deadline - time.monotonic()))
        if closer.is_alive():
            return


def resume() -> list[str]:
    """On start of the process that executes runs locally: what a previous one left behind.

    With the local engine only the API process runs them, so at its start every `running`
    run belonged to a process that is gone: queued again (attempts stay counted). Queued
    runs are submitted; finished commit-mode runs whose commit never happened are committed.
    """
    from service.runs import parts
    from service.runs import repository as repo
    from service.types import utcnow

    with executor._tx() as session:
        for run in repo.runs_in(session, ["running"]):
            if not repo.has_parts(session, run.id):  # a split run goes on through its parts
                executor._requeue_lost(session, run, utcnow())
        for part in repo.parts_in(session, ["running"]):
            run = repo.get_run(session, part.run_id, lock=True)
            if run is not None:
                parts.requeue_lost(session, run, part, utcnow())
        queued = [r.id for r in repo.runs_in(session, ["queued"])]
    queued_parts = parts.queued_part_ids()
    pending_commits = executor.pending_commits()
    for run_id in queued:
        _local_submit(run_id)
    for part_id in queued_parts:
        _local_submit_part(part_id)
    for run_id in pending_commits:
        _local_pool().submit(executor.auto_commit, run_id)
    return queued + queued_parts + pending_commits


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
    return _build_app(_conninfo())


@lru_cache
def _defer_app(conninfo: str):  # type: ignore[no-untyped-def]
    """An App never opened, for deferring on a session's own connection: inside a worker
    (a run splitting into parts) the worker's App is open in async mode and cannot use a
    plain connection."""
    return _build_app(conninfo)


def _build_app(conninfo: str):  # type: ignore[no-untyped-def]
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))
    retry = procrastinate.RetryStrategy(
        max_attempts=get_settings().runs_max_attempts, wait=RETRY_WAIT_S
    )

    @app.task(name=EXECUTE, queue=QUEUE, retry=retry)
    def execute_run(run_id: str) -> None:
        # A worker runs sync tasks in threads; the run's own heartbeat and cancel check
        # apply as in the API process.
        executor.execute(run_id)

    @app.task(name=EXECUTE_PART, queue=QUEUE, retry=retry)
    def execute_part(part_id: str) -> None:
        from service.runs import parts

        parts.execute_part(part_id)

    @app.periodic(cron="* * * * *", periodic_id="wushe.sweep_runs")
    @app.task(name="wushe.sweep_runs", queue=QUEUE, queueing_lock="wushe.sweep_runs")
    async def sweep_runs(timestamp: int) -> None:
        # async: the sweep uses the worker's open app (its pool, its event loop)
        await sweep_async(app)

    return app


def _defer(session: Session, job_id: str, task_name: str = EXECUTE) -> None:
    import procrastinate.exceptions

    task = _defer_app(_conninfo()).tasks[task_name]
    raw = session.connection().connection.driver_connection
    kwargs = {_ARG[task_name]: job_id}
    try:
        task.configure(connection=raw, queueing_lock=job_id).defer(**kwargs)
    except procrastinate.exceptions.AlreadyEnqueued:
        pass  # a job for this run (or part) is already waiting


# the argument each job task takes: the run or the part it executes
_ARG = {EXECUTE: "run_id", EXECUTE_PART: "part_id"}


def worker_timing() -> dict[str, float]:
    """procrastinate's worker heartbeat, tied to WUSHE_RUNS_STALE_S: a worker silent for that
    long is stalled (pruned by the next worker to start, its jobs ended by the sweep)."""
    stale = get_settings().runs_stale_s
    return {"update_heartbeat_interval": min(10.0, stale / 3), "stalled_worker_timeout": stale}


async def sweep_async(app: Any) -> list[str]:
    """One pass of the sweeper on an open procrastinate ``app``; the runs queued again.

    1. runs whose heartbeat went stale: queued again, or failed after the last attempt;
       commit-mode runs that finished without their commit are committed;
    2. jobs of stalled workers (procrastinate's ``get_stalled_jobs``: status ``doing``, the
       worker's heartbeat older than WUSHE_RUNS_STALE_S or the worker gone) whose run is no
       longer running are ended: ``succeeded`` if the run got that far, else ``failed``. The
       run itself is retried by step 1 with a job of its own; a job whose run still beats is
       left alone (a slow worker, not a dead one);
    3. every queued run without a waiting or running job gets one (the jobs of step 1, and
       any lost between a run's re-queue and its job);
    4. finished jobs older than WUSHE_RUNS_JOB_RETENTION_H are deleted.
    The database work of the service runs in threads; nothing blocks the worker's loop.
    """
    from service.runs import parts

    settings = get_settings()
    requeued = await asyncio.to_thread(executor.lose_stale)
    requeued += await asyncio.to_thread(parts.lose_stale)
    pending = await asyncio.to_thread(executor.pending_commits, settings.runs_stale_s)
    for run_id in pending:
        await asyncio.to_thread(executor.auto_commit, run_id)
    await _end_stalled_jobs(app, settings.runs_stale_s)
    await _defer_missing(app)
    if settings.runs_job_retention_h:
        await app.job_manager.delete_old_jobs(
            nb_hours=settings.runs_job_retention_h,
            queue=QUEUE,
            include_failed=True,
            include_cancelled=True,
            include_aborted=True,
        )
    if requeued:
        log.info("dispatch runs queued again after losing their worker: %s", requeued)
    return requeued


async def _end_stalled_jobs(app: Any, stale_s: float) -> list[int]:
    from procrastinate.jobs import Status

    from service.runs import parts

    ended = []
    stalled = []
    for task_name in (EXECUTE, EXECUTE_PART):
        stalled += await app.job_manager.get_stalled_jobs(
            queue=QUEUE, task_name=task_name, seconds_since_heartbeat=stale_s
        )
    for job in stalled:
        if job.task_name == EXECUTE_PART:  # a part's job: the part's state
            state = await asyncio.to_thread(parts.part_state, str(job.task_kwargs["part_id"]))
        else:
            state = await asyncio.to_thread(executor.state_of, str(job.task_kwargs.get("run_id")))
        if state == "running":
            continue
        status = Status.SUCCEEDED if state in ("succeeded", "committed") else Status.FAILED
        try:
            await app.job_manager.finish_job(job, status=status, delete_job=False)
        except Exception:  # finished meanwhile by a worker that was only slow
            log.warning("stalled job %s could not be ended", job.id, exc_info=True)
            continue
        log.info("stalled job %s of run %s ended %s", job.id, job.task_kwargs, status.value)
        ended.append(job.id)
    return ended


async def _defer_missing(app: Any) -> list[str]:
    """Give every queued run, and every queued part, a job if it has none waiting."""
    from service.runs import parts

    deferred = await _defer_missing_of(app, EXECUTE, executor.queued_run_ids)
    deferred += await _defer_missing_of(app, EXECUTE_PART, parts.queued_part_ids)
    return deferred


async def _defer_missing_of(app: Any, task_name: str, queued_ids: Any) -> list[str]:
    import procrastinate.exceptions

    arg = _ARG[task_name]
    covered = set()
    for status in ("todo", "doing"):
        jobs = await app.job_manager.list_jobs_async(queue=QUEUE, task=task_name, status=status)
        covered.update(job.task_kwargs.get(arg) for job in jobs)
    queued = await asyncio.to_thread(queued_ids)
    deferred = []
    for job_id in queued:
        if job_id in covered:
            continue
        try:
            task = app.tasks[task_name].configure(queueing_lock=job_id)
            await task.defer_async(**{arg: job_id})
            deferred.append(job_id)
        except procrastinate.exceptions.AlreadyEnqueued:
            pass  # deferred meanwhile
    return deferred


def sweep() -> list[str]:
    """One sweep outside a worker (opens the app for it); the runs queued again."""
    app = get_app()

    async def once() -> list[str]:
        async with app.open_async():
            return await sweep_async(app)

    return asyncio.run(once())


def work_until_idle() -> None:
    """Tests and one-off use: a worker that runs what is queued and returns."""
    get_app().run_worker(
        queues=[QUEUE], wait=False, install_signal_handlers=False, **worker_timing()
    )


def run_worker(concurrency: int = 1) -> None:
    """``wushe worker``: sweep, then run procrastinate's worker until SIGINT or SIGTERM.

    procrastinate's worker stops when it loses the database (its listener fails); a worker
    that nobody told to stop starts again instead, once the database answers, so a database
    restart does not leave a city without batch runs until someone restarts the workers. A
    run being solved when that happens goes on (procrastinate waits for it) and writes its
    plan when the database is back (``executor._when_reachable``).
    """
    if engine_name() != "procrastinate":
        raise RuntimeError(
            "the worker runs on PostgreSQL; with SQLite, runs execute inside `wushe serve`"
        )
    from service.logs import configure as configure_logging

    configure_logging(get_settings().log_level)  # JSON lines, as the API process writes them
    app = get_app()

    async def work() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        while not stopping.is_set():
            try:
                await _work_once(app, concurrency, stopping)
            except Exception:
                if stopping.is_set():
                    break
                log.exception("the batch-run worker lost the database")
            if not stopping.is_set():
                log.warning(
                    "the batch-run worker stopped by itself; starting again in %ss",
                    WORKER_RESTART_S,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), WORKER_RESTART_S)

    asyncio.run(work())


async def _work_once(app: Any, concurrency: int, stopping: asyncio.Event) -> None:
    async with app.open_async():
        await sweep_async(app)
        worker = asyncio.create_task(
            app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                install_signal_handlers=False,
                **worker_timing(),
            )
        )
        told = asyncio.create_task(stopping.wait())
        await asyncio.wait({worker, told}, return_when=asyncio.FIRST_COMPLETED)
        told.cancel()
        if not worker.done():  # told to stop: procrastinate's graceful shutdown
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            return
        worker.result()


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
