"""Alembic environment: one schema for SQLite and PostgreSQL, from service.models."""

from alembic import context

from service.config import get_settings
from service.db import make_engine
from service.migrate import include_name
from service.models import metadata

config = context.config


def _url() -> str:
    # A URL set by code (wushe migrate, the tests) wins; else the same setting the app reads.
    return config.get_main_option("sqlalchemy.url", None) or get_settings().database_url


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = make_engine(_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
