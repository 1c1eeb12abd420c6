"""API keys: shown once, stored hashed, scoped, revocable, expiring."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from service.auth.models import ApiKey
from service.auth.principal import Role
from tests.service.conftest import add_key, headers, selects_from


def test_missing_key_is_401(client, world):
    """No key, no data: 401 problem+json with a WWW-Authenticate challenge."""
    response = client.get("/v1/communities")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "ApiKey"


def test_wrong_key_is_401(client, world):
    """A key that looks right but is not stored is refused."""
    assert (
        client.get("/v1/communities", headers=headers("wsk_abcdef123456_nope")).status_code == 401
    )


def test_key_is_shown_once_and_stored_hashed(client, world, session):
    """The secret comes back at creation only; the database keeps a hash, and the key works."""
    response = client.post(
        "/v1/api-keys",
        json={"name": "grid phone", "role": "grid_app", "grid_ids": [world.a.grid_id]},
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 201, response.text
    secret = response.json()["key"]
    stored = session.scalar(select(ApiKey).where(ApiKey.id == response.json()["id"]))
    assert secret not in (stored.key_hash, stored.prefix)
    again = client.get(f"/v1/api-keys/{stored.id}", headers=headers(world.a.dispatcher)).json()
    assert "key" not in again
    assert client.get("/v1/grids", headers=headers(secret)).status_code == 200


def test_revoked_key_is_401(client, world):
    """After revocation the key no longer opens anything."""
    created = client.post(
        "/v1/api-keys",
        json={"name": "g", "role": "grid_app", "grid_ids": [world.a.grid_id]},
        headers=headers(world.a.dispatcher),
    ).json()
    revoked = client.post(
        f"/v1/api-keys/{created['id']}/revoke", headers=headers(world.a.dispatcher)
    )
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert client.get("/v1/grids", headers=headers(created["key"])).status_code == 401


def test_expired_key_is_401(client, world, session):
    """A key past its expiry is refused."""
    secret = add_key(
        session,
        Role.dispatcher,
        community_ids=[world.a.community_id],
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    session.commit()
    assert client.get("/v1/communities", headers=headers(secret)).status_code == 401


def test_dispatcher_cannot_mint_admin_keys(client, world):
    """A dispatcher may not issue a key stronger than a grid app or responder."""
    response = client.post(
        "/v1/api-keys", json={"name": "x", "role": "admin"}, headers=headers(world.a.dispatcher)
    )
    assert response.status_code == 403


def test_dispatcher_cannot_issue_keys_for_other_grids(client, world, session):
    """A grid app key for B's grid is refused to A's dispatcher, and nothing is written."""
    from tests.service.conftest import table_counts

    before = table_counts(session)
    response = client.post(
        "/v1/api-keys",
        json={"name": "x", "role": "grid_app", "grid_ids": [world.b.grid_id]},
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 422
    assert table_counts(session) == before


def test_grid_app_cannot_manage_keys(client, world):
    """Key management is for dispatchers and admins: a grid app gets 403."""
    assert client.get("/v1/api-keys", headers=headers(world.a.grid_app)).status_code == 403


# --- checked keys are trusted for key_cache_s -------------------------------------------


def _api_key_reads(client, key: str, path: str = "/v1/communities") -> tuple[int, int]:
    """(status, SELECTs on api_key) of one request."""
    with selects_from("api_key") as reads:
        status = client.get(path, headers=headers(key)).status_code
    return status, len(reads)


def _revoke_elsewhere(key_id: str) -> None:
    """Revoke as another process would: a plain UPDATE, nothing this process hears of."""
    from sqlalchemy import update

    from service.auth.models import ApiKey
    from service.db import get_engine

    with get_engine().begin() as connection:
        connection.execute(
            update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=datetime.now(UTC))
        )


def _grid_app_key(client, world) -> dict:
    return client.post(
        "/v1/api-keys",
        json={"name": "g", "role": "grid_app", "grid_ids": [world.a.grid_id]},
        headers=headers(world.a.dispatcher),
    ).json()


def test_a_checked_key_is_not_read_again_within_key_cache_s(client, world):
    """The second request of a key is answered without reading the key (nor its grids)."""
    key = _grid_app_key(client, world)["key"]
    assert _api_key_reads(client, key) == (200, 1)
    assert _api_key_reads(client, key) == (200, 0)


def test_a_key_revoked_here_is_refused_at_once_though_checked(client, world):
    """A revocation through the API empties the cache of checked keys."""
    created = _grid_app_key(client, world)
    assert client.get("/v1/communities", headers=headers(created["key"])).status_code == 200
    revoked = client.post(
        f"/v1/api-keys/{created['id']}/revoke", headers=headers(world.a.dispatcher)
    )
    assert revoked.status_code == 200
    assert client.get("/v1/communities", headers=headers(created["key"])).status_code == 401


def test_a_key_revoked_elsewhere_is_refused_once_key_cache_s_passed(client, world, monkeypatch):
    """Another process's revocation is seen when the checked key's time runs out."""
    from service.auth import principal
    from service.config import get_settings

    created = _grid_app_key(client, world)
    assert client.get("/v1/communities", headers=headers(created["key"])).status_code == 200
    _revoke_elsewhere(created["id"])
    assert _api_key_reads(client, created["key"]) == (200, 0)  # still trusted, as documented
    later = principal._clock() + get_settings().key_cache_s + 0.001
    monkeypatch.setattr(principal, "_clock", lambda: later)
    assert _api_key_reads(client, created["key"]) == (401, 1)


def test_with_key_cache_s_zero_every_request_reads_the_key(client, world, monkeypatch):
    """key_cache_s = 0 turns the cache off: a revocation anywhere applies at once."""
    from service.config import get_settings

    monkeypatch.setenv("WUSHE_KEY_CACHE_S", "0")
    get_settings.cache_clear()
    try:
        created = _grid_app_key(client, world)
        assert _api_key_reads(client, created["key"]) == (200, 1)
        _revoke_elsewhere(created["id"])
        assert _api_key_reads(client, created["key"]) == (401, 1)
    finally:
        monkeypatch.delenv("WUSHE_KEY_CACHE_S")
        get_settings.cache_clear()


def test_a_checked_key_past_its_expiry_is_refused(client, world, session, monkeypatch):
    """Expiry is checked on every request, cached or not."""
    from service.auth import principal

    secret = add_key(
        session,
        Role.dispatcher,
        community_ids=[world.a.community_id],
        expires_at=datetime.now(UTC) + timedelta(seconds=60),
    )
    session.commit()
    assert client.get("/v1/communities", headers=headers(secret)).status_code == 200
    monkeypatch.setattr(principal, "utcnow", lambda: datetime.now(UTC) + timedelta(seconds=61))
    assert _api_key_reads(client, secret) == (401, 0)


def test_a_responder_moved_out_of_a_community_loses_it_at_once(client, world, session):
    """A responder key's communities are its responder's: an edit through the API that
    removes one applies to the next request, though the key was checked a moment ago."""
    from tests.service.requests.factory import make_responder

    both = [world.a.community_id, world.b.community_id]
    responder = make_responder(client, world, both)
    key = add_key(session, Role.responder, responder_id=responder["id"], community_ids=[])
    session.commit()

    def seen() -> set[str]:
        response = client.get("/v1/communities", headers=headers(key))
        assert response.status_code == 200, response.text
        return {c["id"] for c in response.json()["items"]}

    assert seen() == set(both)
    moved = client.patch(
        f"/v1/responders/{responder['id']}",
        json={"community_ids": [world.a.community_id]},
        headers=headers(world.admin),
    )
    assert moved.status_code == 200, moved.text
    assert seen() == {world.a.community_id}
