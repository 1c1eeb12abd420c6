"""City scale: a district run split into independent parts, parts as jobs over several worker
processes, the plan as the union of the parts' plans, progress, the CLI."""

import signal
import subprocess
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import solver
from service.assignments.models import Assignment
from service.auth.principal import Role
from service.cli import main
from service.config import get_settings
from service.events.models import Event
from service.places.models import Community, Grid
from service.runs import jobs, split
from service.runs import parts as run_parts
from service.runs.models import DispatchRun, DispatchRunPart
from solver.check import check
from tests.conftest import BACKEND
from tests.service.conftest import Side, World, add_key, headers, table_counts
from tests.service.dispatch.helpers import setup_category, submit
from tests.service.requests.factory import make_responder
from tests.service.runs.helpers import finish, plan, start_worker, stop_worker

pg_only = pytest.mark.skipif(BACKEND != "postgresql", reason="procrastinate needs PostgreSQL")


@dataclass
class District:
    world: World
    # two communities per street: street 1 (a, a2), street 2 (b, b2)
    streets: list[list[Side]]
    requests: list[dict]


def _community(session, world: World, street_of: Side, n: int) -> Side:
    street_id = street_of.street_id
    community = Community(street_id=street_id, code=f"C{n}", name=f"社区{n}", lon=121.0, lat=30.7)
    session.add(community)
    session.flush()
    grid = Grid(community_id=community.id, code=f"G{n}", name=f"网格{n}", lon=121.0, lat=30.7)
    session.add(grid)
    session.flush()
    side = Side(
        community_id=community.id,
        grid_id=grid.id,
        street_id=street_id,
        dispatcher=add_key(session, Role.dispatcher, community_ids=[community.id]),
        grid_app="",
    )
    session.commit()
    return side


def _district(client, session, world: World, shared: bool = False) -> District:
    setup_category(client, world)
    streets = [
        [world.a, _community(session, world, world.a, 11)],
        [world.b, _community(session, world, world.b, 22)],
    ]
    for sides in streets:  # two responders per street, each serving both its communities
        for _ in range(2):
            make_responder(client, world, [s.community_id for s in sides], max_tasks_per_day=2)
    if shared:  # one responder serving a community of each street: the streets are one part
        make_responder(client, world, [world.a.community_id, world.b.community_id])
    requests = [submit(client, side) for sides in streets for side in sides]
    return District(world, streets, requests)


@pytest.fixture
def unpacked(database_url, monkeypatch):
    """Parts are not packed together (WUSHE_RUNS_PART_REQUESTS=0), so a street is a part."""
    monkeypatch.setenv("WUSHE_RUNS_PART_REQUESTS", "0")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _start(client, key: str, district_id: str, **body) -> dict:
    payload = {"scope": {"type": "district", "id": district_id}, "time_limit_s": 2, **body}
    response = client.post("/v1/dispatch-runs", json=payload, headers=headers(key))
    assert response.status_code == 202, response.text
    return response.json()


def _parts(session, run_id: str) -> list[DispatchRunPart]:
    session.expire_all()
    stmt = select(DispatchRunPart).where(DispatchRunPart.run_id == run_id)
    return list(session.scalars(stmt.order_by(DispatchRunPart.index)))


def _solve_alone(session, part: DispatchRunPart, seed: int = 0) -> solver.Plan:
    from service.dispatch import adapter

    problem, _ = adapter.build_problem(session, part.community_ids, part.request_ids)
    session.rollback()
    return solver.solve(problem, time_limit=2, seed=seed)


def _pairs(assignments) -> set[tuple[str, tuple[str, ...]]]:
    return {(a["request_id"], tuple(a["responder_ids"])) for a in assignments if not a.get("fixed")}


# --- the split rule


def test_split_follows_streets_and_merges_streets_a_responder_links():
    """Three streets, one responder serving a community of streets 1 and 2: two parts."""
    streets = {"c1": "s1", "c2": "s1", "c3": "s2", "c4": "s2", "c5": "s3"}
    links = [{"c1", "c2"}, {"c3", "c4"}, {"c5"}, {"c2", "c3"}, {"elsewhere", "c5"}]
    pending = dict.fromkeys(streets, 1)
    assert split.split(streets, links, pending, pack=0) == [["c1", "c2", "c3", "c4"], ["c5"]]


def test_small_parts_are_packed_in_street_order_up_to_the_size():
    """Independent communities are packed while the part holds at most `pack` requests; a
    community with nothing to plan is no part; a part bigger than `pack` stays whole."""
    streets = {"c1": "s1", "c2": "s1", "c3": "s2", "c4": "s3", "c5": "s3"}
    pending = {"c1": 2, "c2": 1, "c3": 5, "c4": 0, "c5": 1}
    assert split.split(streets, [], pending, pack=3) == [["c1", "c2"], ["c3"], ["c5"]]
    assert split.split(streets, [], pending, pack=100) == [["c1", "c2", "c3", "c5"]]


