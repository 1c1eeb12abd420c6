"""Encryption at rest for residents' notes (health details): Fernet, keys from the environment.

``WUSHE_DATA_KEYS`` holds one or more Fernet keys, comma-separated. The first encrypts; every
one decrypts, so a key can be rotated without downtime: put the new key first, keep the old
one after it, run ``wushe rotate-data-key`` (re-encrypts every note with the first key), then
drop the old key. The development default is refused in production.
"""

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from service.config import get_settings

MARK = "f1:"  # stored values are "f1:<Fernet token>"


@lru_cache
def _fernet(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])


def fernet() -> MultiFernet:
    return _fernet(get_settings().data_keys)


def encrypt(text: str) -> str:
    return MARK + fernet().encrypt(text.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(MARK):
        raise ValueError("a stored note is not encrypted (run the migrations)")
    try:
        return fernet().decrypt(stored.removeprefix(MARK).encode()).decode()
    except InvalidToken:
        raise ValueError(
            "a stored note cannot be decrypted with WUSHE_DATA_KEYS (is the old key missing?)"
        ) from None


def reencrypt(stored: str) -> str:
    """The same note under the first key (rotation)."""
    try:
        return MARK + fernet().rotate(stored.removeprefix(MARK).encode()).decode()
    except InvalidToken:
        raise ValueError(
            "a stored note cannot be decrypted with WUSHE_DATA_KEYS (is the old key missing?)"
        ) from None


class EncryptedText(TypeDecorator[str]):
    """Text encrypted on the way in and decrypted on the way out; queries cannot look inside."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else decrypt(value)


def rotate_notes(connection: Any) -> int:
    """Re-encrypt every resident's note under the first key; returns how many were rewritten.
    Works on the stored tokens directly (no plaintext leaves this function)."""
    from sqlalchemy import String, column, select, table

    resident = table("resident", column("id", String), column("notes", Text))
    rows = connection.execute(
        select(resident.c.id, resident.c.notes).where(resident.c.notes.is_not(None))
    ).all()
    for rid, stored in rows:
        connection.execute(
            resident.update().where(resident.c.id == rid).values(notes=reencrypt(stored))
        )
    return len(rows)
