"""Pickup points, zone gates, and the kind of a dispatch run (assign or routes).

Revision ID: 2f72f1e90457
Revises: 39e90bdb0194
Create Date: 2026-11-21 17:53:37.192369
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2f72f1e90457"
down_revision: str | None = "39e90bdb0194"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pickup_point",
        sa.Column("community_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("opens_at", sa.String(length=5), nullable=False),
        sa.Column("closes_at", sa.String(length=5), nullable=False),
        sa.Column("stock", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pickup_point", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pickup_point_active"), ["active"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_pickup_point_community_id"), ["community_id"], unique=False
        )

    with op.batch_alter_table("dispatch_run", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="assign", nullable=False)
        )

    with op.batch_alter_table("zone", schema=None) as batch_op:
        batch_op.add_column(sa.Column("gate_lon", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("gate_lat", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("zone", schema=None) as batch_op:
        batch_op.drop_column("gate_lat")
        batch_op.drop_column("gate_lon")

    with op.batch_alter_table("dispatch_run", schema=None) as batch_op:
        batch_op.drop_column("kind")

    with op.batch_alter_table("pickup_point", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pickup_point_community_id"))
        batch_op.drop_index(batch_op.f("ix_pickup_point_active"))

    op.drop_table("pickup_point")
