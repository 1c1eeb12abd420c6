"""append-only ledgers and the seeded service menu

The audit trail and the fund ledger are evidence: the database itself refuses to rewrite or
delete them, so no code path can quietly edit history or a fund's balance. The service menu
(service_category) is seeded so every deployment can take requests from its first minute; the
rows are written out here, not imported, so this migration never changes with the code.

Revision ID: 7d1f0a2c9e41
Revises: bc02439c4c08
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from service.types import new_id, utcnow

APPEND_ONLY = ("audit_entry", "fund_entry")

CATEGORIES = json.loads(
    r"""
[
    {
        "code": "medicine_delivery",
        "name_zh": "配药送药",
        "name_en": "Medicine purchase and delivery",
        "default_duration_min": 45,
        "required_qualifications": [],
        "min_licence": "none",
        "default_team": [],
        "needs_fund": false,
        "active": true
    },
    {
        "code": "elder_care_visit",
        "name_zh": "独居老人探访",
        "name_en": "Visit to an elder living alone",
        "default_duration_min": 60,
        "required_qualifications": [],
        "min_licence": "none",
        "default_team": [],
        "needs_fund": false,
        "active": true
    },
    {
        "code": "child_care",
        "name_zh": "儿童看护",
        "name_en": "Child care",
        "default_duration_min": 120,
        "required_qualifications": [],
        "min_licence": "none",
        "default_team": [],
        "needs_fund": false,
        "active": true
    },
    {
        "code": "tutoring",
        "name_zh": "课业辅导",
        "name_en": "Homework tutoring",
        "default_duration_min": 90,
        "required_qualifications": [],
        "min_licence": "none",
        "default_team": [],
        "needs_fund": false,
        "active": true
    },
    {
        "code": "disability_support",
        "name_zh": "助残服务",
        "name_en": "Disability support",
        "default_duration_min": 90,
        "required_qualifications": [],
        "min_licence": "none",
        "default_team": [],
        "needs_fund": false,
        "active": true
    },
    {
        "code": "counselling",
        "name_zh": "心理疏导",
        "name_en": "Psychological counselling",
        "default_duration_min": 60,
        "required_qualifications": [
            "counselling"
        ],
        "min_licence": "assistant",
        "default_team": [],
        "needs_fund": false,
        "active": true
    },
    {
        "code": "dispute_mediation",
        "name_zh": "矛盾纠纷调解",
        "name_en": "Dispute mediation",
        "default_duration_min": 120,
        "required_qualifications": [],
        "min_licence": "none",
        "default_team": [
            {
                "role": "community_staff",
                "count": 1
            },
            {
                "role": "social_worker",
                "count": 2
            },
            {
                "role": "volunteer",
                "count": 2
            }
        ],
        "needs_fund": false,
        "active": true
    },
    {
        "code": "meal_delivery",
        "name_zh": "助餐送餐",
        "name_en": "Meal delivery",
        "default_duration_min": 30,
        "required_qualifications": [],
        "min_licence": "none",
        "default_team": [],
        "needs_fund": false,
        "active": true
    },
    {
        "code": "hospital_escort",
        "name_zh": "就医陪护",
        "name_en": "Escort to hospital",
        "default_duration_min": 180,
        "required_qualifications": [],
        "min_licence": "none",
        "default_team": [],
        "needs_fund": false,
        "active": true
    },
    {
        "code": "micro_wish",
        "name_zh": "微心愿",
        "name_en": "Micro-wish",
        "default_duration_min": 60,
        "required_qualifications": [],
        "min_licence": "none",
        "default_team": [],
        "needs_fund": true,
        "active": true
    },
    {
        "code": "hardship_support",
        "name_zh": "困难家庭帮扶",
        "name_en": "Support for a family in hardship",
        "default_duration_min": 90,
        "required_qualifications": [],
        "min_licence": "none",
        "default_team": [],
        "needs_fund": false,
        "active": true
    }
]
"""
)

revision: str = "7d1f0a2c9e41"
down_revision: str | None = "bc02439c4c08"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _seed_categories() -> None:
    table = sa.table(
        "service_category",
        sa.column("id", sa.String),
        sa.column("code", sa.String),
        sa.column("name_zh", sa.String),
        sa.column("name_en", sa.String),
        sa.column("default_duration_min", sa.Integer),
        sa.column("required_qualifications", sa.JSON),
        sa.column("min_licence", sa.String),
        sa.column("default_team", sa.JSON),
        sa.column("needs_fund", sa.Boolean),
        sa.column("active", sa.Boolean),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    now = utcnow()
    op.bulk_insert(
        table, [{**row, "id": new_id(), "created_at": now, "updated_at": now} for row in CATEGORIES]
    )


def upgrade() -> None:
    _seed_categories()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
            )
        return
    for table in APPEND_ONLY:
        for verb in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION refuse_change()")
    else:
        for table in APPEND_ONLY:
            for verb in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{verb}")
    op.execute("DELETE FROM service_category")
