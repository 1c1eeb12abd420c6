"""Live matching on POST /v1/requests: offered to the best fit, or queued with the reason."""

from sqlalchemy import func, select

from service.assignments.models import Assignment
from tests.service.conftest import headers
from tests.service.dispatch.helpers import (
    CATEGORY,
    POINT,
    setup_category,
    submit,
    volunteer,
    window,
)
from tests.service.requests.factory import make_responder


def _fund(client, world, amount_fen: int, **fields) -> dict:
    body = {"name": "社区慈善基金", "community_id": world.a.community_id, **fields}
    fund = client.post("/v1/funds", json=body, headers=headers(world.a.dispatcher)).json()
    response = client.post(
        f"/v1/funds/{fund['id']}/entries",
        json={"kind": "deposit", "amount_fen": amount_fen, "donor": "某公司"},
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 201, response.text
    return fund


def _balances(client, world, fund_id: str) -> tuple[int, int, int]:
    f = client.get(f"/v1/funds/{fund_id}", headers=headers(world.a.dispatcher)).json()
    return f["balance_fen"], f["reserved_fen"], f["available_fen"]


def test_offered_to_the_nearest_qualified_responder(client, session, auto):
    """The offer names the responder, its role and the answer deadline."""
    near, _ = volunteer(client, session, auto, auto.a)
    volunteer(
        client, session, auto, auto.a, location={"type": "Point", "coordinates": [121.045, 30.71]}
    )
    created = submit(client, auto.a)
    assert created["state"] == "offered"
    [offer] = created["dispatch"]["offers"]
    assert offer["responder_id"] == near["id"] and offer["role"] == "volunteer"


def test_queued_with_reason_when_nobody_qualifies(client, session, auto):
    """Nobody holds the qualification: queued, with the solver's reason, sentence and remedy."""
    volunteer(client, session, auto, auto.a)
    created = submit(client, auto.a, required_qualifications=["counselling"])
    assert created["state"] == "submitted"
    d = created["dispatch"]
    assert d["outcome"] == "queued" and d["reason"] == "no_qualified_responder"
    assert d["message"] and "counselling" in d["remedy"]
    assert session.scalar(select(func.count()).select_from(Assignment)) == 0


def test_queued_out_of_range(client, session, auto):
    """A responder too far away is not offered; the reason says so."""
    far = {"type": "Point", "coordinates": [121.06, 30.71]}
    volunteer(client, session, auto, auto.a, radius_m=1000, location=far)
    d = submit(client, auto.a)["dispatch"]
    assert d["outcome"] == "queued" and d["reason"] == "out_of_range"


def test_manual_community_queues_without_matching(client, session, world):
    """A community without auto_dispatch leaves the request for a dispatcher."""
    setup_category(client, world)
    volunteer(client, session, world, world.a)
    created = submit(client, world.a)
    assert created["state"] == "submitted"
    assert created["dispatch"] is None


def test_daily_task_cap_is_respected(client, session, auto):
    """A volunteer with one task a day gets one offer; the next request is queued for capacity."""
    volunteer(client, session, auto, auto.a, max_tasks_per_day=1)
    assert submit(client, auto.a)["state"] == "offered"
    second = submit(client, auto.a)
    assert second["state"] == "submitted"
    assert second["dispatch"]["reason"] == "capacity"


def test_team_request_is_offered_to_a_whole_team(client, session, auto):
    """A 1+2 team request is offered to one staff member and two social workers at once."""
    setup_category(
        client,
        auto,
        code="team_visit",
        default_team=[
            {"role": "community_staff", "count": 1},
            {"role": "social_worker", "count": 2},
        ],
    )
    make_responder(client, auto, [auto.a.community_id], kind="community_staff")
    for _ in range(2):
        make_responder(
            client, auto, [auto.a.community_id], kind="social_worker", licence_level="assistant"
        )
    created = submit(client, auto.a, category_code="team_visit")
    assert created["state"] == "offered", created["dispatch"]
    roles = sorted(o["role"] for o in created["dispatch"]["offers"])
    assert roles == ["community_staff", "social_worker", "social_worker"]


def test_cost_is_reserved_then_spent(client, session, auto):
    """An offered paid request holds its cost on the fund; completion turns it into a spend."""
    fund = _fund(client, auto, 10_000)
    _, key = volunteer(client, session, auto, auto.a)
    created = submit(client, auto.a, cost_fen=3_000)
    assert created["state"] == "offered"
    assert _balances(client, auto, fund["id"]) == (10_000, 3_000, 7_000)
    aid = created["dispatch"]["offers"][0]["assignment_id"]
    for step in ("accept", "start", "complete"):
        r = client.post(f"/v1/assignments/{aid}/{step}", headers=headers(key))
        assert r.status_code == 200, r.text
    assert _balances(client, auto, fund["id"]) == (7_000, 0, 7_000)


def test_cost_is_released_on_decline_and_cancel(client, session, auto):
    """Declining or cancelling gives the held money back to the fund."""
    fund = _fund(client, auto, 10_000)
    _, key = volunteer(client, session, auto, auto.a)
    created = submit(client, auto.a, cost_fen=4_000)
    aid = created["dispatch"]["offers"][0]["assignment_id"]
    r = client.post(f"/v1/assignments/{aid}/decline", json={"reason": "busy"}, headers=headers(key))
    assert r.status_code == 200, r.text
    assert _balances(client, auto, fund["id"]) == (10_000, 0, 10_000)
    second = submit(client, auto.a, cost_fen=4_000)
    assert _balances(client, auto, fund["id"]) == (10_000, 4_000, 6_000)
    r = client.post(
        f"/v1/requests/{second['id']}/cancel",
        json={"reason": "no longer needed"},
        headers=headers(auto.a.dispatcher),
    )
    assert r.status_code == 200, r.text
    assert _balances(client, auto, fund["id"]) == (10_000, 0, 10_000)


def test_fund_exhausted_is_queued(client, session, auto):
    """A cost no fund can cover is queued as fund_exhausted and nothing is reserved."""
    fund = _fund(client, auto, 1_000)
    volunteer(client, session, auto, auto.a)
    created = submit(client, auto.a, cost_fen=5_000)
    assert created["dispatch"]["reason"] == "fund_exhausted"
    assert _balances(client, auto, fund["id"]) == (1_000, 0, 1_000)


def test_reads_only_what_matching_needs(client, session, auto):
    """A grid app's request reads its grid and community in one statement, and matching
    reads responders' terms only: no statement loads a responder's name or phone."""
    from sqlalchemy import event

    from service.db import get_engine

    near, _ = volunteer(client, session, auto, auto.a)
    statements: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(get_engine(), "before_cursor_execute", note)
    try:
        body = {"grid_id": auto.a.grid_id, "category_code": CATEGORY, "location": POINT,
                **window()}
        response = client.post("/v1/requests", json=body, headers=headers(auto.a.grid_app))
    finally:
        event.remove(get_engine(), "before_cursor_execute", note)
    assert response.status_code == 201, response.text
    assert response.json()["dispatch"]["offers"][0]["responder_id"] == near["id"]
    reads = [s for s in statements if s.upper().startswith("SELECT")]
    assert [s for s in reads if "FROM grid JOIN community" in s], reads
    assert not [s for s in reads if "FROM community WHERE community.id = " in s], reads
    assert not [s for s in reads if "responder.name" in s or "responder.phone" in s], reads
