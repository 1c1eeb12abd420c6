"""Live matching keeps a warm solver state between requests; it must never offer from a state
that is behind the database, and it must follow the changes it learns of."""

import gc
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, insert, text

import solver
from service.assignments.models import Assignment
from service.config import get_settings
from service.db import get_sessionmaker
from service.dispatch import adapter, live, warm
from service.dispatch import repository as repo
from service.requests.models import ServiceRequest
from service.types import new_id
from solver.match import as_request
from tests.conftest import BACKEND
from tests.service.conftest import headers
from tests.service.dispatch.helpers import (
    auto_dispatch,
    move,
    submit,
    volunteer,
    window,
)

FAR = {"type": "Point", "coordinates": [121.045, 30.71]}


def _offered_to(created: dict) -> str:
    assert created["dispatch"]["outcome"] == "offered", created["dispatch"]
    [offer] = created["dispatch"]["offers"]
    return offer["responder_id"]


def test_a_row_changed_behind_the_state_is_not_offered(client, session, auto):
    """Another process takes the nearest volunteer's qualification away in SQL (no event
    reaches this process): the warm state still believes in it, the locked re-read does not."""
    near, _ = volunteer(client, session, auto, auto.a, qualifications=["first_aid"])
    far, _ = volunteer(client, session, auto, auto.a, qualifications=["first_aid"], location=FAR)
    assert _offered_to(submit(client, auto.a, required_qualifications=["first_aid"])) == near["id"]
    session.execute(
        text("UPDATE responder SET qualifications = :q WHERE id = :id"),
        {"q": "[]", "id": near["id"]},
    )
    session.commit()
    second = submit(client, auto.a, required_qualifications=["first_aid"])
    assert _offered_to(second) == far["id"]


def test_an_edit_through_the_api_rebuilds_the_state(client, session, auto):
    """An edit this process makes marks the state stale: the next match is answered from a
    rebuilt state, so the reason is the true one (nobody qualified), not a stale guess."""
    only, _ = volunteer(client, session, auto, auto.a, qualifications=["first_aid"])
    assert _offered_to(submit(client, auto.a, required_qualifications=["first_aid"])) == only["id"]
    response = client.patch(
        f"/v1/responders/{only['id']}",
        json={"qualifications": []},
        headers=headers(auto.admin),
    )
    assert response.status_code == 200, response.text
    second = submit(client, auto.a, required_qualifications=["first_aid"])
    assert second["dispatch"]["outcome"] == "queued"
    assert second["dispatch"]["reason"] == "no_qualified_responder"


def _builds() -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("wushe_warm_build_seconds_count") or 0.0


def test_builds_of_the_state_are_counted_in_the_metrics(client, session, auto):
    """wushe_warm_build_seconds counts each build: the first match builds, the next reuses,
    an edit makes the one after build again."""
    only, _ = volunteer(client, session, auto, auto.a)
    counted = [_builds()]
    for step in ("first", "again", "edit"):
        if step == "edit":
            response = client.patch(
                f"/v1/responders/{only['id']}", json={"radius_m": 4000},
                headers=headers(auto.admin),
            )
            assert response.status_code == 200, response.text
        submit(client, auto.a)
        counted.append(_builds())
    assert [b - a for a, b in zip(counted, counted[1:], strict=False)] == [1, 0, 1]
    metrics = client.get("/metrics").text
    assert "wushe_warm_build_seconds_count" in metrics


def test_a_new_responder_is_seen_by_the_next_match(client, session, auto):
    """Queued for want of anyone in range; a volunteer registered nearby gets the next one."""
    volunteer(client, session, auto, auto.a, location=FAR, radius_m=500)
    first = submit(client, auto.a)
    assert first["dispatch"]["outcome"] == "queued"
    near, _ = volunteer(client, session, auto, auto.a)
    assert _offered_to(submit(client, auto.a)) == near["id"]


def test_a_declined_offer_gives_its_capacity_back(client, session, auto):
    """One task a day each: the nearest declines, the request goes to the other, and the
    nearest, free again, takes the next request (the state released the declined task)."""
    near, near_key = volunteer(client, session, auto, auto.a, max_tasks_per_day=1)
    far, _ = volunteer(client, session, auto, auto.a, max_tasks_per_day=1, location=FAR)
    first = submit(client, auto.a)
    assert _offered_to(first) == near["id"]
    aid = first["dispatch"]["offers"][0]["assignment_id"]
    assert move(client, near_key, aid, "decline", reason="busy").status_code == 200
    again = client.get(f"/v1/requests/{first['id']}", headers=headers(auto.a.dispatcher)).json()
    assert again["state"] == "offered"
    assert _offered_to(submit(client, auto.a)) == near["id"]
    # and both are now at their cap
    third = submit(client, auto.a)
    assert third["dispatch"]["outcome"] == "queued", third["dispatch"]


