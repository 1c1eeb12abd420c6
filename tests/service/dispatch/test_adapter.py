"""The adapter: database rows to the solver's problem (shifts, caps left, funds, exclusions)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from service.dispatch import adapter
from service.requests.models import ServiceRequest
from tests.service.conftest import headers
from tests.service.dispatch.helpers import auto_dispatch, move, setup_category, submit, volunteer


def _next_monday() -> datetime:
    """The coming Monday (1-7 days ahead), 10:00 in Shanghai: windows there have not passed,
    whatever day the tests run (a fixed date became the past, and live matching refuses
    windows that have ended)."""
    today = datetime.now(UTC).replace(hour=2, minute=0, second=0, microsecond=0)
    return today + timedelta(days=7 - today.weekday())


MONDAY = _next_monday()
TUESDAY = (MONDAY + timedelta(days=1)).date().isoformat()
LOCAL_MIDNIGHT = f"{MONDAY.date().isoformat()}T00:00:00+08:00"


def _window(start: datetime) -> dict[str, str]:
    return {
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=2)).isoformat(),
    }


def test_shifts_follow_the_weekday_and_exceptions(client, session, world):
    """Monday's weekly shift and a date exception become minutes from local midnight."""
    setup_category(client, world)
    responder, _ = volunteer(
        client,
        session,
        world,
        world.a,
        weekly_shifts=[
            {"weekday": 0, "start": "08:00", "end": "12:00"},
            {"weekday": 1, "start": "14:00", "end": "18:00"},
        ],
        shift_exceptions=[{"date": TUESDAY, "available": False}],
    )
    body = {"category_code": "errand", **_window(MONDAY), "community_id": world.a.community_id}
    body["window_end"] = (MONDAY + timedelta(days=1, hours=4)).isoformat()
    body["location"] = {"type": "Point", "coordinates": [121.03, 30.71]}
    created = client.post("/v1/requests", json=body, headers=headers(world.a.dispatcher)).json()
    problem, ctx = adapter.build_problem(
        session, [world.a.community_id], [created["id"]], now=MONDAY - timedelta(days=1)
    )
    assert ctx.origin.isoformat() == LOCAL_MIDNIGHT
    [r] = problem.responders
    assert r.id == responder["id"]
    assert r.shifts == ((480, 720),)  # Tuesday's shift is cancelled by the exception
    [q] = problem.requests
    assert q.window == (600, 1440 + 840)


def test_weekly_shifts_without_exceptions_cover_each_day(client, session, world):
    """A weekly pattern alone (the shared, cached path) lays each weekday's shift over the
    planning days, from local midnight of the origin."""
    setup_category(client, world)
    volunteer(
        client,
        session,
        world,
        world.a,
        weekly_shifts=[
            {"weekday": 1, "start": "14:00", "end": "18:00"},
            {"weekday": 0, "start": "08:00", "end": "12:00"},
        ],
    )
    problem, ctx = adapter.build_problem(session, [world.a.community_id], [], now=MONDAY, days=8)
    assert ctx.origin.isoformat() == LOCAL_MIDNIGHT
    [r] = problem.responders
    day = 1440
    assert r.shifts == ((480, 720), (day + 840, day + 1080), (7 * day + 480, 7 * day + 720))


def test_caps_left_count_today_and_the_week(client, session, world):
    """Daily and weekly caps arrive as what is left after the day's and week's work."""
    auto_dispatch(session, world.a)
    setup_category(client, world)
    responder, key = volunteer(
        client,
        session,
        world,
        world.a,
        max_tasks_per_day=3,
        max_tasks_per_week=4,
        max_minutes_per_day=600,
        load_capacity=10,
    )
    done = submit(client, world.a, quantity=2)
    # Plan from the requests' own day: "now" may still be the local day before (after 23:00).
    now = datetime.fromisoformat(done["window_start"])
    aid = done["dispatch"]["offers"][0]["assignment_id"]
    for step in ("accept", "start", "complete"):
        assert move(client, key, aid, step).status_code == 200
    waiting = submit(client, world.a, quantity=3)
    assert waiting["state"] == "offered"
    problem, _ = adapter.build_problem(session, [world.a.community_id], now=now)
    [r] = problem.responders
    # The completed task lowers the caps; the offered one is live and fixed only when asked.
    assert r.max_tasks == 1 and r.load_capacity == 5
    problem, _ = adapter.build_problem(
        session, [world.a.community_id], now=now, fixed_states=adapter.LIVE_FIXED_STATES
    )
    [r] = problem.responders
    assert r.max_tasks == 2 and r.load_capacity == 8
    assert [f.request_id for f in problem.fixed] == [waiting["id"]]


def test_decliners_are_excluded_and_previous_responder_is_kept(client, session, world):
    """Who declined a request is excluded from it; a resident's last helper is preferred."""
    auto_dispatch(session, world.a)
    setup_category(client, world)
    resident = client.post(
        "/v1/residents",
        json={
            "community_id": world.a.community_id,
            "grid_id": world.a.grid_id,
            "name": "王阿婆",
            "location": {"type": "Point", "coordinates": [121.03, 30.71]},
            "tags": ["elderly"],
        },
        headers=headers(world.a.dispatcher),
    ).json()
    helper, key = volunteer(client, session, world, world.a)
    first = submit(client, world.a, resident_id=resident["id"])
    aid = first["dispatch"]["offers"][0]["assignment_id"]
    for step in ("accept", "start", "complete"):
        assert move(client, key, aid, step).status_code == 200
    second = submit(client, world.a, resident_id=resident["id"])
    aid = second["dispatch"]["offers"][0]["assignment_id"]
    assert move(client, key, aid, "decline", reason="tired").status_code == 200
    problem, _ = adapter.build_problem(session, [world.a.community_id], [second["id"]])
    [q] = problem.requests
    assert q.excluded_responders == (helper["id"],)
    assert q.previous_responder == helper["id"]
    assert q.resident_tags == ("elderly",)
    assert session.scalar(
        select(ServiceRequest.state).where(ServiceRequest.id == second["id"])
    ) == ("submitted")


def test_unchanged_responders_are_not_parsed_again(client, session, world):
    """A second build reuses the solver responders whose row, work, day and mode are the same;
    a changed row or new work is laid out afresh."""
    auto_dispatch(session, world.a)
    setup_category(client, world)
    edited, _ = volunteer(client, session, world, world.a, radius_m=3000)
    busy, _ = volunteer(client, session, world, world.a, max_tasks_per_day=3,
                        location={"type": "Point", "coordinates": [121.021, 30.701]})
    idle, _ = volunteer(client, session, world, world.a,
                        location={"type": "Point", "coordinates": [121.09, 30.75]})

    def build() -> dict:
        problem, _ = adapter.build_problem(session, [world.a.community_id], now=MONDAY, days=2)
        return {r.id: r for r in problem.responders}

    first = build()
    assert build()[idle["id"]] is first[idle["id"]]
    response = client.patch(
        f"/v1/responders/{edited['id']}", json={"radius_m": 4000},
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 200, response.text
    offered = submit(client, world.a, **_window(MONDAY + timedelta(hours=1)),
                     location={"type": "Point", "coordinates": [121.021, 30.701]})
    assert offered["dispatch"]["offers"][0]["responder_id"] == busy["id"]
    session.expire_all()
    again = build()
    assert again[idle["id"]] is first[idle["id"]]
    assert again[edited["id"]].radius_m == 4000 and first[edited["id"]].radius_m == 3000
    assert (first[busy["id"]].max_tasks, again[busy["id"]].max_tasks) == (3, 2)
