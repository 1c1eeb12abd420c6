"""Teams move as one; offers time out and are matched again; every move leaves an event."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from service.assignments.models import Assignment
from service.auth.principal import Role
from service.dispatch import service as dispatch
from service.events.models import Event
from service.requests.models import ServiceRequest
from tests.service.conftest import add_key, headers
from tests.service.dispatch.helpers import auto_dispatch, move, setup_category, submit, volunteer
from tests.service.requests.factory import make_responder

TEAM = [{"role": "community_staff", "count": 1}, {"role": "social_worker", "count": 2}]


@pytest.fixture
def team(client, session, world):
    """A 1+2 team request offered to three responders, with each member's key."""
    auto_dispatch(session, world.a)
    setup_category(client, world, code="team_visit", default_team=TEAM)
    keys = {}
    for kind in ("community_staff", "social_worker", "social_worker"):
        r = make_responder(client, world, [world.a.community_id], kind=kind)
        keys[r["id"]] = add_key(
            session, Role.responder, responder_id=r["id"], community_ids=[world.a.community_id]
        )
        session.commit()
    created = submit(client, world.a, category_code="team_visit")
    assert created["state"] == "offered", created["dispatch"]
    offers = {o["responder_id"]: o["assignment_id"] for o in created["dispatch"]["offers"]}
    return created, {keys[j]: aid for j, aid in offers.items()}


def _state(client, world, request_id):
    got = client.get(f"/v1/requests/{request_id}", headers=headers(world.a.dispatcher))
    return got.json()["state"]


def test_team_is_accepted_only_when_everyone_accepts(client, world, team):
    """The request stays offered until the last member accepts, starts with the first start,
    and completes with the last completion."""
    created, members = team
    items = list(members.items())
    for key, aid in items[:-1]:
        assert move(client, key, aid, "accept").status_code == 200
        assert _state(client, world, created["id"]) == "offered"
    key0, aid0 = items[0]
    assert move(client, key0, aid0, "start").status_code == 409
    assert move(client, *items[-1], "accept").status_code == 200
    assert _state(client, world, created["id"]) == "accepted"
    for step in ("start", "complete"):
        for i, (key, aid) in enumerate(items):
            assert move(client, key, aid, step).status_code == 200
            expected = "in_progress" if step == "start" or i < len(items) - 1 else "completed"
            assert _state(client, world, created["id"]) == expected


def test_one_member_declining_withdraws_the_team_offer(client, session, world, team):
    """A team is all or none: one decline cancels the other offers and re-queues the request."""
    created, members = team
    (key, aid), *others = members.items()
    assert move(client, key, aid, "decline", reason="sick").status_code == 200
    session.expire_all()
    states = dict(
        session.execute(
            select(Assignment.id, Assignment.state).where(Assignment.request_id == created["id"])
        ).all()
    )
    assert states[aid] == "declined"
    assert all(states[other] == "cancelled" for _, other in others)
    # The decliner was the only one of its kind: nobody can complete the team now.
    assert _state(client, world, created["id"]) == "submitted"


def test_time_out_rematches_without_the_silent_responder(client, session, world):
    """An offer past respond_by times out and goes to the next responder."""
    auto_dispatch(session, world.a)
    setup_category(client, world)
    first, _ = volunteer(client, session, world, world.a)
    second, _ = volunteer(client, session, world, world.a)
    created = submit(client, world.a)
    offer = created["dispatch"]["offers"][0]
    assignment = session.get(Assignment, offer["assignment_id"])
    outcome = dispatch.time_out(session, assignment)
    session.commit()
    assert assignment.state == "timed_out"
    assert outcome.outcome == "offered"
    [again] = outcome.offers
    assert again["responder_id"] != offer["responder_id"]
    assert again["responder_id"] in {first["id"], second["id"]}
    assert again["respond_by"] - assignment.offered_at >= timedelta(seconds=599)


def test_every_move_records_an_event(client, session, world):
    """Offer, acceptance, start and completion each leave an event for the feed."""
    auto_dispatch(session, world.a)
    setup_category(client, world)
    _, key = volunteer(client, session, world, world.a)
    created = submit(client, world.a)
    aid = created["dispatch"]["offers"][0]["assignment_id"]
    for step in ("accept", "start", "complete"):
        assert move(client, key, aid, step).status_code == 200
    kinds = set(session.scalars(select(Event.kind)))
    assert {
        "request.offered",
        "assignment.offered",
        "assignment.accepted",
        "request.accepted",
        "assignment.started",
        "request.started",
        "assignment.completed",
        "request.completed",
    } <= kinds


def test_sqlite_single_writer_keeps_caps_under_threads(client, session, world):
    """Concurrent submissions through the app never exceed a cap (any backend)."""
    auto_dispatch(session, world.a)
    setup_category(client, world)
    volunteer(client, session, world, world.a, max_tasks_per_day=2)
    codes = []

    def post() -> None:
        codes.append(submit(client, world.a)["state"])

    threads = [threading.Thread(target=post) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    session.expire_all()
    offered = session.scalars(select(ServiceRequest).where(ServiceRequest.state == "offered"))
    assert len(list(offered)) == 2 and sorted(codes).count("offered") == 2
