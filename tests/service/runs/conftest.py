"""The app with a way to let runs finish: the local thread pool drained on SQLite, a
procrastinate worker pass on PostgreSQL."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect

import service.runs.models  # noqa: F401  (the tables exist in the models-built schema)
from service.runs import jobs


def _with_procrastinate_schema(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as connection:
        if not inspect(connection).has_table("procrastinate_jobs"):
            jobs.apply_schema(connection)
    engine.dispose()


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    from service.main import create_app

    if database_url.startswith("postgresql"):
        _with_procrastinate_schema(database_url)
        jobs.get_app.cache_clear()
    app = create_app()
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    jobs.wait_local()
    jobs.get_app.cache_clear()
