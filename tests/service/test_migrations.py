"""Migrations build the schema the models describe, on SQLite and PostgreSQL, both ways."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from service.db import make_engine
from service.migrate import downgrade, head_revision, include_name, upgrade
from service.models import metadata


def _diff(url: str) -> list:
    engine = make_engine(url)
    with engine.connect() as connection:
        opts = {"compare_type": True, "include_name": include_name}
        context = MigrationContext.configure(connection, opts=opts)
        diff = compare_metadata(context, metadata)
    engine.dispose()
    return diff


def test_models_and_migrations_do_not_drift(database_url):
    """Alembic's autogenerate comparison finds no difference after upgrade head."""
    assert _diff(database_url) == []


def test_upgrade_downgrade_upgrade_round_trips(database_url):
    """The schema can be taken down to nothing and rebuilt at the head."""
    downgrade(database_url, "base")
    engine = make_engine(database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}, "downgrade left tables"
    engine.dispose()
    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert version == head_revision()
    assert _diff(database_url) == []
