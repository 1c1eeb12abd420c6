"""Background rounds: lapsed offers time out and are matched again, ended windows expire."""

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.assignments.models import Assignment
from service.background import tick
from service.events.models import Event
from service.requests.models import ServiceRequest
from service.types import utcnow
from tests.conftest import BACKEND
from tests.service.events.wiring import offer, responder, service_request, started

pytest.importorskip("service.dispatch.lifecycle")


@pytest.fixture(autouse=True)
def _background_off(monkeypatch):
    from service.config import get_settings

    monkeypatch.setenv("WUSHE_BACKGROUND", "false")
    get_settings.cache_clear()


def _offered(session, world, *, respond_in: timedelta, window_in: timedelta = timedelta(hours=3)):
    request = service_request(
        session,
        world.a.community_id,
        world.a.grid_id,
        state="offered",
        window_end=utcnow() + window_in,
    )
    assignment = offer(
        session, request, responder(session, world.a.community_id).id, utcnow() + respond_in
    )
    session.commit()
    return request, assignment


def _state(session, model, row_id):
    session.expire_all()
    return session.get(model, row_id).state


def _kinds(session, subject_id):
    return list(
        session.scalars(select(Event.kind).where(Event.subject_id == subject_id).order_by(Event.id))
    )


def test_lapsed_offer_times_out_and_request_returns_to_queue(session, world):
    """An offer past respond_by becomes timed_out, its request submitted, with events recorded."""
    request, lapsed = _offered(session, world, respond_in=timedelta(minutes=-1))
    report = tick()
    assert (report.timed_out, report.rematched, report.failed) == (1, 1, 0)
    assert _state(session, Assignment, lapsed.id) == "timed_out"
    assert _state(session, ServiceRequest, request.id) == "submitted"
    assert _kinds(session, lapsed.id) == ["assignment.timed_out"]
    assert any(kind.startswith("request.") for kind in _kinds(session, request.id))


def test_offer_still_in_time_is_left_alone(session, world):
    """An offer whose respond_by is still ahead of now is untouched by a round."""
    request, waiting = _offered(session, world, respond_in=timedelta(minutes=5))
    assert tick().timed_out == 0
    assert _state(session, Assignment, waiting.id) == "offered"
    # The same offer lapses once the clock passes respond_by.
    assert tick(now=utcnow() + timedelta(minutes=6)).timed_out == 1
    assert _state(session, Assignment, waiting.id) == "timed_out"


def test_requests_past_their_window_expire(session, world):
    """Submitted and offered requests past window_end expire; live offers on them are cancelled."""
    waiting = service_request(
        session, world.a.community_id, None, window_end=utcnow() - timedelta(minutes=1)
    )
    offered, held = _offered(
        session, world, respond_in=timedelta(hours=1), window_in=timedelta(minutes=-1)
    )
    future = service_request(session, world.a.community_id, None)
    accepted = service_request(
        session,
        world.a.community_id,
        None,
        state="accepted",
        window_end=utcnow() - timedelta(hours=1),
    )
    session.commit()
    report = tick()
    assert (report.expired, report.failed) == (2, 0)
    assert _state(session, ServiceRequest, waiting.id) == "expired"
    assert _state(session, ServiceRequest, offered.id) == "expired"
    assert _state(session, Assignment, held.id) == "cancelled"
    assert _state(session, ServiceRequest, future.id) == "submitted"
    assert _state(session, ServiceRequest, accepted.id) == "accepted"
    assert "request.expired" in _kinds(session, waiting.id)


def test_lapsed_offer_past_window_is_not_matched_again(session, world):
    """An offer lapsing after its request's window ended is timed out and the request expired."""
    request, lapsed = _offered(
        session, world, respond_in=timedelta(minutes=-5), window_in=timedelta(minutes=-1)
    )
    report = tick()
    assert (report.timed_out, report.rematched, report.expired) == (1, 0, 1)
    assert _state(session, Assignment, lapsed.id) == "timed_out"
    assert _state(session, ServiceRequest, request.id) == "expired"


@pytest.mark.skipif(BACKEND != "postgresql", reason="row locks need PostgreSQL")
def test_two_processes_ticking_at_once_do_each_offer_once(session, world):
    """Concurrent rounds split the lapsed offers: each times out exactly once, none fails."""
    ids = [_offered(session, world, respond_in=timedelta(minutes=-1))[1].id for _ in range(20)]
    reports = []
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        reports.append(tick())

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.timed_out for r in reports) == 20
    assert sum(r.failed for r in reports) == 0
    count = select(func.count()).where(Event.kind == "assignment.timed_out")
    assert session.scalar(count) == 20
    assert {_state(session, Assignment, i) for i in ids} == {"timed_out"}


def test_started_app_runs_rounds_by_itself(session, world, monkeypatch):
    """With the loop on, an ended request expires while nobody calls any endpoint."""
    request = service_request(
        session, world.a.community_id, None, window_end=utcnow() - timedelta(minutes=1)
    )
    session.commit()
    with started(monkeypatch, WUSHE_BACKGROUND="true", WUSHE_BACKGROUND_INTERVAL_S="0.1") as client:
        loop = client.app.state.background
        deadline = time.monotonic() + 10
        # The round commits the expiry before it counts itself: wait for both.
        while time.monotonic() < deadline and (
            _state(session, ServiceRequest, request.id) != "expired" or loop.rounds < 1
        ):
            time.sleep(0.1)
        assert loop is not None and loop.rounds >= 1
    assert _state(session, ServiceRequest, request.id) == "expired"
    assert not loop._thread.is_alive()
