"""GET /v1/indicators and /v1/indicators/responder-load: the linkage-index figures, scoped."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from service.assignments.models import Assignment
from service.requests.models import ServiceRequest
from tests.service.conftest import headers
from tests.service.dispatch.helpers import auto_dispatch, setup_category, submit, volunteer

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _fund(client, world, amount_fen: int) -> dict:
    body = {"name": "社区慈善基金", "community_id": world.a.community_id}
    fund = client.post("/v1/funds", json=body, headers=headers(world.a.dispatcher)).json()
    response = client.post(
        f"/v1/funds/{fund['id']}/entries",
        json={"kind": "deposit", "amount_fen": amount_fen, "donor": "某公司"},
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 201, response.text
    return fund


@pytest.fixture
def activity(client, session, world):
    """In A: one paid request completed by a volunteer, one cancelled, one left open."""
    auto_dispatch(session, world.a)
    setup_category(client, world)
    fund = _fund(client, world, 10_000)
    _, key = volunteer(client, session, world, world.a)
    done = submit(client, world.a, cost_fen=2_500, grid_id=world.a.grid_id)
    aid = done["dispatch"]["offers"][0]["assignment_id"]
    for step in ("accept", "start", "complete"):
        r = client.post(f"/v1/assignments/{aid}/{step}", headers=headers(key))
        assert r.status_code == 200, r.text
    cancelled = submit(client, world.a)
    r = client.post(
        f"/v1/requests/{cancelled['id']}/cancel",
        json={"reason": "no longer needed"},
        headers=headers(world.a.dispatcher),
    )
    assert r.status_code == 200, r.text
    still_open = submit(client, world.a)
    # Known times: created two hours ago, offered 10 minutes later, done
    # 80 minutes after creation (1 h of volunteer work from the start).
    now = datetime.now(UTC)
    created = now - timedelta(minutes=120)
    ids = [done["id"], cancelled["id"], still_open["id"]]
    session.execute(
        update(ServiceRequest).where(ServiceRequest.id.in_(ids)).values(created_at=created)
    )
    session.execute(
        update(Assignment)
        .where(Assignment.request_id.in_(ids))
        .values(offered_at=created + timedelta(minutes=10))
    )
    session.execute(
        update(Assignment)
        .where(Assignment.id == aid)
        .values(
            offered_at=created + timedelta(minutes=10),
            accepted_at=created + timedelta(minutes=12),
            started_at=created + timedelta(minutes=20),
            completed_at=created + timedelta(minutes=80),
        )
    )
    session.commit()
    return {"done": done, "fund": fund, "open": still_open}


def _get(client, key, **params):
    return client.get("/v1/indicators", params=params, headers=headers(key))


def test_figures_of_a_community(client, world, activity):
    """Share met, medians, hours and spending follow from the requests of the period."""
    response = _get(client, world.a.dispatcher)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["requests_total"] == 3
    assert body["requests_met"] == 1
    assert body["requests_cancelled"] == 1
    assert body["requests_open"] == 1
    assert body["share_met"] == pytest.approx(1 / 3, abs=1e-4)
    assert body["median_minutes_to_completion"] == pytest.approx(80, abs=0.1)
    assert body["median_minutes_to_offer"] == pytest.approx(10, abs=0.1)
    assert body["volunteer_hours"] == pytest.approx(1.0, abs=0.05)
    assert body["volunteers_active"] == 1
    assert body["fund_spent_fen"] == 2_500
    assert body["fund_spending"][0]["fund_id"] == activity["fund"]["id"]
    category = body["by_category"][0]
    assert (category["key"], category["total"], category["met"]) == ("errand", 3, 1)
    grids = {g["key"]: g for g in body["by_grid"]}
    assert grids[world.a.grid_id]["met"] == 1 and grids[world.a.grid_id]["name"] == "网格1"
    assert sum(d["created"] for d in body["by_day"]) == 3


def test_grid_scope_counts_only_its_requests(client, world, activity):
    """A grid scope counts the requests filed under that grid only."""
    body = _get(client, world.a.dispatcher, scope_type="grid", scope_id=world.a.grid_id).json()
    assert (body["requests_total"], body["requests_met"]) == (1, 1)


def test_period_excludes_requests_created_outside_it(client, world, activity):
    """A period that ended before the requests were created counts nothing."""
    until = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    body = _get(client, world.a.dispatcher, to=until).json()
    assert body["requests_total"] == 0
    assert body["share_met"] is None and body["median_minutes_to_offer"] is None


def test_other_community_sees_nothing_and_gets_404_for_a_scope(client, world, activity):
    """B's dispatcher counts none of A's requests and cannot name A as a scope."""
    body = _get(client, world.b.dispatcher).json()
    assert body["requests_total"] == 0 and body["community_ids"] == [world.b.community_id]
    for scope_type, scope_id in (
        ("community", world.a.community_id),
        ("grid", world.a.grid_id),
        ("street", world.a.street_id),
    ):
        r = _get(client, world.b.dispatcher, scope_type=scope_type, scope_id=scope_id)
        assert r.status_code == 404, r.text
        assert r.headers["content-type"].startswith("application/problem+json")


def test_bad_periods_are_problems(client, world):
    """A naive time, an inverted period or half a scope is a 422 problem."""
    naive = _get(client, world.a.dispatcher, **{"from": "2026-01-01T00:00:00"})
    assert naive.status_code == 422
    inverted = _get(
        client, world.a.dispatcher, **{"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    )
    assert inverted.status_code == 422
    half = _get(client, world.a.dispatcher, scope_type="community")
    assert half.status_code == 422
    assert half.headers["content-type"].startswith("application/problem+json")


def test_responder_load_counts_the_days_work(client, session, world):
    """An offer for today counts one task and its minutes against the responder's caps."""
    auto_dispatch(session, world.a)
    setup_category(client, world)
    responder, _ = volunteer(client, session, world, world.a, max_tasks_per_day=4)
    created = submit(client, world.a)
    assert created["state"] == "offered"
    day = datetime.fromisoformat(created["window_start"]).astimezone(SHANGHAI)
    r = client.get(
        "/v1/indicators/responder-load",
        params={"community_id": world.a.community_id, "day": day.date().isoformat()},
        headers=headers(world.a.dispatcher),
    )
    assert r.status_code == 200, r.text
    (row,) = [i for i in r.json()["items"] if i["responder_id"] == responder["id"]]
    assert row["tasks"] == 1 and row["max_tasks_per_day"] == 4
    assert row["minutes"] >= created["duration_min"]
    other = client.get(
        "/v1/indicators/responder-load",
        params={"community_id": world.a.community_id},
        headers=headers(world.b.dispatcher),
    )
    assert other.status_code == 404
