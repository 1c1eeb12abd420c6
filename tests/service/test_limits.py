"""Limits: body size, page size, import size, run size and time, and a rate per key. Each
is refused with a problem document (413, 422 or 429) and writes nothing."""

import pytest

from service.limits import RateLimit
from tests.service.conftest import headers, table_counts
from tests.service.events.wiring import started
from tests.service.requests.factory import HOME

PROBLEM = "application/problem+json"


def _resident(side, name="王阿婆"):
    return {
        "community_id": side.community_id,
        "grid_id": side.grid_id,
        "name": name,
        "location": HOME,
    }


@pytest.fixture
def small_bodies(monkeypatch, world):
    with started(monkeypatch, WUSHE_BODY_MAX_BYTES="300") as client:
        yield client


def test_a_declared_body_over_the_limit_is_413_unread(small_bodies, session, world):
    """A Content-Length over WUSHE_BODY_MAX_BYTES is refused before the body is read."""
    before = table_counts(session)
    body = _resident(world.a) | {"notes": "x" * 400}
    response = small_bodies.post("/v1/residents", json=body, headers=headers(world.a.dispatcher))
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == PROBLEM
    assert "300 bytes" in response.json()["detail"]
    assert table_counts(session) == before


def test_a_chunked_body_over_the_limit_is_413(small_bodies, session, world):
    """A body without a length is cut off once the bytes read pass the limit."""
    before = table_counts(session)
    chunks = iter([b'{"community_id": "' + b"x" * 200, b"y" * 200 + b'"}'])
    response = small_bodies.post(
        "/v1/residents",
        content=chunks,
        headers={**headers(world.a.dispatcher), "Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == PROBLEM
    assert table_counts(session) == before


def test_a_body_within_the_limit_passes_unchanged(small_bodies, session, world):
    """The buffered body reaches the handler whole, chunked or not."""
    response = small_bodies.post(
        "/v1/residents", json=_resident(world.a), headers=headers(world.a.dispatcher)
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "王阿婆"


def test_a_page_over_the_maximum_is_422(client, world):
    """limit above WUSHE_PAGE_SIZE_MAX names the field."""
    response = client.get("/v1/residents?limit=201", headers=headers(world.a.dispatcher))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"


def test_an_import_over_its_byte_limit_is_413_even_chunked(monkeypatch, session, world):
    """The import path has its own (larger) limit, also enforced at the front door."""
    with started(monkeypatch, WUSHE_IMPORT_MAX_BYTES="100", WUSHE_BODY_MAX_BYTES="50") as client:
        before = table_counts(session)
        header = b"external_id,category_code,lon,lat,window_start,window_end\n"
        response = client.post(
            f"/v1/requests/import?community_id={world.a.community_id}",
            content=iter([header, b"r1,medicine,121.03,30.71,2026-03-02T09:00:00+08:00,x\n"]),
            headers={**headers(world.a.dispatcher), "Content-Type": "text/csv"},
        )
        assert response.status_code == 413, response.text
        assert "100 bytes" in response.json()["detail"]
    assert table_counts(session) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"time_limit_s": 301}, "time_limit_s"),
        ({"request_ids": [f"r{i}" for i in range(10_001)]}, "request_ids"),
    ],
)
def test_a_run_too_long_or_too_large_is_422_and_writes_nothing(
    client, session, world, change, field
):
    """A dispatch run is capped at 300 s of solving and 10,000 named requests."""
    before = table_counts(session)
    body = {"scope": {"type": "community", "id": world.a.community_id}, **change}
    response = client.post("/v1/dispatch-runs", json=body, headers=headers(world.a.dispatcher))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["errors"][0]["field"] == field
    assert table_counts(session) == before


def test_a_key_over_its_rate_is_429_with_retry_after(monkeypatch, session, world):
    """With 3 requests of burst and a slow refill the fourth is refused; other keys and the
    probes are not affected, and the refused POST writes nothing."""
    limits = {"WUSHE_RATE_LIMIT_PER_S": "0.01", "WUSHE_RATE_LIMIT_BURST": "3"}
    with started(monkeypatch, **limits) as client:
        mine = headers(world.a.dispatcher)
        for _ in range(3):
            assert client.get("/v1/residents", headers=mine).status_code == 200
        before = table_counts(session)
        refused = client.post("/v1/residents", json=_resident(world.a), headers=mine)
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"] == PROBLEM
        assert int(refused.headers["retry-after"]) >= 1
        assert table_counts(session) == before
        assert client.get("/v1/residents", headers=headers(world.b.dispatcher)).status_code == 200
        assert client.get("/healthz").status_code == 200


def test_the_bucket_refills_at_the_rate_up_to_the_burst():
    """Token bucket arithmetic on a fake clock: burst first, then one per 1/rate seconds."""
    now = [0.0]
    bucket = RateLimit(app=None, rate=2, burst=3, clock=lambda: now[0])  # type: ignore[arg-type]
    assert [bucket.take("k") for _ in range(3)] == [0, 0, 0]
    assert bucket.take("k") == pytest.approx(0.5)
    now[0] = 0.5
    assert bucket.take("k") == 0
    now[0] = 100.0  # long idle: back to the burst, not beyond
    assert [bucket.take("k") for _ in range(3)] == [0, 0, 0]
    assert bucket.take("k") > 0
    assert bucket.take("other") == 0


def test_defaults_are_generous():
    """The defaults leave the demo, the tests and the load bench's rates untouched."""
    from service.config import Settings

    settings = Settings()
    assert settings.rate_limit_per_s >= 500 and settings.rate_limit_burst >= 1000
    assert settings.body_max_bytes >= 1_000_000
