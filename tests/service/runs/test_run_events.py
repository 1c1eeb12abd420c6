"""A run's life in the events outbox (run.*): written with each change, shown to whoever may
read the run, on SQLite and PostgreSQL alike."""

import time
from datetime import timedelta

import pytest

import solver
from service.auth.principal import Role
from service.config import get_settings
from service.places.models import Community
from service.runs import executor, jobs
from service.runs.models import DispatchRun
from service.types import utcnow
from tests.service.conftest import add_key, headers
from tests.service.dispatch.helpers import setup_category, submit, volunteer
from tests.service.runs.helpers import commit, finish, start_run


@pytest.fixture
def manual(client, world):
    setup_category(client, world)
    return world


@pytest.fixture
def held(monkeypatch):
    """Runs wait in the queue (the local engine does not pick them up) until a test executes
    one itself with executor.execute; the procrastinate engine only runs them in a worker."""
    monkeypatch.setattr(jobs, "_local_submit", lambda run_id, delay=0.0: None)


def _run_events(client, key: str, run_id: str) -> list[dict]:
    response = client.get(
        "/v1/events", params={"subject_id": run_id, "limit": 200}, headers=headers(key)
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_a_run_tells_its_life_in_the_feed(client, session, manual):
    """created, started, finished (with the plan's counts), committed (offered/unassigned),
    in order, each about the run and in its community, with no grid and no responder."""
    volunteer(client, session, manual, manual.a, max_tasks_per_day=1)
    submit(client, manual.a)
    submit(client, manual.a)
    run = start_run(client, manual.a.dispatcher, manual.a)
    assert _run_events(client, manual.a.dispatcher, run["id"])[0]["kind"] == "run.created"
    finish(client, manual.a.dispatcher, run["id"])
    commit(client, manual.a.dispatcher, run["id"])
    items = _run_events(client, manual.a.dispatcher, run["id"])
    kinds = [e["kind"] for e in items]
    assert kinds == ["run.created", "run.started", "run.finished", "run.committed"]
    for e in items:
        assert e["subject_type"] == "dispatch_run" and e["community_id"] == manual.a.community_id
        assert e["responder_id"] is None and e["payload"]["run_id"] == run["id"]
    created, started, finished, committed = (e["payload"] for e in items)
    assert created["state"] == "queued" and created["mode"] == "preview"
    assert created["community_ids"] == [manual.a.community_id] and created["requests"] is None
    assert started["state"] == "running" and started["attempts"] == 1
    assert finished["state"] == "succeeded" and finished["has_plan"] is True
    assert (finished["assigned"], finished["unassigned"]) == (1, 1)
    assert committed["state"] == "committed"
    assert (committed["offered"], committed["unassigned"], committed["dropped"]) == (1, 1, 0)
    # the stream carries the same events
    with client.stream(
        "GET",
        "/v1/events/stream",
        params={"subject_id": run["id"], "max_seconds": 1},
        headers=headers(manual.a.dispatcher),
    ) as response:
        body = "".join(response.iter_text())
    assert [line.removeprefix("event: ") for line in body.splitlines() if "event: " in line] == [
        *kinds
    ]


def test_run_events_are_shown_only_to_whoever_may_read_the_run(client, session, manual, held):
    """B's dispatcher and A's grid app and responders see none; a run over a street with two
    communities is not shown to a dispatcher of only one of them (GET on the run is 404 too),
    even though its events carry that community; a dispatcher of both and admins see it."""
    second = Community(
        street_id=manual.a.street_id, code="C1b", name="社区1b", lon=121.03, lat=30.71
    )
    session.add(second)
    session.commit()
    both = add_key(session, Role.dispatcher, community_ids=[manual.a.community_id, second.id])
    session.commit()
    _, responder_key = volunteer(client, session, manual, manual.a)
    street = start_run(client, manual.admin, manual.a, scope="street")
    assert street["community_ids"] == sorted([manual.a.community_id, second.id])
    assert street["community_ids"][0] == manual.a.community_id  # the events' community
    own = start_run(client, manual.a.dispatcher, manual.a)
    for key in (manual.admin, both):
        assert [e["kind"] for e in _run_events(client, key, street["id"])] == ["run.created"]
    only_a = manual.a.dispatcher
    assert (
        client.get(f"/v1/dispatch-runs/{street['id']}", headers=headers(only_a)).status_code == 404
    )
    assert _run_events(client, only_a, street["id"]) == []
    assert [e["kind"] for e in _run_events(client, only_a, own["id"])] == ["run.created"]
    for key in (manual.b.dispatcher, manual.a.grid_app, responder_key):
        assert _run_events(client, key, own["id"]) == []
        assert _run_events(client, key, street["id"]) == []


def test_cancelled_retried_and_failed_runs_are_told(client, session, manual, held, monkeypatch):
    """DELETE on a queued run: run.cancelled without a plan. A solve that keeps failing:
    run.retrying after each attempt given back, then run.failed with the error."""
    queued = start_run(client, manual.a.dispatcher, manual.a)
    response = client.delete(
        f"/v1/dispatch-runs/{queued['id']}", headers=headers(manual.a.dispatcher)
    )
    assert response.status_code == 200
    (created, cancelled) = _run_events(client, manual.a.dispatcher, queued["id"])
    assert cancelled["kind"] == "run.cancelled"
    assert (
        cancelled["payload"]["state"] == "cancelled" and cancelled["payload"]["has_plan"] is False
    )

    def broken(*args, **kwargs):
        raise RuntimeError("solver exploded")

    monkeypatch.setattr(executor.solver, "solve", broken)
    run = start_run(client, manual.a.dispatcher, manual.a)
    for _ in range(executor.max_attempts() - 1):
        with pytest.raises(executor.RetryRun):
            executor.execute(run["id"])
    assert executor.execute(run["id"]) == "failed"
    items = _run_events(client, manual.a.dispatcher, run["id"])
    assert [e["kind"] for e in items] == [
        "run.created",
        *["run.started", "run.retrying"] * (executor.max_attempts() - 1),
        "run.started",
        "run.failed",
    ]
    assert "solver exploded" in items[-1]["payload"]["error"]
    assert items[-1]["payload"]["attempts"] == executor.max_attempts()


def test_a_lost_run_is_told_retrying(client, session, manual, held):
    """The sweeper's re-queue of a run whose heartbeat stopped is an event too."""
    run = start_run(client, manual.a.dispatcher, manual.a)
    row = session.get(DispatchRun, run["id"])
    row.state, row.phase, row.attempts = "running", "solving", 1
    row.heartbeat_at = utcnow() - timedelta(seconds=executor.stale_s() + 5)
    session.commit()
    assert executor.lose_stale() == [run["id"]]
    last = _run_events(client, manual.a.dispatcher, run["id"])[-1]
    assert last["kind"] == "run.retrying" and last["payload"]["state"] == "queued"
    assert last["payload"]["error"].startswith("lost")


@pytest.mark.parametrize("every", [0.3, 0.0])
def test_progress_events_are_rate_limited(client, session, manual, held, monkeypatch, every):
    """While the solver improves every 50 ms for 1.5 s and the heartbeat beats every 50 ms,
    run.progress comes at most once per WUSHE_RUNS_PROGRESS_EVENT_S (none when it is 0)."""
    settings = get_settings()
    monkeypatch.setattr(settings, "runs_heartbeat_s", 0.05)
    monkeypatch.setattr(settings, "runs_progress_event_s", every)
    real = solver.solve
    solving_s = 1.5

    def improving(problem, time_limit=10.0, seed=0, *, stop=None, on_progress=None):
        began = time.monotonic()
        step = 0
        while time.monotonic() - began < solving_s:
            step += 1
            on_progress({"phase": "search", "best_objective": float(step)})
            time.sleep(0.05)
        return real(problem, time_limit=time_limit, seed=seed, stop=stop)

    monkeypatch.setattr(executor.solver, "solve", improving)
    volunteer(client, session, manual, manual.a)
    submit(client, manual.a)
    run = start_run(client, manual.a.dispatcher, manual.a)
    assert executor.execute(run["id"]) == "succeeded"
    items = _run_events(client, manual.a.dispatcher, run["id"])
    progress = [e["payload"]["progress"] for e in items if e["kind"] == "run.progress"]
    if not every:
        assert progress == []
        return
    # 1.5 s of improvement, one event per 0.3 s at most (the first after 0.3 s; one more
    # for the last improvement if the solver started a little after the count began)
    assert 1 <= len(progress) <= int(solving_s / every) + 1
    objectives = [p["best_objective"] for p in progress]
    assert objectives == sorted(objectives) and len(set(objectives)) == len(objectives)
    assert all(p["requests_considered"] == 1 for p in progress)
    assert [e["kind"] for e in items][-1] == "run.finished"
