"""A run over a whole scope may plan no more than WUSHE_RUNS_MAX_REQUESTS pending requests."""

from sqlalchemy import func, select

from service.config import get_settings
from service.runs.models import DispatchRun
from tests.service.conftest import headers
from tests.service.dispatch.helpers import setup_category, submit


def test_a_scope_too_large_for_one_run_is_413_and_writes_nothing(
    client, session, world, monkeypatch
):
    setup_category(client, world)
    ids = [submit(client, world.a)["id"] for _ in range(3)]
    monkeypatch.setenv("WUSHE_RUNS_MAX_REQUESTS", "2")
    get_settings.cache_clear()
    try:
        scope = {"type": "community", "id": world.a.community_id}
        refused = client.post(
            "/v1/dispatch-runs",
            json={"scope": scope, "time_limit_s": 1},
            headers=headers(world.a.dispatcher),
        )
        named = client.post(
            "/v1/dispatch-runs",
            json={"scope": scope, "time_limit_s": 1, "request_ids": ids[:2]},
            headers=headers(world.a.dispatcher),
        )
    finally:
        get_settings.cache_clear()
    assert refused.status_code == 413, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "3 pending requests" in refused.json()["detail"]
    assert named.status_code == 202, named.text
    assert session.scalar(select(func.count()).select_from(DispatchRun)) == 1
