"""Residents' notes are encrypted at rest; keys rotate without losing a note."""

from cryptography.fernet import Fernet
from sqlalchemy import text

from service.cli import main
from service.config import get_settings
from service.crypto import _fernet
from tests.service.conftest import headers

NOTE = "糖尿病，每日注射胰岛素"


def _resident(client, world) -> str:
    response = client.post(
        "/v1/residents",
        json={
            "community_id": world.a.community_id,
            "name": "张桂英",
            "location": {"type": "Point", "coordinates": [121.03, 30.71]},
            "notes": NOTE,
        },
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _stored(session, resident_id: str) -> str:
    session.rollback()
    return session.execute(
        text("SELECT notes FROM resident WHERE id = :id"), {"id": resident_id}
    ).scalar_one()


def _use_keys(monkeypatch, keys: str) -> None:
    monkeypatch.setenv("WUSHE_DATA_KEYS", keys)
    get_settings.cache_clear()
    _fernet.cache_clear()


def test_a_note_is_stored_encrypted_and_read_back_plain(client, session, world):
    resident_id = _resident(client, world)
    stored = _stored(session, resident_id)
    assert stored.startswith("f1:") and "胰岛素" not in stored
    got = client.get(
        f"/v1/residents/{resident_id}?reveal=true", headers=headers(world.a.dispatcher)
    )
    assert got.json()["notes"] == NOTE


def test_rotation_re_encrypts_under_the_new_key(client, session, world, monkeypatch, capsys):
    old = get_settings().data_keys
    resident_id = _resident(client, world)
    before = _stored(session, resident_id)
    new = Fernet.generate_key().decode()
    try:
        _use_keys(monkeypatch, f"{new},{old}")
        assert main(["rotate-data-key"]) == 0
        assert "re-encrypted 1 notes" in capsys.readouterr().out
        after = _stored(session, resident_id)
        assert after != before
        # the old key alone can no longer read it; the new key alone can
        assert Fernet(new.encode()).decrypt(after.removeprefix("f1:").encode()).decode() == NOTE
        _use_keys(monkeypatch, new)
        got = client.get(
            f"/v1/residents/{resident_id}?reveal=true", headers=headers(world.a.dispatcher)
        )
        assert got.json()["notes"] == NOTE
        # a key that never wrote the note cannot rotate it: a plain message, exit 2
        _use_keys(monkeypatch, Fernet.generate_key().decode())
        assert main(["rotate-data-key"]) == 2
        assert "cannot be decrypted" in capsys.readouterr().err
    finally:
        monkeypatch.delenv("WUSHE_DATA_KEYS")
        get_settings.cache_clear()
        _fernet.cache_clear()


def test_a_malformed_key_is_refused_at_start(monkeypatch, capsys, database_url):
    _use_keys(monkeypatch, "not-a-key")
    try:
        assert main(["migrate"]) == 2
        assert "WUSHE_DATA_KEYS" in capsys.readouterr().err
    finally:
        monkeypatch.delenv("WUSHE_DATA_KEYS")
        get_settings.cache_clear()
        _fernet.cache_clear()
