"""Under 50 concurrent clients the database still enforces every cap (PostgreSQL only)."""

import os
import socket
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from service.assignments.models import LIVE_STATES, Assignment
from service.requests.models import ServiceRequest
from service.responders.models import Responder
from tests.conftest import BACKEND
from tests.service.conftest import headers
from tests.service.dispatch.helpers import auto_dispatch, setup_category, window
from tests.service.requests.factory import POINT, make_responder

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="row locks need PostgreSQL")

CLIENTS = int(os.environ.get("DISPATCH_TEST_CLIENTS", "50"))
REQUESTS_PER_CLIENT = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(database_url):
    """The app served by uvicorn on loopback, in this process (so it uses the test database)."""
    from service.main import create_app

    port = _free_port()
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


def _capacity(client, world) -> int:
    """Volunteers and an organization whose caps together take far fewer than the demand."""
    total = 0
    for n in range(4):
        make_responder(
            client,
            world,
            [world.a.community_id],
            max_tasks_per_day=3,
            max_minutes_per_day=100,
            load_capacity=5,
            max_tasks_per_week=2 + n,
        )
        total += 2  # 100 minutes hold two 45-minute visits at the same spot
    make_responder(
        client,
        world,
        [world.a.community_id],
        kind="organization",
        slots_per_day=3,
        load_capacity=100,
    )
    return total + 3


def test_fifty_clients_never_push_a_responder_past_a_cap(client, session, world, server):
    """Every answer is 201, no responder exceeds any cap, no request has two live assignments."""
    auto_dispatch(session, world.a)
    setup_category(client, world)
    capacity = _capacity(client, world)
    body = {
        "community_id": world.a.community_id,
        "category_code": "errand",
        "location": POINT,
        "quantity": 2,
        **window(),
    }

    def one_client(_: int) -> list[int]:
        with httpx.Client(base_url=server, headers=headers(world.a.dispatcher), timeout=60) as c:
            return [
                c.post("/v1/requests", json=body).status_code for _ in range(REQUESTS_PER_CLIENT)
            ]

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = [s for batch in pool.map(one_client, range(CLIENTS)) for s in batch]
    assert Counter(statuses) == {201: CLIENTS * REQUESTS_PER_CLIENT}

    session.expire_all()
    live = list(session.scalars(select(Assignment).where(Assignment.state.in_(LIVE_STATES))))
    per_request = Counter(a.request_id for a in live)
    assert per_request and max(per_request.values()) == 1
    requests = {r.id: r for r in session.scalars(select(ServiceRequest))}
    by_responder = defaultdict(list)
    for a in live:
        by_responder[a.responder_id].append(a)
    for responder in session.scalars(select(Responder)):
        mine = by_responder[responder.id]
        minutes = sum(
            requests[a.request_id].duration_min + 2 * (a.travel_minutes or 0) for a in mine
        )
        boxes = sum(requests[a.request_id].quantity for a in mine)
        for cap, used in (
            (responder.max_tasks_per_day, len(mine)),
            (responder.slots_per_day, len(mine)),
            (responder.max_tasks_per_week, len(mine)),
            (responder.max_minutes_per_day, minutes),
            (responder.load_capacity, boxes),
        ):
            assert cap is None or used <= cap, (responder.kind, cap, used)
    offered = {r.id for r in requests.values() if r.state == "offered"}
    assert offered == set(per_request)
    # Capacity is far below demand and the caps are the only limit: all of it is used.
    assert len(live) == capacity < CLIENTS * REQUESTS_PER_CLIENT
