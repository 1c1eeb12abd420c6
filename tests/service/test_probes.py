"""Liveness and readiness."""

from sqlalchemy import text

from service.db import get_engine


def test_healthz_is_ok(client):
    """The process answers without touching the database."""
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_the_head_revision(client):
    """A migrated database is ready."""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_readyz_is_503_when_schema_is_behind(client):
    """A database not at the migration head is not ready."""
    with get_engine().begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
