"""procrastinate on PostgreSQL: jobs deferred with the run, a worker process runs them, and a
worker killed mid-run leaves nothing half-written and the run is taken up again."""

import signal
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from service.assignments.models import Assignment
from service.runs import jobs
from service.runs.models import DispatchRun
from service.types import utcnow
from tests.conftest import BACKEND
from tests.service.dispatch.helpers import setup_category, submit, volunteer
from tests.service.runs.helpers import start_run, start_worker, stop_worker

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="procrastinate needs PostgreSQL")


@pytest.fixture
def manual(client, world):
    setup_category(client, world)
    return world


def _wait_for(session, run_id: str, check, timeout: float = 60.0) -> DispatchRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.expire_all()
        run = session.get(DispatchRun, run_id)
        if check(run):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} never got there: {run.state} {run.error}")


def test_the_job_is_deferred_in_the_transaction_that_records_the_run(client, session, manual):
    """After POST the procrastinate job for the run is there, waiting."""
    run = start_run(client, manual.a.dispatcher, manual.a)
    rows = session.execute(
        text("SELECT status, args->>'run_id' FROM procrastinate_jobs WHERE task_name = :t"),
        {"t": "wushe.execute_run"},
    ).all()
    assert [tuple(r) for r in rows] == [("todo", run["id"])]


def test_a_worker_process_executes_a_run(client, session, manual, database_url):
    """`wushe worker` (procrastinate's worker) picks up the run and commits it (mode=commit)."""
    volunteer(client, session, manual, manual.a)
    request = submit(client, manual.a)
    run = start_run(client, manual.a.dispatcher, manual.a, mode="commit")
    worker = start_worker(database_url)
    try:
        done = _wait_for(session, run["id"], lambda r: r.state in ("committed", "failed"))
    finally:
        stop_worker(worker)
    assert done.state == "committed" and done.attempts == 1
    offers = session.scalars(select(Assignment).where(Assignment.request_id == request["id"]))
    assert [a.state for a in offers] == ["offered"]


def test_a_worker_killed_mid_run_leaves_nothing_and_the_run_completes(
    client, session, manual, database_url
):
    """SIGKILL while solving: no plan, no offers; the next worker finds the stale heartbeat,
    queues the run again and completes it on a second attempt."""
    volunteer(client, session, manual, manual.a)
    submit(client, manual.a)
    run = start_run(client, manual.a.dispatcher, manual.a, mode="commit")
    doomed = start_worker(database_url, SLOW_SOLVE_S="120", WUSHE_RUNS_HEARTBEAT_S="0.2")
    try:
        _wait_for(session, run["id"], lambda r: r.state == "running" and r.phase == "solving")
        time.sleep(0.5)
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
    session.expire_all()
    killed = session.get(DispatchRun, run["id"])
    assert killed.state == "running" and killed.plan is None
    assert session.scalar(select(func.count()).select_from(Assignment)) == 0
    session.rollback()
    assert _jobs(session) == [("doing", run["id"])]
    time.sleep(1.5)
    rescuer = start_worker(database_url, WUSHE_RUNS_STALE_S="1", WUSHE_RUNS_HEARTBEAT_S="0.2")
    try:
        done = _wait_for(session, run["id"], lambda r: r.state in ("committed", "failed"))
    finally:
        stop_worker(rescuer)
    assert done.state == "committed" and done.attempts == 2 and done.error.startswith("lost")
    assert session.scalar(select(func.count()).select_from(Assignment)) == 1
    # the dead worker's job does not linger in `doing`: procrastinate's stalled-job check
    # found it and the sweep ended it failed; the run's second attempt had a job of its own
    session.rollback()
    assert _jobs(session) == [("failed", run["id"]), ("succeeded", run["id"])]


def _jobs(session) -> list[tuple[str, str]]:
    rows = session.execute(
        text(
            "SELECT status::text, args->>'run_id' FROM procrastinate_jobs"
            " WHERE task_name = :t ORDER BY id"
        ),
        {"t": "wushe.execute_run"},
    )
    return [tuple(r) for r in rows]


@pytest.mark.parametrize("via", ["periodic task", "sweep()"])
def test_the_sweep_ends_a_dead_workers_job_and_the_run_completes(client, session, manual, via):
    """A job left `doing` by a worker that is gone (procrastinate pruned it: no worker) and
    its run silent for minutes: the sweep, as the worker's periodic task on the worker's own
    event loop or called on its own, queues the run again, ends the job failed and gives the
    run a new job, which the worker then runs."""
    volunteer(client, session, manual, manual.a)
    submit(client, manual.a)
    run = start_run(client, manual.a.dispatcher, manual.a)
    session.execute(
        text("UPDATE procrastinate_jobs SET status = 'doing' WHERE task_name = :t"),
        {"t": "wushe.execute_run"},
    )
    row = session.get(DispatchRun, run["id"])
    row.state, row.phase, row.attempts = "running", "solving", 1
    row.heartbeat_at = utcnow() - timedelta(minutes=5)
    session.commit()
    assert _jobs(session) == [("doing", run["id"])]
    session.rollback()
    if via == "sweep()":
        assert jobs.sweep() == [run["id"]]
    else:
        with jobs.get_app().open() as app:
            app.tasks["wushe.sweep_runs"].defer(timestamp=0)
    jobs.work_until_idle()
    session.expire_all()
    done = session.get(DispatchRun, run["id"])
    assert done.state == "succeeded" and done.attempts == 2 and done.error.startswith("lost")
    session.rollback()
    assert _jobs(session) == [("failed", run["id"]), ("succeeded", run["id"])]


def test_procrastinate_schema_applies_and_drops_cleanly(client, database_url):
    """The migration's helpers: drop removes every procrastinate object, apply restores them."""
    from sqlalchemy import create_engine

    from service.runs import jobs

    count = text(
        "SELECT (SELECT count(*) FROM pg_class WHERE relname LIKE 'procrastinate%')"
        " + (SELECT count(*) FROM pg_proc WHERE proname LIKE 'procrastinate%')"
    )
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            before = connection.execute(count).scalar()
            jobs.drop_schema(connection)
            assert connection.execute(count).scalar() == 0
            jobs.apply_schema(connection)
            assert connection.execute(count).scalar() == before > 0
    finally:
        engine.dispose()
