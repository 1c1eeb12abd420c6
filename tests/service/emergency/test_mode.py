"""Emergency mode: the switch, urgency rules, emergency caps and the emergency team."""

from sqlalchemy import select

from service.audit.models import AuditEntry
from tests.service.conftest import headers
from tests.service.dispatch.helpers import auto_dispatch, setup_category, submit, volunteer

FAR = {"type": "Point", "coordinates": [121.045, 30.71]}


def _switch(client, side, mode: str, **fields):
    response = client.post(
        f"/v1/communities/{side.community_id}/mode",
        json={"mode": mode, "reason": "疫情防控", **fields},
        headers=headers(side.dispatcher),
    )
    assert response.status_code == 200, response.text
    return response.json()["communities"][0]


def _urgency(client, side, request_id: str) -> str:
    got = client.get(f"/v1/requests/{request_id}", headers=headers(side.dispatcher)).json()
    return got["urgency"]


def _resident(client, side, tags):
    response = client.post(
        "/v1/residents",
        json={
            "community_id": side.community_id,
            "name": "张桂英",
            "location": {"type": "Point", "coordinates": [121.03, 30.71]},
            "tags": tags,
        },
        headers=headers(side.dispatcher),
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_the_switch_raises_urgency_by_the_rules_and_peace_restores_it(client, session, world):
    setup_category(client, world)
    insulin = submit(client, world.a, description="胰岛素 2 盒")
    alone = submit(
        client, world.a, resident_id=_resident(client, world.a, ["elderly", "lives_alone"])
    )
    plain = submit(client, world.a, description="大米一袋")
    switched = _switch(client, world.a, "emergency")
    assert switched["mode"] == "emergency" and switched["requests_reprioritised"] == 2
    assert _urgency(client, world.a, insulin["id"]) == "emergency"
    assert _urgency(client, world.a, alone["id"]) == "urgent"
    assert _urgency(client, world.a, plain["id"]) == "normal"
    # filed during the emergency: raised as it is stored
    assert submit(client, world.a, description="Insulin pens")["urgency"] == "emergency"
    back = _switch(client, world.a, "peacetime")
    assert back["requests_reprioritised"] == 3
    assert _urgency(client, world.a, insulin["id"]) == "normal"
    # the switch is audited with its reason and published
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.entity_id == world.a.community_id)
    ).all()
    assert [e.action for e in entries if e.action.startswith("emergency")] == [
        "emergency_on",
        "emergency_off",
    ]
    assert any((e.after or {}).get("mode_reason") == "疫情防控" for e in entries)
    kinds = [
        e["kind"]
        for e in client.get("/v1/events", headers=headers(world.a.dispatcher)).json()["items"]
    ]
    assert kinds.count("community.mode_changed") == 2


def test_rules_of_the_community_replace_the_defaults(client, session, world):
    setup_category(client, world)
    fever = submit(client, world.a, description="退烧药")
    insulin = submit(client, world.a, description="胰岛素")
    _switch(client, world.a, "emergency", rules=[{"urgency": "urgent", "keywords": ["退烧"]}])
    assert _urgency(client, world.a, fever["id"]) == "urgent"
    assert _urgency(client, world.a, insulin["id"]) == "normal"
    community = client.get(
        f"/v1/communities/{world.a.community_id}", headers=headers(world.a.dispatcher)
    ).json()
    assert community["mode_reason"] == "疫情防控"
    assert community["emergency_rules"] == [{"urgency": "urgent", "keywords": ["退烧"]}]


def test_a_rule_without_a_condition_is_refused(client, session, world):
    response = client.post(
        f"/v1/communities/{world.a.community_id}/mode",
        json={"mode": "emergency", "reason": "x", "rules": [{"urgency": "urgent"}]},
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 422
    got = client.get(
        f"/v1/communities/{world.a.community_id}", headers=headers(world.a.dispatcher)
    ).json()
    assert got["mode"] == "peacetime"


def test_the_emergency_team_serves_only_in_emergency(client, session, world):
    auto_dispatch(session, world.a)
    setup_category(client, world)
    team, _ = volunteer(client, session, world, world.a, emergency_team=True)
    queued = submit(client, world.a)
    assert queued["dispatch"]["outcome"] == "queued"
    _switch(client, world.a, "emergency")
    offered = submit(client, world.a)
    assert offered["dispatch"]["offers"][0]["responder_id"] == team["id"]


def test_emergency_caps_replace_daily_caps(client, session, world):
    """One task a day in peacetime, three in emergency: the second and third go to the same
    nearest volunteer only once the community is in emergency mode."""
    auto_dispatch(session, world.a)
    setup_category(client, world)
    near, _ = volunteer(
        client, session, world, world.a, max_tasks_per_day=1, emergency_max_tasks_per_day=3
    )
    far, _ = volunteer(client, session, world, world.a, location=FAR)
    first = submit(client, world.a, duration_min=10)
    second = submit(client, world.a, duration_min=10)
    assert first["dispatch"]["offers"][0]["responder_id"] == near["id"]
    assert second["dispatch"]["offers"][0]["responder_id"] == far["id"]
    _switch(client, world.a, "emergency")
    third = submit(client, world.a, duration_min=10)
    assert third["dispatch"]["offers"][0]["responder_id"] == near["id"]


def test_a_street_switches_every_community_the_dispatcher_holds(client, session, world):
    response = client.post(
        f"/v1/streets/{world.a.street_id}/mode",
        json={"mode": "emergency", "reason": "全域静态管理"},
        headers=headers(world.admin),
    )
    assert response.status_code == 200, response.text
    switched = {c["community_id"] for c in response.json()["communities"]}
    assert world.a.community_id in switched
    for community_id in switched:
        got = client.get(f"/v1/communities/{community_id}", headers=headers(world.admin)).json()
        assert got["mode"] == "emergency"
