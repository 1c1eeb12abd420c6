"""Who sees and changes which responder: dispatchers by community, responders only themselves."""

from service.auth.principal import Role
from tests.service.conftest import add_key, headers, table_counts
from tests.service.responders import bodies


def create(client, key, body):
    response = client.post("/v1/responders", json=body, headers=headers(key))
    assert response.status_code == 201, response.text
    return response.json()


def own_key(session, responder_id):
    key = add_key(session, Role.responder, responder_id=responder_id)
    session.commit()
    return key


def test_other_community_is_404_and_unlisted(client, world):
    """Community B's dispatcher neither sees, lists nor changes A's responder."""
    created = create(client, world.a.dispatcher, bodies.volunteer(world.a.community_id))
    other = headers(world.b.dispatcher)
    assert client.get(f"/v1/responders/{created['id']}", headers=other).status_code == 404
    patched = client.patch(f"/v1/responders/{created['id']}", json={"active": False}, headers=other)
    assert patched.status_code == 404
    assert patched.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/responders", headers=other).json()["items"] == []


def test_responder_sees_only_itself(client, world, session):
    """A responder key reads its own profile, lists only itself and gets 404 for a colleague."""
    me = create(client, world.a.dispatcher, bodies.volunteer(world.a.community_id))
    colleague = create(client, world.a.dispatcher, bodies.social_worker(world.a.community_id))
    key = headers(own_key(session, me["id"]))
    assert client.get(f"/v1/responders/{me['id']}", headers=key).status_code == 200
    assert client.get(f"/v1/responders/{colleague['id']}", headers=key).status_code == 404
    assert [r["id"] for r in client.get("/v1/responders", headers=key).json()["items"]] == [
        me["id"]
    ]


def test_responder_updates_own_availability(client, world, session):
    """A responder may change its own shifts, exceptions and active flag."""
    me = create(client, world.a.dispatcher, bodies.volunteer(world.a.community_id))
    change = {
        "weekly_shifts": [{"weekday": 5, "start": "14:00", "end": "24:00"}],
        "shift_exceptions": [{"date": "2026-12-01", "available": False}],
        "active": False,
    }
    response = client.patch(
        f"/v1/responders/{me['id']}", json=change, headers=headers(own_key(session, me["id"]))
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["weekly_shifts"] == change["weekly_shifts"]
    assert body["shift_exceptions"] == [
        {"date": "2026-12-01", "available": False, "start": None, "end": None}
    ]
    assert body["active"] is False


def test_responder_cannot_change_other_fields(client, world, session):
    """A responder changing its own radius or licence gets 403 and nothing changes."""
    me = create(client, world.a.dispatcher, bodies.volunteer(world.a.community_id))
    key = headers(own_key(session, me["id"]))
    before = table_counts(session)
    for change in ({"radius_m": 99999}, {"active": False, "max_tasks_per_day": 50}):
        response = client.patch(f"/v1/responders/{me['id']}", json=change, headers=key)
        assert response.status_code == 403
    assert table_counts(session) == before
    assert client.get(f"/v1/responders/{me['id']}", headers=key).json()["radius_m"] == 1500


def test_responder_cannot_create_responders(client, world, session):
    """Registering responders is for dispatchers: a responder key gets 403."""
    me = create(client, world.a.dispatcher, bodies.volunteer(world.a.community_id))
    response = client.post(
        "/v1/responders",
        json=bodies.volunteer(world.a.community_id),
        headers=headers(own_key(session, me["id"])),
    )
    assert response.status_code == 403


def test_grid_app_is_403(client, world):
    """Grid apps do not manage responders."""
    assert client.get("/v1/responders", headers=headers(world.a.grid_app)).status_code == 403


def test_dispatcher_cannot_register_in_other_community(client, world, session):
    """Naming a community the dispatcher does not see is 'unknown community' (422)."""
    before = table_counts(session)
    response = client.post(
        "/v1/responders",
        json=bodies.volunteer(world.b.community_id),
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["field"] == "community_ids.0" and "unknown community" in error["message"]
    assert table_counts(session) == before


def test_responder_key_is_issued_for_visible_responder(client, world):
    """A dispatcher issues a responder key for its own responder, not for B's."""
    mine = create(client, world.a.dispatcher, bodies.volunteer(world.a.community_id))
    theirs = create(client, world.b.dispatcher, bodies.volunteer(world.b.community_id))
    key = {"name": "手机", "role": "responder"}
    ok = client.post(
        "/v1/api-keys", json=key | {"responder_id": mine["id"]}, headers=headers(world.a.dispatcher)
    )
    assert ok.status_code == 201, ok.text
    refused = client.post(
        "/v1/api-keys",
        json=key | {"responder_id": theirs["id"]},
        headers=headers(world.a.dispatcher),
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "responder_id"
