"""A change counter per community for live matching's warm states (service.dispatch.warm).

Revision ID: 7c3e5a9b1d42
Revises: 68d233656f36
Create Date: 2026-11-22 18:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c3e5a9b1d42"
down_revision: str | None = "68d233656f36"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "warm_version",
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("community_id"),
    )


def downgrade() -> None:
    op.drop_table("warm_version")