def test_merged_plan_sums_figures_and_takes_the_weakest_status():
    """Objective and bound summed, the weakest status, the longest time, starts rebased."""
    one = {
        "status": "optimal",
        "method": "cpsat",
        "objective": 10.0,
        "bound": 10.0,
        "gap": 0.0,
        "time_s": 1.0,
        "origin": "2026-03-02T00:00:00+08:00",
        "assignments": [{"request_id": "r1", "responder_ids": ["j1"], "start": 60}],
        "unassigned": [],
    }
    two = {
        **one,
        "status": "feasible",
        "objective": 5.0,
        "bound": 8.0,
        "time_s": 2.0,
        "origin": "2026-03-03T00:00:00+08:00",
        "assignments": [{"request_id": "r2", "responder_ids": ["j2"], "start": 30}],
        "unassigned": [{"request_id": "r3", "reason": "no_time"}],
    }
    merged = split.merge([one, two])
    assert (merged["status"], merged["objective"], merged["bound"]) == ("feasible", 15.0, 18.0)
    assert merged["time_s"] == 2.0 and merged["gap"] == pytest.approx(3 / 15)
    assert [a["start"] for a in merged["assignments"]] == [60, 24 * 60 + 30]
    assert [u["request_id"] for u in merged["unassigned"]] == ["r3"]


# --- runs


def test_a_district_run_is_planned_by_street_as_the_union_of_its_parts(
    client, session, world, unpacked
):
    """Two streets of two communities: two parts, each a street; the run's plan is what
    solving each part alone gives, breaks no hard constraint, and progress counts parts."""
    d = _district(client, session, world)
    run = _start(client, world.admin, world.district_id)
    done = finish(client, world.admin, run["id"])
    assert done["state"] == "succeeded", done
    parts = _parts(session, run["id"])
    assert [sorted(p.community_ids) for p in parts] == [
        sorted(s.community_id for s in sides) for sides in d.streets
    ] or [sorted(p.community_ids) for p in parts] == [
        sorted(s.community_id for s in sides) for sides in reversed(d.streets)
    ]
    assert [p.state for p in parts] == ["succeeded", "succeeded"]
    assert all(p.attempts == 1 and p.worker for p in parts)
    assert done["progress"] == {
        **done["progress"],
        "parts_total": 2,
        "parts_done": 2,
        "requests_planned": 4,
        "requests_considered": 4,
    }
    body = plan(client, world.admin, run["id"])
    alone = set()
    for part in parts:
        alone |= _pairs(a.to_dict() for a in _solve_alone(session, part).assignments)
    assert _pairs(body["assignments"]) == alone and len(alone) == 4
    from service.dispatch import adapter

    ids = [r["id"] for r in d.requests]
    every = [s.community_id for sides in d.streets for s in sides]
    whole, _ = adapter.build_problem(session, every, ids)
    session.rollback()
    session.expire_all()
    stored = session.get(DispatchRun, run["id"]).plan
    assert check(whole, stored) == []
    # parts_done rose part by part in the run's progress events
    session.rollback()
    events = session.scalars(
        select(Event).where(Event.subject_id == run["id"], Event.kind == "run.progress")
    )
    assert [e.payload["progress"]["parts_done"] for e in events] == [0, 1]


def test_a_responder_serving_two_streets_makes_them_one_part(client, session, world, unpacked):
    """A responder linked to a community of each street: no split, today's single run."""
    d = _district(client, session, world, shared=True)
    run = _start(client, world.admin, world.district_id)
    done = finish(client, world.admin, run["id"])
    assert done["state"] == "succeeded" and _parts(session, run["id"]) == []
    assert done["progress"].get("parts_total") in (None, 1)
    body = plan(client, world.admin, run["id"])
    planned = {a["request_id"] for a in body["assignments"]}
    assert planned | {u["request_id"] for u in body["unassigned"]} == {r["id"] for r in d.requests}


def test_a_split_commit_run_commits_the_whole_plan_once(client, session, world, unpacked):
    """mode=commit: the last part ends the run and the whole plan becomes offers, once."""
    _district(client, session, world)
    run = _start(client, world.admin, world.district_id, mode="commit")
    done = finish(client, world.admin, run["id"])
    if done["state"] == "succeeded":  # the automatic commit follows the last part
        jobs.wait_local()
        done = finish(client, world.admin, run["id"])
    assert done["state"] == "committed", (done["error"], done["progress"])
    body = plan(client, world.admin, run["id"])
    assert body["commit"]["offered"] == 4
    offered = session.scalar(
        select(func.count(func.distinct(Assignment.request_id))).where(
            Assignment.state == "offered"
        )
    )
    assert offered == 4


