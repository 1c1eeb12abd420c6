"""procrastinate on PostgreSQL: jobs deferred with the run, a worker process runs them, and a
worker killed mid-run leaves nothing half-written and the run is taken up again."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from service.assignments.models import Assignment
from service.runs.models import DispatchRun
from tests.conftest import BACKEND
from tests.service.dispatch.helpers import setup_category, submit, volunteer
from tests.service.runs.helpers import start_run

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="procrastinate needs PostgreSQL")
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def manual(client, world):
    setup_category(client, world)
    return world


def _worker(database_url: str, **env: str) -> subprocess.Popen:
    environment = {**os.environ, "DATABASE_URL": database_url, **env}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.service.runs.worker_harness"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for(session, run_id: str, check, timeout: float = 60.0) -> DispatchRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.expire_all()
        run = session.get(DispatchRun, run_id)
        if check(run):
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} never got there: {run.state} {run.error}")


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


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
    worker = _worker(database_url)
    try:
        done = _wait_for(session, run["id"], lambda r: r.state in ("committed", "failed"))
    finally:
        _stop(worker)
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
    doomed = _worker(database_url, SLOW_SOLVE_S="120", WUSHE_RUNS_HEARTBEAT_S="0.2")
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
    time.sleep(1.5)
    rescuer = _worker(database_url, WUSHE_RUNS_STALE_S="1")
    try:
        done = _wait_for(session, run["id"], lambda r: r.state in ("committed", "failed"))
    finally:
        _stop(rescuer)
    assert done.state == "committed" and done.attempts == 2 and done.error.startswith("lost")
    assert session.scalar(select(func.count()).select_from(Assignment)) == 1


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
