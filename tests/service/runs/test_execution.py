"""How runs execute: cancellation keeps the best plan, a restart resumes, lost runs come back."""

import threading
import time
from datetime import timedelta

import pytest

import solver
from service.config import get_settings
from service.runs import executor, jobs
from service.runs.models import DispatchRun
from service.types import utcnow
from tests.conftest import BACKEND
from tests.service.conftest import headers
from tests.service.dispatch.helpers import setup_category, submit, volunteer
from tests.service.runs.helpers import finish, plan, start_run

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="the in-process engine (SQLite)")


@pytest.fixture
def manual(client, world):
    setup_category(client, world)
    return world


@pytest.fixture
def slow_solver(monkeypatch):
    """A solve that searches until told to stop (then keeps what it has), and says it started."""
    started = threading.Event()
    real = solver.solve

    def solve(problem, time_limit=10.0, seed=0, *, stop=None, on_progress=None):
        started.set()
        stop.wait(30)
        return real(problem, time_limit=time_limit, seed=seed, stop=stop, on_progress=on_progress)

    monkeypatch.setattr(executor.solver, "solve", solve)
    return started


def test_delete_mid_run_stops_the_solver_and_keeps_the_best_plan(
    client, session, manual, slow_solver
):
    """DELETE on a running run: it ends within seconds, cancelled, with a plan to read."""
    v, _ = volunteer(client, session, manual, manual.a)
    submit(client, manual.a)
    run = start_run(client, manual.a.dispatcher, manual.a, time_limit_s=300)
    assert slow_solver.wait(10)
    began = time.monotonic()
    response = client.delete(f"/v1/dispatch-runs/{run['id']}", headers=headers(manual.a.dispatcher))
    assert response.status_code == 200 and response.json()["cancel_requested"] is True
    done = finish(client, manual.a.dispatcher, run["id"])
    assert time.monotonic() - began < 15
    assert done["state"] == "cancelled" and done["has_plan"] is True
    body = plan(client, manual.a.dispatcher, run["id"])
    assert body["state"] == "cancelled" and body["assignments"][0]["responder_ids"] == [v["id"]]
    again = client.delete(f"/v1/dispatch-runs/{run['id']}", headers=headers(manual.a.dispatcher))
    assert again.status_code == 409


def test_cancel_seen_through_the_database_by_another_process(
    client, session, manual, slow_solver, monkeypatch
):
    """With no in-process signal (a worker elsewhere), the heartbeat reads the request to stop."""
    monkeypatch.setattr(get_settings(), "runs_heartbeat_s", 0.1)
    monkeypatch.setattr(jobs, "signal_cancel", lambda run_id: None)
    volunteer(client, session, manual, manual.a)
    submit(client, manual.a)
    run = start_run(client, manual.a.dispatcher, manual.a, time_limit_s=300)
    assert slow_solver.wait(10)
    client.delete(f"/v1/dispatch-runs/{run['id']}", headers=headers(manual.a.dispatcher))
    done = finish(client, manual.a.dispatcher, run["id"])
    assert done["state"] == "cancelled" and done["has_plan"] is True


def test_a_queued_run_cancelled_ends_at_once_without_a_plan(client, session, manual, monkeypatch):
    """DELETE before the run started: cancelled straight away; it never runs."""
    monkeypatch.setattr(jobs, "_local_submit", lambda run_id, delay=0.0: None)
    run = start_run(client, manual.a.dispatcher, manual.a)
    response = client.delete(f"/v1/dispatch-runs/{run['id']}", headers=headers(manual.a.dispatcher))
    assert response.json()["state"] == "cancelled"
    assert executor.execute(run["id"]) == "cancelled"
    conflict = client.get(
        f"/v1/dispatch-runs/{run['id']}/plan", headers=headers(manual.a.dispatcher)
    )
    assert conflict.status_code == 409


