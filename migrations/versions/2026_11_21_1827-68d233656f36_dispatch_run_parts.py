"""Parts of a dispatch run split for city scale (service.runs.parts): one row per part.

Revision ID: 68d233656f36
Revises: 2f72f1e90457
Create Date: 2026-11-21 18:27:31.306844
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "68d233656f36"
down_revision: str | None = "2f72f1e90457"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dispatch_run_part",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("community_ids", sa.JSON(), nullable=False),
        sa.Column("request_ids", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("plan", sa.JSON(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["dispatch_run.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("run_id", "index", name="uq_dispatch_run_part_index"),
    )
    with op.batch_alter_table("dispatch_run_part", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dispatch_run_part_run_id"), ["run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dispatch_run_part_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dispatch_run_part", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dispatch_run_part_state"))
        batch_op.drop_index(batch_op.f("ix_dispatch_run_part_run_id"))

    op.drop_table("dispatch_run_part")
