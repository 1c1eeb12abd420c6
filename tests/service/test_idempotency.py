"""Safe retries: a POST with an Idempotency-Key takes effect once per caller and key."""

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from service.db import get_sessionmaker
from service.funds.models import CharityFund
from service.idempotency import repository
from service.idempotency import service as idempotency
from service.idempotency.models import IdempotencyRecord
from service.main import create_app
from service.types import new_id, utcnow
from tests.conftest import BACKEND
from tests.service.conftest import headers, table_counts
from tests.service.requests.factory import HOME, make_category, request_body

KEY = "Idempotency-Key"


def _resident(side, name="王阿婆"):
    return {
        "community_id": side.community_id,
        "grid_id": side.grid_id,
        "name": name,
        "location": HOME,
    }


def _with(key: str, idem: str) -> dict[str, str]:
    return {**headers(key), KEY: idem}


def _records(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(IdempotencyRecord)) or 0


def test_same_key_and_body_replay_the_first_answer_without_a_second_effect(client, session, world):
    """The retry gets the stored status, body and headers; no row anywhere is added."""
    first = client.post(
        "/v1/residents", json=_resident(world.a), headers=_with(world.a.dispatcher, "k1")
    )
    assert first.status_code == 201, first.text
    before = table_counts(session)
    # Same body with other spacing and key order: the same request.
    body = dict(reversed(list(_resident(world.a).items())))
    again = client.post("/v1/residents", json=body, headers=_with(world.a.dispatcher, "k1"))
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert table_counts(session) == before


def test_live_matching_post_is_replayed_not_matched_again(client, session, world):
    """POST /v1/requests with a key: one request, one audit trail, the same answer twice."""
    make_category(client, world)
    body = request_body(world.a)
    first = client.post("/v1/requests", json=body, headers=_with(world.a.dispatcher, "req-1"))
    assert first.status_code == 201, first.text
    before = table_counts(session)
    again = client.post("/v1/requests", json=body, headers=_with(world.a.dispatcher, "req-1"))
    assert (again.status_code, again.json()) == (201, first.json())
    assert table_counts(session) == before
    fresh = client.post("/v1/requests", json=body, headers=_with(world.a.dispatcher, "req-2"))
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]


def test_same_key_with_another_body_is_422_and_writes_nothing(client, session, world):
    """A key names one request: reusing it for another is refused, naming the header."""
    first = client.post(
        "/v1/residents", json=_resident(world.a), headers=_with(world.a.dispatcher, "k2")
    )
    assert first.status_code == 201
    before = table_counts(session)
    other = client.post(
        "/v1/residents", json=_resident(world.a, "李大爷"), headers=_with(world.a.dispatcher, "k2")
    )
    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["errors"][0]["field"] == KEY
    assert table_counts(session)["resident"] == before["resident"]


def test_the_fingerprint_is_the_method_path_query_and_json_value():
    """Spacing and key order do not make another request; path, query or a value does."""
    one = idempotency.fingerprint("POST", "/v1/a", "x=1&y=2", b'{"a": 1, "b": [1, 2]}')
    assert one == idempotency.fingerprint("POST", "/v1/a", "y=2&x=1", b'{"b":[1,2],"a":1}')
    assert one != idempotency.fingerprint("POST", "/v1/b", "x=1&y=2", b'{"a": 1, "b": [1, 2]}')
    assert one != idempotency.fingerprint("POST", "/v1/a", "x=1", b'{"a": 1, "b": [1, 2]}')
    assert one != idempotency.fingerprint("POST", "/v1/a", "x=1&y=2", b'{"a": 1, "b": [2, 1]}')
    assert idempotency.fingerprint("POST", "/v1/a", "", b"a,b\n") != idempotency.fingerprint(
        "POST", "/v1/a", "", b"a,c\n"
    )


def test_keys_are_scoped_to_the_calling_key(client, session, world):
    """The same Idempotency-Key from two API keys names two requests."""
    a = client.post(
        "/v1/residents", json=_resident(world.a), headers=_with(world.a.dispatcher, "same")
    )
    b = client.post("/v1/residents", json=_resident(world.a), headers=_with(world.admin, "same"))
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    assert "idempotent-replayed" not in b.headers


def test_without_the_header_every_post_acts(client, session, world):
    """Idempotency is opt-in per request: no header, no deduplication and no record."""
    for _ in range(2):
        assert (
            client.post(
                "/v1/residents", json=_resident(world.a), headers=headers(world.a.dispatcher)
            ).status_code
            == 201
        )
    assert table_counts(session)["resident"] == 2
    assert _records(session) == 0


def test_a_refused_request_leaves_no_record_and_is_judged_again(client, session, world):
    """An error answer rolls back with its (absent) effect: the retry runs afresh."""
    body = _resident(world.a) | {"grid_id": world.b.grid_id}  # a grid of another community
    first = client.post("/v1/residents", json=body, headers=_with(world.a.dispatcher, "bad"))
    assert first.status_code >= 400
    again = client.post("/v1/residents", json=body, headers=_with(world.a.dispatcher, "bad"))
    assert again.status_code == first.status_code
    assert "idempotent-replayed" not in again.headers
    assert _records(session) == 0
    # Nothing was stored under the key, so it may still carry a good request.
    good = client.post(
        "/v1/residents", json=_resident(world.a), headers=_with(world.a.dispatcher, "bad")
    )
    assert good.status_code == 201