def test_fits_refuses_a_visit_overlapping_live_work(client, session, auto):
    """The locked re-check covers busy time, not only caps: a candidate whose round trip
    overlaps the responder's offered visit is refused, one after it is accepted."""
    only, _ = volunteer(client, session, auto, auto.a, max_tasks_per_day=5)
    first = submit(client, auto.a, duration_min=60)
    assert _offered_to(first) == only["id"]
    second = submit(client, auto.a, duration_min=30)  # offered later in its window, or queued
    request = session.get(ServiceRequest, second["id"])
    problem, ctx = adapter.build_problem(session, [auto.a.community_id], [request.id])
    [held] = repo.live_assignments(session, first["id"])
    start = ctx.minutes(held.planned_start)
    locked = {r.id: r for r in repo.lock_responders(session, [only["id"]])}

    def candidate(at: int) -> solver.Assignment:
        return solver.Assignment(
            request.id, (only["id"],), ("volunteer",), at, (held.travel_minutes,), (0,), None
        )

    assert not live.fits(session, ctx, request, candidate(start + 30), locked)
    after = start + 60 + 2 * held.travel_minutes
    assert live.fits(session, ctx, request, candidate(after), locked)
    session.rollback()


def test_states_are_per_planning_day(client, session, auto):
    """A request on a later local day is matched against that day's caps, not today's."""
    only, _ = volunteer(client, session, auto, auto.a, max_tasks_per_day=1)
    assert _offered_to(submit(client, auto.a)) == only["id"]
    assert submit(client, auto.a)["dispatch"]["outcome"] == "queued"
    assert _offered_to(submit(client, auto.a, **window(hours_from_now=25))) == only["id"]


@pytest.mark.skipif(BACKEND != "postgresql", reason="row locks need PostgreSQL")
def test_a_responder_another_matcher_holds_is_skipped_not_waited_for(client, session, auto):
    """While another transaction holds the nearest volunteer's row, a new request goes to the
    next one at once instead of queueing behind that lock."""
    near, _ = volunteer(client, session, auto, auto.a)
    far, _ = volunteer(client, session, auto, auto.a, location=FAR)
    with get_sessionmaker()() as other:
        repo.lock_responders(other, [near["id"]])  # held until `other` ends
        answers: list[dict] = []
        worker = threading.Thread(target=lambda: answers.append(submit(client, auto.a)))
        worker.start()
        worker.join(timeout=20)
        finished = not worker.is_alive()
        other.rollback()
    worker.join()
    assert finished, "the matcher waited for the held row"
    assert _offered_to(answers[0]) == far["id"]


def _tasks_left(day: warm.DayState, responder_id: str) -> int:
    return int(day.state.loads.tasks[day.state.ix.resp_pos[responder_id]])


def test_a_rebuild_keeps_offers_made_while_it_read(client, session, auto):
    """A rebuild reads the database while offers go on: an offer the rebuild saw is counted
    once, not twice; one it could not see (committed after its read) is counted again."""
    only, _ = volunteer(client, session, auto, auto.a, max_tasks_per_day=5)
    first = submit(client, auto.a)
    assert _offered_to(first) == only["id"]
    origin = adapter.planning_origin(datetime.fromisoformat(first["window_start"]))
    day = warm.day_state(session, auto.a.community_id, origin)
    assert _tasks_left(day, only["id"]) == 4
    # An offer the rebuild's read cannot contain: counted in the state during the rebuild.
    unseen = warm.Member(
        solver.Assignment(
            "not-in-the-database", (only["id"],), ("volunteer",), None, (5,), (100,), None
        ),
        as_request(
            {"id": "not-in-the-database", "location": [121.03, 30.71], "category": "errand"}
        ),
    )
    with day.lock:
        day.rebuilding, day.log = True, []
    day.commit(("not-in-the-database", only["id"]), unseen)
    assert _tasks_left(day, only["id"]) == 3
    warm._rebuild(session.get_bind(), day)
    assert not day.rebuilding and not day.stale
    # The first offer came back from the database once; the unseen one was replayed.
    assert _tasks_left(day, only["id"]) == 3
    day.release(("not-in-the-database", only["id"]))
    assert _tasks_left(day, only["id"]) == 4


