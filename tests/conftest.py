"""Test databases: SQLite by default, PostgreSQL when WUSHE_TEST_DATABASE=postgresql.

Each test gets a freshly migrated database: SQLite copies a migrated template file,
PostgreSQL clones a migrated template database (CREATE DATABASE ... TEMPLATE), so tests
never see each other's rows and the schema under test is the migrated one.
"""

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

BACKEND = os.environ.get("WUSHE_TEST_DATABASE", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "WUSHE_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
os.environ.setdefault("WUSHE_ENVIRONMENT", "test")
# Tests drive the background loop by calling tick() themselves.
os.environ.setdefault("WUSHE_BACKGROUND", "false")
# Hundreds of apps start in one test process: freezing each one's objects would keep them all.
os.environ.setdefault("WUSHE_GC_FREEZE", "false")


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _pg_admin(sql: str) -> None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(sql))
    engine.dispose()


def _migrate(url: str) -> None:
    from service.migrate import upgrade

    if os.environ.get("WUSHE_TEST_SCHEMA") == "models":
        # Development shortcut while a migration is being written; CI always migrates.
        from service.db import make_engine
        from service.models import metadata

        engine = make_engine(url)
        metadata.create_all(engine)
        engine.dispose()
        return
    upgrade(url)


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database that each test's database is cloned from."""
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("db") / "template.db"
        _migrate(f"sqlite:///{path}")
        yield str(path)
        return
    name = f"wushe_tpl_{uuid.uuid4().hex[:10]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    _migrate(_pg_url(name))
    yield name
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(template_db: str, tmp_path: Path) -> Iterator[str]:
    """A fresh migrated database for one test, wired into the app's settings."""
    from service import db

    if BACKEND == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(template_db, path)
        url = f"sqlite:///{path}"
        name = None
    else:
        name = f"wushe_t_{uuid.uuid4().hex[:12]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_db}"')
        url = _pg_url(name)
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    db.reset()
    yield url
    db.reset()
    if previous is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = previous
    if name:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