def test_a_street_dispatcher_cannot_run_a_district_it_does_not_wholly_see(client, session, world):
    """A dispatcher of one community: the district is an unknown scope (422), nothing
    written."""
    before = table_counts(session)
    response = client.post(
        "/v1/dispatch-runs",
        json={"scope": {"type": "district", "id": world.district_id}},
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["field"] == "scope.id" and error["message"].startswith("unknown district")
    assert table_counts(session) == before


def test_cancelling_a_split_run_cancels_its_parts(client, session, world, unpacked, monkeypatch):
    """Parts not started yet are cancelled at once and the run ends cancelled, no plan."""
    _district(client, session, world)
    monkeypatch.setattr(jobs, "_local_submit_part", lambda part_id, delay=0.0: None)
    if BACKEND == "postgresql":  # no job for a part: neither when split nor by a sweep
        monkeypatch.setattr(jobs, "enqueue_part", lambda session, part_id: None)
        monkeypatch.setattr(run_parts, "queued_part_ids", list)
    run = _start(client, world.admin, world.district_id)
    done = finish(client, world.admin, run["id"])
    assert done["state"] == "running" and done["progress"]["parts_total"] == 2
    response = client.delete(f"/v1/dispatch-runs/{run['id']}", headers=headers(world.admin))
    assert response.status_code == 200, response.text
    done = finish(client, world.admin, run["id"])
    assert done["state"] == "cancelled" and done["has_plan"] is False
    assert [p.state for p in _parts(session, run["id"])] == ["cancelled", "cancelled"]


# --- the command line


def test_cli_follows_a_district_run_to_its_end(
    database_url, client, session, world, unpacked, capsys
):
    """`wushe dispatch-run --scope district:D1 --follow` prints progress lines (not a TTY)
    and a summary, and exits 0."""
    _district(client, session, world)
    worker = _worker(database_url) if BACKEND == "postgresql" else None
    try:
        code = main(["dispatch-run", "--scope", "district:D1", "--time-limit", "1", "--follow"])
    finally:
        if worker is not None:
            stop_worker(worker)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "parts 2/2" in out and "requests planned 4/4" in out
    assert out.strip().splitlines()[-1].startswith("run ") and "succeeded" in out
    assert "\r" not in out


@pytest.mark.parametrize("scope", ["district:nope", "county:D1", "district:"])
def test_cli_bad_scope_exits_2_and_writes_nothing(
    database_url, client, session, world, scope, capsys
):
    """A scope that does not exist or cannot be read: a plain message, exit 2, no run."""
    before = table_counts(session)
    assert main(["dispatch-run", "--scope", scope]) == 2
    err = capsys.readouterr().err
    assert err.startswith("wushe: ") and "Traceback" not in err
    assert table_counts(session) == before


# --- several worker processes (PostgreSQL)


def _worker(database_url: str, **env: str) -> subprocess.Popen:
    return start_worker(database_url, WUSHE_RUNS_PART_REQUESTS="0", **env)


def _wait(session, run_id: str, check_run, timeout: float = 90.0, seen=None) -> DispatchRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        session.expire_all()
        run = session.get(DispatchRun, run_id)
        if seen is not None:
            seen.append((run.progress or {}).get("parts_done"))
        if check_run(run):
            return run
        session.rollback()
        time.sleep(0.2)
    raise AssertionError(f"run {run_id}: {run.state} {run.progress} {run.error}")


@pg_only
def test_two_worker_processes_share_the_parts(client, session, world, unpacked, database_url):
    """Two `wushe worker` processes on one database: each executes a part (the part row
    names the process), and the run commits the whole plan."""
    _district(client, session, world)
    run = _start(client, world.admin, world.district_id, mode="commit")
    workers = [_worker(database_url, SLOW_SOLVE_S="3") for _ in range(2)]
    try:
        done = _wait(session, run["id"], lambda r: r.state in ("committed", "failed"))
    finally:
        for w in workers:
            stop_worker(w)
    assert done.state == "committed", done.error
    parts = _parts(session, run["id"])
    assert {p.worker.rsplit(":", 1)[1] for p in parts} == {str(w.pid) for w in workers}
    assert done.plan["commit"]["offered"] == 4


@pg_only
def test_a_worker_killed_mid_part_leaves_it_to_the_other(
    client, session, world, unpacked, database_url, monkeypatch
):
    """SIGKILL while a worker solves a part: the other worker finishes the other part
    (parts_done 1 of 2 meanwhile); the sweep queues the lost part again, the other worker
    solves it on a second attempt, and the run commits its whole plan, nothing twice."""
    _district(client, session, world)
    run = _start(client, world.admin, world.district_id, mode="commit")
    fast = {"WUSHE_RUNS_HEARTBEAT_S": "0.2", "WUSHE_RUNS_STALE_S": "1"}
    doomed = _worker(database_url, SLOW_SOLVE_S="120", **fast)
    rescuer = None
    seen: list = []
    try:
        tag = f":{doomed.pid}"
        deadline = time.monotonic() + 60
        while not any(
            p.state == "running" and p.worker.endswith(tag) for p in _parts(session, run["id"])
        ):
            assert time.monotonic() < deadline, "the first worker never took a part"
            session.rollback()
            time.sleep(0.2)
        rescuer = _worker(database_url, **fast)
        _wait(session, run["id"], lambda r: (r.progress or {}).get("parts_done") == 1, seen=seen)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        session.expire_all()
        assert session.scalar(select(func.count()).select_from(Assignment)) == 0
        session.rollback()
        time.sleep(1.5)
        monkeypatch.setenv("WUSHE_RUNS_STALE_S", "1")
        monkeypatch.setenv("WUSHE_RUNS_HEARTBEAT_S", "0.2")
        get_settings.cache_clear()
        jobs.sweep()  # what the workers' periodic sweep does every minute
        done = _wait(session, run["id"], lambda r: r.state in ("committed", "failed"), seen=seen)
    finally:
        stop_worker(doomed)
        if rescuer is not None:
            stop_worker(rescuer)
    assert done.state == "committed", done.error
    parts = _parts(session, run["id"])
    assert all(p.worker.endswith(f":{rescuer.pid}") for p in parts)
    retried = [p for p in parts if p.attempts == 2]
    assert len(retried) == 1 and retried[0].error.startswith("lost")
    assert [s for s in seen if s is not None] == sorted(s for s in seen if s is not None)
    assert 1 in seen and done.progress["parts_done"] == 2
    assert done.plan["commit"]["offered"] == 4
    per_request = session.execute(
        select(Assignment.request_id, func.count()).group_by(Assignment.request_id)
    ).all()
    assert len(per_request) == 4 and all(n == 1 for _, n in per_request)


def test_a_part_lost_after_its_last_attempt_fails_the_run(
    client, session, world, unpacked, monkeypatch
):
    """A part whose worker died on its last attempt: the sweep fails the part and the run
    with the part's reason; the other part is dropped and nothing is committed."""
    _district(client, session, world)
    monkeypatch.setattr(jobs, "_local_submit_part", lambda part_id, delay=0.0: None)
    if BACKEND == "postgresql":
        monkeypatch.setattr(jobs, "enqueue_part", lambda session, part_id: None)
        monkeypatch.setattr(run_parts, "queued_part_ids", list)
    run = _start(client, world.admin, world.district_id, mode="commit")
    finish(client, world.admin, run["id"])
    first, second = _parts(session, run["id"])
    first.state, first.attempts, first.worker = "running", get_settings().runs_max_attempts, "x:1"
    first.heartbeat_at = first.created_at - timedelta(minutes=5)
    session.commit()
    assert run_parts.lose_stale() == []
    done = finish(client, world.admin, run["id"])
    assert done["state"] == "failed" and done["has_plan"] is False
    assert done["error"].startswith("part 0 failed: gave up after") and "lost" in done["error"]
    assert [p.state for p in _parts(session, run["id"])] == ["failed", "cancelled"]
    assert session.scalar(select(func.count()).select_from(Assignment)) == 0


def test_follow_draws_a_bar_in_place_on_a_terminal(monkeypatch):
    """On a TTY the line is redrawn with \\r (parts done of total, requests planned); the
    summary follows on its own line."""
    import io

    from service.runs import follow

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    snaps = iter(
        {
            "state": state,
            "phase": "solving",
            "progress": {
                "parts_total": 2,
                "parts_done": done,
                "requests_considered": 4,
                "requests_planned": 2 * done,
            },
            "error": None,
            "assigned": 4,
            "unassigned": 0,
            "objective": 12.0 if state == "succeeded" else None,
            "offered": None,
        }
        for state, done in [("running", 0), ("running", 1), ("succeeded", 2)]
    )
    out = Terminal()
    monkeypatch.setattr(follow, "POLL_S", 0)
    last = follow.follow("r1", out, read=lambda _id: next(snaps))
    text = out.getvalue()
    assert last["state"] == "succeeded"
    assert text.count("\r") == 3 and "parts 1/2, requests planned 2/4" in text
    assert "[" + "#" * follow.BAR + "] parts 2/2" in text
    assert text.endswith("run r1 succeeded; assigned 4, unassigned 0; objective 12; 2 parts\n")
