"""The README's promise: with the demo's printed keys a newcomer submits a request, sees it
offered, accepts and completes it as the responder, and starts a batch run."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from service.cli import main
from service.runs import jobs
from tests.service.conftest import headers
from tests.service.runs.helpers import finish


def _keys(output: str) -> tuple[str, dict[str, str]]:
    dispatcher = ""
    responders: dict[str, str] = {}
    for line in output.splitlines():
        if line.startswith("Dispatcher key"):
            dispatcher = line.rsplit(" ", 1)[-1]
        elif line.startswith("  responder "):
            name = line.split()[1]
            responders[name] = line.rsplit(" ", 1)[-1]
    return dispatcher, responders


def _medicine_delivery(client, me: dict, community_id: str, hour: int, hours: int, **fields):
    """POST a medicine delivery whose window opens tomorrow at ``hour`` (Shanghai time) and
    lasts ``hours``."""
    start = datetime.now(ZoneInfo("Asia/Shanghai")).replace(
        hour=hour, minute=0, second=0, microsecond=0
    ) + timedelta(days=1)
    return client.post(
        "/v1/requests",
        json={
            "community_id": community_id,
            "category_code": "medicine_delivery",
            "location": {"type": "Point", "coordinates": [121.016, 30.699]},
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(hours=hours)).isoformat(),
            **fields,
        },
        headers=me,
    )


def test_demo_walkthrough(database_url, client, capsys):
    """Submit → offered → accepted → in progress → completed, then a batch preview runs."""
    jobs.get_app.cache_clear()  # the procrastinate app is bound to one database
    assert main(["demo"]) == 0
    dispatcher, responder_keys = _keys(capsys.readouterr().out)
    me = headers(dispatcher)
    community = client.get("/v1/communities", headers=me).json()["items"][0]
    grid = client.get("/v1/grids", headers=me).json()["items"][0]
    created = _medicine_delivery(
        client, me, community["id"], 9, 8, grid_id=grid["id"], urgency="urgent"
    )
    assert created.status_code == 201, created.text
    dispatch = created.json()["dispatch"]
    assert dispatch["outcome"] == "offered", dispatch
    offer = dispatch["offers"][0]
    assignment = client.get(f"/v1/assignments/{offer['assignment_id']}", headers=me).json()
    responder = client.get(f"/v1/responders/{assignment['responder_id']}", headers=me).json()
    as_responder = headers(responder_keys[responder["name"]])
    for verb, state in (
        ("accept", "accepted"),
        ("start", "in_progress"),
        ("complete", "completed"),
    ):
        moved = client.post(
            f"/v1/assignments/{offer['assignment_id']}/{verb}", headers=as_responder
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["state"] == state
    request = client.get(f"/v1/requests/{created.json()['id']}", headers=me).json()
    assert request["state"] == "completed"
    run = client.post(
        "/v1/dispatch-runs",
        json={
            "scope": {"type": "community", "id": community["id"]},
            "mode": "preview",
            "time_limit_s": 2,
        },
        headers=me,
    )
    assert run.status_code == 202, run.text
    # SQLite: the API's own threads run it; PostgreSQL: a procrastinate worker pass does.
    assert finish(client, dispatcher, run.json()["id"])["state"] == "succeeded"
    plan = client.get(run.headers["location"] + "/plan", headers=me).json()
    assert plan["assignments"] or plan["unassigned"]


def test_the_demo_offers_in_the_evening_too(database_url, client, capsys):
    """A newcomer trying the demo after the day shifts end still sees an offer: a medicine
    delivery due tonight goes to the volunteer on night duty."""
    from service.demo import RESPONDERS

    jobs.get_app.cache_clear()
    assert main(["demo"]) == 0
    dispatcher, _ = _keys(capsys.readouterr().out)
    # Loading reads the demo's table without changing it, so a second database loaded by
    # the same process (tests, a second `wushe demo`) gets the same responders.
    assert [f for *_, f in RESPONDERS if f.get("night")] != []
    assert [f for *_, f in RESPONDERS if f.get("load_capacity") == 20] != []
    me = headers(dispatcher)
    community = client.get("/v1/communities", headers=me).json()["items"][0]
    created = _medicine_delivery(client, me, community["id"], 20, 3)
    assert created.status_code == 201, created.text
    dispatch = created.json()["dispatch"]
    assert dispatch["outcome"] == "offered", dispatch
    responder = client.get(
        f"/v1/responders/{dispatch['offers'][0]['responder_id']}", headers=me
    ).json()
    assert responder["name"] == "林晓夜"