def test_runs_left_by_a_dead_api_process_are_resumed_on_start(client, session, manual, monkeypatch):
    """A queued run never executed and a run killed mid-solve both complete after resume()."""
    volunteer(client, session, manual, manual.a)
    submit(client, manual.a)
    real_submit = jobs._local_submit
    monkeypatch.setattr(jobs, "_local_submit", lambda run_id, delay=0.0: None)
    queued = start_run(client, manual.a.dispatcher, manual.a)
    killed = start_run(client, manual.a.dispatcher, manual.a)
    row = session.get(DispatchRun, killed["id"])
    row.state, row.phase, row.attempts = "running", "solving", 1
    row.heartbeat_at = utcnow() - timedelta(minutes=5)
    session.commit()
    monkeypatch.setattr(jobs, "_local_submit", real_submit)
    # a fresh process: the app's start calls resume()
    assert set(jobs.resume()) == {queued["id"], killed["id"]}
    first = finish(client, manual.a.dispatcher, queued["id"])
    second = finish(client, manual.a.dispatcher, killed["id"])
    assert first["state"] == "succeeded" and first["attempts"] == 1
    assert second["state"] == "succeeded" and second["attempts"] == 2
    assert second["error"].startswith("lost")


def test_a_stale_run_is_failed_after_the_last_attempt(client, session, manual, monkeypatch):
    """A run lost on its last attempt is failed with the reason, and has no plan."""
    monkeypatch.setattr(jobs, "_local_submit", lambda run_id, delay=0.0: None)
    run = start_run(client, manual.a.dispatcher, manual.a)
    row = session.get(DispatchRun, run["id"])
    row.state, row.attempts = "running", executor.max_attempts()
    row.heartbeat_at = utcnow() - timedelta(seconds=executor.stale_s() + 5)
    session.commit()
    assert executor.lose_stale() == []
    session.expire_all()
    row = session.get(DispatchRun, run["id"])
    assert row.state == "failed" and "gave up" in row.error and row.plan is None


def test_a_failing_attempt_is_retried_then_failed_with_its_reason(
    client, session, manual, monkeypatch
):
    """An error while solving queues the run again; after MAX_ATTEMPTS it fails with the error."""
    monkeypatch.setattr(jobs, "RETRY_WAIT_S", 0)

    def broken(*args, **kwargs):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(executor.solver, "solve", broken)
    run = start_run(client, manual.a.dispatcher, manual.a)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        session.expire_all()
        if session.get(DispatchRun, run["id"]).state in ("failed", "succeeded"):
            break
        time.sleep(0.1)
    done = finish(client, manual.a.dispatcher, run["id"])
    assert done["state"] == "failed" and done["attempts"] == executor.max_attempts()
    assert "solver exploded" in done["error"] and done["has_plan"] is False


def test_stream_sends_progress_until_the_run_ends(client, session, manual):
    """The SSE stream ends with an `end` event carrying the finished run."""
    volunteer(client, session, manual, manual.a)
    submit(client, manual.a)
    run = start_run(client, manual.a.dispatcher, manual.a)
    with client.stream(
        "GET",
        f"/v1/dispatch-runs/{run['id']}/stream?max_seconds=30",
        headers=headers(manual.a.dispatcher),
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        text = "".join(response.iter_text())
    assert "event: run" in text and "event: end" in text
    assert '"state":"succeeded"' in text.split("event: end", 1)[1]


def test_a_commit_mode_run_that_died_before_committing_is_committed_on_start(
    client, session, manual, monkeypatch
):
    """Plan written, process gone before the commit: resume() commits it."""
    v, _ = volunteer(client, session, manual, manual.a)
    submit(client, manual.a)
    monkeypatch.setattr(executor, "auto_commit", lambda run_id: None)
    run = start_run(client, manual.a.dispatcher, manual.a, mode="commit")
    assert finish(client, manual.a.dispatcher, run["id"])["state"] == "succeeded"
    monkeypatch.undo()
    assert jobs.resume() == [run["id"]]
    assert finish(client, manual.a.dispatcher, run["id"])["state"] == "committed"