def test_a_stale_state_is_rebuilt_on_a_background_thread(client, session, auto, monkeypatch):
    """With background work on, a stale state keeps answering while a thread rebuilds it."""
    only, _ = volunteer(client, session, auto, auto.a, qualifications=["first_aid"])
    first = submit(client, auto.a, required_qualifications=["first_aid"])
    origin = adapter.planning_origin(datetime.fromisoformat(first["window_start"]))
    day = warm.day_state(session, auto.a.community_id, origin)
    state_before = day.state
    response = client.patch(
        f"/v1/responders/{only['id']}", json={"qualifications": []}, headers=headers(auto.admin)
    )
    assert response.status_code == 200 and day.stale
    monkeypatch.setenv("WUSHE_BACKGROUND", "true")
    monkeypatch.setattr(warm, "MIN_REBUILD_GAP_S", 0.0)
    get_settings.cache_clear()
    try:
        assert warm.day_state(session, auto.a.community_id, origin) is day
        for thread in threading.enumerate():
            if thread.name == "wushe-warm-rebuild":
                thread.join(timeout=30)
    finally:
        get_settings.cache_clear()
    assert day.state is not state_before and not day.stale and not day.rebuilding
    j = day.state.ix.resp_pos[only["id"]]
    assert not day.state.ix.j_quals[j].any()  # the rebuilt state knows the edit


def test_work_written_by_another_process_makes_the_state_catch_up(client, session, auto):
    """A task given outside this process (raw SQL, as a batch run's worker or another API
    worker would) is found by the locked re-check: the request goes to the next volunteer,
    and the state counts that task for the full one, without a rebuild, so it does not
    propose them again and again."""
    near, _ = volunteer(client, session, auto, auto.a, max_tasks_per_day=2)
    far, _ = volunteer(client, session, auto, auto.a, location=FAR)
    auto_dispatch(session, auto.a, on=False)
    elsewhere = submit(client, auto.a)  # stored, not matched
    auto_dispatch(session, auto.a, on=True)
    first = submit(client, auto.a)  # builds the warm state
    assert _offered_to(first) == near["id"]
    now = datetime.now(UTC)
    session.execute(
        insert(Assignment.__table__).values(
            id=new_id(),
            request_id=elsewhere["id"],
            responder_id=near["id"],
            community_id=auto.a.community_id,
            role="volunteer",
            state="offered",
            offered_at=now,
            travel_minutes=0,
            distance_m=0,
            created_at=now,
            updated_at=now,
        )
    )
    session.commit()
    origin = adapter.planning_origin(datetime.fromisoformat(first["window_start"]))
    day = warm.day_state(session, auto.a.community_id, origin)
    assert not day.stale
    state_before = day.state
    assert _offered_to(submit(client, auto.a)) == far["id"]
    assert not day.stale and day.state is state_before
    assert (elsewhere["id"], near["id"]) in day.members
    assert day.state.loads.tasks[day.state.ix.resp_pos[near["id"]]] == 0


