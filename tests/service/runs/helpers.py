"""Starting runs and waiting for them through the API."""

from typing import Any

from fastapi.testclient import TestClient

from service.runs import jobs
from tests.service.conftest import Side, headers


def start_run(
    client: TestClient, key: str, side: Side, *, scope: str = "community", **body: Any
) -> dict:
    scope_id = {"community": side.community_id, "grid": side.grid_id, "street": side.street_id}
    payload = {"scope": {"type": scope, "id": scope_id[scope]}, "time_limit_s": 2, **body}
    response = client.post("/v1/dispatch-runs", json=payload, headers=headers(key))
    assert response.status_code == 202, response.text
    assert response.headers["Location"] == f"/v1/dispatch-runs/{response.json()['id']}"
    return response.json()


def finish(client: TestClient, key: str, run_id: str) -> dict:
    """Let every queued run execute, then read this one."""
    if jobs.engine_name() == "procrastinate":
        jobs.work_until_idle()
    else:
        jobs.wait_local()
    response = client.get(f"/v1/dispatch-runs/{run_id}", headers=headers(key))
    assert response.status_code == 200, response.text
    return response.json()


def plan(client: TestClient, key: str, run_id: str) -> dict:
    response = client.get(f"/v1/dispatch-runs/{run_id}/plan", headers=headers(key))
    assert response.status_code == 200, response.text
    return response.json()


def commit(client: TestClient, key: str, run_id: str) -> dict:
    response = client.post(f"/v1/dispatch-runs/{run_id}/commit", headers=headers(key))
    assert response.status_code == 200, response.text
    return response.json()
