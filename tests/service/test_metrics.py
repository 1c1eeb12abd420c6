"""GET /metrics: Prometheus text with HTTP traffic by route template and live gauges."""

from datetime import timedelta

from prometheus_client.parser import text_string_to_metric_families

from service.metrics import LIVE_MATCH_SECONDS, OFFERS_MADE, SOLVE_SECONDS
from service.runs.models import DispatchRun
from service.types import utcnow
from tests.service.conftest import headers
from tests.service.events.wiring import offer, responder, service_request, started


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_report_traffic_and_gauges(session, world, monkeypatch):
    """After some traffic the scrape shows counts by route template and the database gauges."""
    req = service_request(session, world.a.community_id, world.a.grid_id, state="offered")
    service_request(session, world.a.community_id, world.a.grid_id)
    service_request(session, world.a.community_id, world.a.grid_id, state="cancelled")
    offer(session, req, responder(session, world.a.community_id).id, utcnow() + timedelta(hours=1))
    session.commit()
    with started(monkeypatch) as client:
        before = _samples(client.get("/metrics").text)
        for _ in range(3):
            assert (
                client.get(f"/v1/requests/{req.id}", headers=headers(world.admin)).status_code
                == 200
            )
        assert client.get("/v1/requests/nope", headers=headers(world.admin)).status_code == 404
        OFFERS_MADE.inc()
        SOLVE_SECONDS.labels("live").observe(0.004)
        LIVE_MATCH_SECONDS.observe(0.006)
        # A run waiting for a worker (written directly: no executor is told about it).
        session.add(
            DispatchRun(
                scope_type="community",
                scope_id=world.a.community_id,
                community_ids=[world.a.community_id],
                mode="preview",
                time_limit_s=5,
            )
        )
        session.commit()
        response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = _samples(response.text)
    route = {"method": "GET", "route": "/v1/requests/{request_id}"}

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("wushe_http_requests_total", **route, status="200") == 3
    assert grew("wushe_http_requests_total", **route, status="404") == 1
    assert grew("wushe_http_request_duration_seconds_count", **route) == 4
    assert _value(after, "wushe_http_request_duration_seconds_sum", **route) > 0
    # Raw paths never become labels.
    assert not any(req.id in str(labels) for _, labels in after)
    assert grew("wushe_offers_made_total") == 1
    assert grew("wushe_solve_seconds_count", kind="live") == 1
    assert grew("wushe_live_match_seconds_count") == 1
    assert _value(after, "wushe_offers_pending") == 1
    assert _value(after, "wushe_requests_unassigned") == 1
    assert _value(after, "wushe_dispatch_runs_queued") == 1
    assert _value(after, "wushe_gauges_read_at_seconds") > 0


def test_unknown_paths_share_one_label(session, world, monkeypatch):
    """Requests that match no route are counted under 'unmatched', not their path."""
    with started(monkeypatch) as client:
        client.get("/no/such/path/123")
        text = client.get("/metrics").text
    assert 'route="unmatched"' in text and "/no/such/path" not in text


def test_metrics_token_when_configured(session, world, monkeypatch):
    """With WUSHE_METRICS_TOKEN set, a scrape without the bearer token is 401; with it, 200."""
    with started(monkeypatch, WUSHE_METRICS_TOKEN="s3cret") as client:
        refused = client.get("/metrics")
        allowed = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert allowed.status_code == 200 and "wushe_offers_pending" in allowed.text