SHIFTS = [{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(7)]


def test_responders_with_the_same_terms_share_one_decoded_value(client, session, auto):
    """A warm state at 10,000 responders must not hold 50,000 lists of its own: equal JSON
    texts come back as one value, equal to what was stored."""
    one, _ = volunteer(client, session, auto, auto.a, weekly_shifts=SHIFTS,
                       qualifications=["first_aid"])
    two, _ = volunteer(client, session, auto, auto.a, weekly_shifts=SHIFTS,
                       qualifications=["first_aid"])
    other, _ = volunteer(client, session, auto, auto.a, weekly_shifts=SHIFTS[:2])
    terms = {r.id: r for r in repo.serving_terms(session, [auto.a.community_id])}
    a, b, c = terms[one["id"]], terms[two["id"]], terms[other["id"]]
    assert a.weekly_shifts == b.weekly_shifts == SHIFTS and c.weekly_shifts == SHIFTS[:2]
    assert a.weekly_shifts is b.weekly_shifts and a.qualifications is b.qualifications
    assert a.qualifications == ["first_aid"] and c.qualifications == []
    locked = {r.id: r for r in repo.lock_responder_terms(session, [one["id"], other["id"]])}
    assert locked[one["id"]].weekly_shifts is a.weekly_shifts
    assert adapter.responder_signature(locked[other["id"]]) == adapter.responder_signature(c)
    session.rollback()


def test_a_community_s_work_is_read_the_same_by_query_as_by_ids(client, session, auto):
    """`repo.work` of a community's responders named by a query (as a warm build does) finds
    exactly the tasks it finds from their ids, and nothing of another community."""
    near, _ = volunteer(client, session, auto, auto.a)
    volunteer(client, session, auto, auto.a, location=FAR)
    volunteer(client, session, auto, auto.b)
    submit(client, auto.a)
    submit(client, auto.a)
    submit(client, auto.b)
    since = datetime.now(UTC) - timedelta(days=1)
    until = since + timedelta(days=3)
    ids = [r.id for r in repo.serving_terms(session, [auto.a.community_id])]
    by_ids = repo.work(session, ids, since, until)
    by_query = repo.work(session, repo.serving_ids([auto.a.community_id]), since, until)
    assert len(by_ids) == 2 and {w.responder_id for w in by_ids} <= set(ids)
    assert sorted(w.assignment_id for w in by_query) == sorted(w.assignment_id for w in by_ids)


def test_a_warm_state_keeps_none_of_the_rows_it_was_built_from(client, session, auto):
    """The state lives for minutes and every full garbage collection walks what it holds:
    the responders' terms and the fixed requests stay with the build."""
    volunteer(client, session, auto, auto.a)
    created = submit(client, auto.a)
    origin = adapter.planning_origin(datetime.fromisoformat(created["window_start"]))
    warm.day_state(session, auto.a.community_id, origin).stale = True
    day = warm.day_state(session, auto.a.community_id, origin)  # rebuilt: the offer is fixed
    assert day.ctx.responders == {} and day.ctx.requests == {} and day.ctx.request_dicts == {}
    assert len(day.signatures) == 1 and created["id"] in day.fixed_requests
    session.rollback()


def test_a_build_runs_without_the_cycle_collector_and_turns_it_back_on(client, session, auto):
    """Cycle collection is off while a state is read (a full one stopped every thread for
    0.1-0.4 s per build) and on again afterwards, also when the build fails."""
    volunteer(client, session, auto, auto.a)
    created = submit(client, auto.a)
    origin = adapter.planning_origin(datetime.fromisoformat(created["window_start"]))
    engine = session.get_bind()
    during: list[bool] = []

    def note(*_args: object) -> None:
        during.append(gc.isenabled())

    def fail(*_args: object) -> None:
        raise RuntimeError("the database went away")

    assert gc.isenabled()
    event.listen(engine, "before_cursor_execute", note)
    try:
        warm.day_state(session, auto.a.community_id, origin).stale = True
        warm.day_state(session, auto.a.community_id, origin)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert during and not any(during)
    assert gc.isenabled()
    session.rollback()
    event.listen(engine, "before_cursor_execute", fail)
    try:
        warm.day_state(session, auto.a.community_id, origin).stale = True
        with pytest.raises(RuntimeError):
            warm.day_state(session, auto.a.community_id, origin)
    finally:
        event.remove(engine, "before_cursor_execute", fail)
    assert gc.isenabled()
    session.rollback()


def test_a_built_state_is_frozen_out_of_the_collectors_way(
    client, session, auto, monkeypatch
):
    """With gc_freeze, the objects of a state just built are in the permanent generation
    (full collections no longer walk them); without it, nothing is frozen."""
    volunteer(client, session, auto, auto.a)
    created = submit(client, auto.a)
    origin = adapter.planning_origin(datetime.fromisoformat(created["window_start"]))
    gc.unfreeze()
    try:
        warm.day_state(session, auto.a.community_id, origin).stale = True
        warm.day_state(session, auto.a.community_id, origin)
        assert gc.get_freeze_count() == 0
        monkeypatch.setenv("WUSHE_GC_FREEZE", "true")
        get_settings.cache_clear()
        warm.day_state(session, auto.a.community_id, origin).stale = True
        day = warm.day_state(session, auto.a.community_id, origin)
        assert gc.get_freeze_count() > 0
        # Frozen objects are no longer in the collector's generations.
        assert not any(obj is day.signatures for obj in gc.get_objects())
    finally:
        gc.unfreeze()
        monkeypatch.delenv("WUSHE_GC_FREEZE")
        get_settings.cache_clear()
    session.rollback()


def _warm_day(session, auto, created: dict) -> warm.DayState:
    origin = adapter.planning_origin(datetime.fromisoformat(created["window_start"]))
    return warm.day_state(session, auto.a.community_id, origin)


def _another_process(session):
    """A session on a second engine to the same database: its own warm registry, as another
    API worker or a batch run's worker would have; nothing it commits reaches this
    process's states except through the database."""
    from sqlalchemy.orm import Session

    from service.db import make_engine

    engine = make_engine(session.get_bind().url.render_as_string(hide_password=False))
    return engine, Session(engine)


def test_a_state_is_kept_past_its_ttl_while_no_counter_moved(client, session, auto):
    """Past the TTL, a state whose change counters are where they were at its build is kept
    (no rebuild: the build count stays) and checked again a TTL later."""
    volunteer(client, session, auto, auto.a)
    day = _warm_day(session, auto, submit(client, auto.a))
    state, builds = day.state, _builds()
    day.checked_at -= get_settings().live_cache_ttl_s + 1
    before = day.checked_at
    assert warm.day_state(session, auto.a.community_id, day.origin) is day
    assert day.state is state and _builds() == builds and day.checked_at > before


def test_an_edit_in_another_process_rebuilds_the_state_at_the_next_check(client, session, auto):
    """Another process takes the only volunteer's qualification away through its own
    session: its commit raises the counter, so this process, at its next check, rebuilds
    and answers with the true reason instead of proposing the volunteer."""
    only, _ = volunteer(client, session, auto, auto.a, qualifications=["first_aid"])
    first = submit(client, auto.a, required_qualifications=["first_aid"])
    assert _offered_to(first) == only["id"]
    day = _warm_day(session, auto, first)
    engine, other = _another_process(session)
    try:
        from service.responders.models import Responder

        other.get(Responder, only["id"]).qualifications = []
        other.commit()
    finally:
        other.close()
        engine.dispose()
    assert not day.stale  # nothing reached this process directly
    day.checked_at -= get_settings().live_cache_ttl_s + 1
    second = submit(client, auto.a, required_qualifications=["first_aid"])
    assert second["dispatch"]["reason"] == "no_qualified_responder"


def test_capacity_given_back_raises_the_counter_and_offers_do_not(client, session, auto):
    """A live offer leaves the community's counter alone (every process counts offers
    itself); a decline, which gives a task back, raises it."""
    near, near_key = volunteer(client, session, auto, auto.a)
    before = repo.versions(session, auto.a.community_id)
    first = submit(client, auto.a)
    session.rollback()  # see what the requests committed
    assert repo.versions(session, auto.a.community_id) == before
    aid = first["dispatch"]["offers"][0]["assignment_id"]
    assert move(client, near_key, aid, "decline", reason="busy").status_code == 200
    session.rollback()
    after = repo.versions(session, auto.a.community_id)
    assert after[0] > before[0] and after[1] == before[1]


def test_a_state_is_rebuilt_once_old_enough_whatever_the_counters(client, session, auto):
    """Writes that bypass every session (raw SQL) raise no counter: a state older than
    MAX_AGE_TTLS TTLs is rebuilt anyway."""
    volunteer(client, session, auto, auto.a)
    day = _warm_day(session, auto, submit(client, auto.a))
    state = day.state
    ttl = get_settings().live_cache_ttl_s
    day.checked_at -= ttl + 1
    day.built_at -= warm.MAX_AGE_TTLS * ttl + 1
    warm.day_state(session, auto.a.community_id, day.origin)
    assert day.state is not state and not day.stale


def test_a_release_this_process_gave_back_does_not_rebuild_its_state(client, session, auto):
    """A decline handled here raises the counter and gives the task back to this process's
    state, which takes the new counter as its own: at the next check it is kept, and the
    freed volunteer is offered the next request."""
    near, near_key = volunteer(client, session, auto, auto.a, max_tasks_per_day=1)
    volunteer(client, session, auto, auto.a, max_tasks_per_day=1, location=FAR)
    first = submit(client, auto.a)
    day = _warm_day(session, auto, first)
    state = day.state
    aid = first["dispatch"]["offers"][0]["assignment_id"]
    assert move(client, near_key, aid, "decline", reason="busy").status_code == 200
    session.rollback()
    assert day.versions == repo.versions(session, auto.a.community_id)
    builds = _builds()
    day.checked_at -= get_settings().live_cache_ttl_s + 1
    assert _offered_to(submit(client, auto.a)) == near["id"]
    assert day.state is state and _builds() == builds
