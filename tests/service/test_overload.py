"""Overload: when no database connection comes free the answer is a 503 problem with
Retry-After, nothing is written, and /metrics still answers."""

import time

import anyio
import httpx
import pytest
from sqlalchemy import func, select

from service import db
from service.requests.models import ServiceRequest
from tests.service.conftest import headers
from tests.service.events.wiring import started
from tests.service.requests.factory import make_category, request_body

TINY_POOL = {
    "WUSHE_DB_POOL_SIZE": "1",
    "WUSHE_DB_MAX_OVERFLOW": "0",
    "WUSHE_DB_POOL_TIMEOUT_S": "0.2",
}


@pytest.fixture
def tiny_pool(monkeypatch, world):
    """The app on a one-connection pool; the caller holds that connection to drain it."""
    db.get_engine().dispose()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()
    with started(monkeypatch, **TINY_POOL) as client:
        yield client
    db.reset()


def test_pool_exhaustion_is_a_503_with_retry_after(session, world, tiny_pool):
    make_category(tiny_pool, world)
    body = request_body(world.a)
    with db.get_engine().connect():  # the only connection
        response = tiny_pool.post("/v1/requests", json=body, headers=headers(world.a.dispatcher))
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert "capacity" in response.json()["detail"]
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(ServiceRequest)) == 0
    # Once the connection is back the same request goes through.
    again = tiny_pool.post("/v1/requests", json=body, headers=headers(world.a.dispatcher))
    assert again.status_code == 201, again.text


def test_metrics_answer_while_the_pool_is_drained(world, tiny_pool):
    """The scrape does not wait for a connection: it reports the last gauges it could read."""
    assert tiny_pool.get("/metrics").status_code == 200
    with db.get_engine().connect():
        began = time.monotonic()
        response = tiny_pool.get("/metrics")
        waited = time.monotonic() - began
    assert response.status_code == 200
    assert "wushe_offers_pending" in response.text
    assert waited < 10  # bounded by the gauge wait, not by the 30 s default pool timeout


def test_a_burst_beyond_the_threads_and_connections_is_served_in_turn(monkeypatch, world):
    """Twice as many requests at once as there are worker threads, on one connection: each
    admitted request finds a thread for its handler, so all are served one after another.
    (Before admission, the request holding the connection waited for a thread while every
    thread waited for that connection: all of them stalled until the pool timeout.)"""
    db.reset()
    with started(
        monkeypatch,
        WUSHE_DB_POOL_SIZE="1",
        WUSHE_DB_MAX_OVERFLOW="0",
        WUSHE_DB_POOL_TIMEOUT_S="20",  # ample: the served wait only for each other
    ) as client:
        make_category(client, world)
        burst = 2 * db.request_slots()

        async def send_all() -> list[int]:
            statuses: list[int] = []
            transport = httpx.ASGITransport(app=client.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://wushe") as c:

                async def one(n: int) -> None:
                    body = request_body(world.a, external_id=f"burst-{n}")
                    response = await c.post(
                        "/v1/requests", json=body, headers=headers(world.a.dispatcher)
                    )
                    statuses.append(response.status_code)

                async with anyio.create_task_group() as group:
                    for n in range(burst):
                        group.start_soon(one, n)
            return statuses

        statuses = client.portal.call(send_all)
        exported = client.get("/metrics").text
    db.reset()
    assert statuses == [201] * burst
    # Every slot taken was given back, and nobody is left waiting at the door.
    assert "wushe_http_requests_in_flight 0.0" in exported
    assert "wushe_http_requests_waiting 0.0" in exported
