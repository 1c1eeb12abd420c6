"""API keys: shown once, stored hashed, scoped, revocable, expiring."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from service.auth.models import ApiKey
from service.auth.principal import Role
from tests.service.conftest import add_key, headers


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
