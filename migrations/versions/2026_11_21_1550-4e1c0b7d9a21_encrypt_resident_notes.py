"""Residents' notes encrypted at rest (WUSHE_DATA_KEYS); plain notes written before are
encrypted in place, and decrypted again on downgrade.

Revision ID: 4e1c0b7d9a21
Revises: 59b762f9ed11
Create Date: 2026-11-21 15:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4e1c0b7d9a21"
down_revision: str | None = "59b762f9ed11"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

resident = sa.table("resident", sa.column("id", sa.String), sa.column("notes", sa.Text))


def _rewrite(change) -> None:  # type: ignore[no-untyped-def]
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(resident.c.id, resident.c.notes).where(resident.c.notes.is_not(None))
    ).all()
    for rid, notes in rows:
        new = change(notes)
        if new != notes:
            connection.execute(resident.update().where(resident.c.id == rid).values(notes=new))


def upgrade() -> None:
    from service.crypto import MARK, encrypt

    _rewrite(lambda notes: notes if notes.startswith(MARK) else encrypt(notes))


def downgrade() -> None:
    from service.crypto import MARK, decrypt

    _rewrite(lambda notes: decrypt(notes) if notes.startswith(MARK) else notes)