def test_the_answer_is_stored_with_the_effect(client, session, world):
    """The committed record holds the status and body that were sent."""
    response = client.post(
        "/v1/residents", json=_resident(world.a), headers=_with(world.a.dispatcher, "k3")
    )
    session.expire_all()
    record = session.scalar(select(IdempotencyRecord))
    assert record is not None
    assert (record.status_code, record.body) == (201, response.content)
    assert record.expires_at - record.created_at == timedelta(hours=24)


@pytest.mark.parametrize("bad", ["", "x" * 256, "键"])
def test_a_malformed_key_is_422(client, session, world, bad):
    """Keys are 1 to 255 printable ASCII characters."""
    before = table_counts(session)
    response = client.post(
        "/v1/residents",
        json=_resident(world.a),
        headers={**headers(world.a.dispatcher), KEY: bad.encode()},
    )
    assert response.status_code == 422, response.text
    assert table_counts(session) == before


def test_an_expired_key_may_be_used_again_and_is_purged(client, session, world):
    """After 24 hours the key is forgotten: a new request under it acts."""
    first = client.post(
        "/v1/residents", json=_resident(world.a), headers=_with(world.a.dispatcher, "old")
    )
    session.execute(update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    again = client.post(
        "/v1/residents", json=_resident(world.a, "李大爷"), headers=_with(world.a.dispatcher, "old")
    )
    assert again.status_code == 201 and again.json()["id"] != first.json()["id"]
    assert _records(session) == 1
    session.execute(update(IdempotencyRecord).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert repository.purge_expired(session, utcnow(), 10) == 1
    session.commit()
    assert _records(session) == 0


def _fund(client, world) -> str:
    body = {"name": "慈善基金", "community_id": world.a.community_id}
    response = client.post("/v1/funds", json=body, headers=headers(world.admin))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_a_retry_while_the_first_is_in_flight_is_409(client, session, world):
    """While the first attempt waits on a lock the test holds, its retry is told 409 with
    Retry-After; once it finishes, the retry gets its answer and the deposit happened once."""
    fund_id = _fund(client, world)
    url = f"/v1/funds/{fund_id}/entries"
    deposit = {"kind": "deposit", "amount_fen": 500}
    sent = _with(world.admin, "dep-1")
    # Holds the fund's row (PostgreSQL) or the single writer (SQLite) so the first attempt
    # cannot finish.
    session.execute(update(CharityFund).where(CharityFund.id == fund_id).values(name="慈善基金"))
    first: dict[str, object] = {}
    worker = threading.Thread(
        target=lambda: first.update(r=client.post(url, json=deposit, headers=sent))
    )
    worker.start()
    deadline = time.monotonic() + 10
    while not idempotency._in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        retry = client.post(url, json=deposit, headers=sent)
    finally:
        session.rollback()
        worker.join(30)
    assert retry.status_code == 409, retry.text
    assert retry.headers["retry-after"] == "1"
    assert retry.headers["content-type"] == "application/problem+json"
    done = first["r"]
    assert done.status_code == 201, done.text
    later = client.post(url, json=deposit, headers=sent)
    assert (later.status_code, later.json()) == (201, done.json())
    entries = client.get(url, headers=headers(world.admin)).json()["items"]
    assert [e["kind"] for e in entries] == ["deposit"]


@pytest.mark.skipif(BACKEND != "postgresql", reason="row-level waits: PostgreSQL only")
def test_across_processes_the_unique_insert_answers_in_flight_not_a_long_wait(database_url):
    """Two transactions reserving one key (as two server processes would): the second gives
    up within a fraction of a second instead of waiting for the first, then sees its answer."""
    maker = get_sessionmaker()
    now = utcnow()
    row = {
        "api_key_id": "key-1",
        "key": "k",
        "method": "POST",
        "path": "/v1/x",
        "fingerprint": "f",
        "created_at": now,
        "expires_at": now + timedelta(hours=24),
    }
    with maker() as first, maker() as second:
        assert repository.reserve(first, {**row, "id": new_id()}, now, 250) is None
        started = time.monotonic()
        outcome = repository.reserve(second, {**row, "id": new_id()}, now, 250)
        waited = time.monotonic() - started
        assert isinstance(outcome, repository.InFlight)
        assert waited < 2
        # The second's transaction is still usable, with its own lock timeout restored.
        assert second.scalar(text("SELECT current_setting('lock_timeout')")) == "0"
        record_id = first.scalar(select(IdempotencyRecord.id))
        repository.store_response(first, record_id, 201, [], b"{}")
        first.commit()
        assert isinstance(
            repository.reserve(second, {**row, "id": new_id()}, now, 250), repository.Taken
        )
        found = repository.find(second, "key-1", "k", now)
        assert found is not None and found.status_code == 201


def test_every_post_documents_the_header():
    """Each POST operation in the spec takes Idempotency-Key and lists 409 (in flight)."""
    spec = create_app().openapi()
    posts = [op for path in spec["paths"].values() for m, op in path.items() if m == "post"]
    assert posts
    for op in posts:
        names = [p["name"] for p in op.get("parameters", []) if p["in"] == "header"]
        assert KEY in names, op["operationId"]
        assert "409" in op["responses"], op["operationId"]


def test_a_replayed_dispatch_run_starts_no_second_run(client, session, world):
    """POST /v1/dispatch-runs (202) under one key: one run, the same run id twice."""
    from service.runs.models import DispatchRun

    body = {"scope": {"type": "community", "id": world.a.community_id}, "time_limit_s": 1}
    sent = _with(world.a.dispatcher, "run-1")
    first = client.post("/v1/dispatch-runs", json=body, headers=sent)
    assert first.status_code == 202, first.text
    again = client.post("/v1/dispatch-runs", json=body, headers=sent)
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(DispatchRun)) == 1
