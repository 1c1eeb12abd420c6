"""Starting runs and waiting for them through the API."""

import os
import signal
import subprocess
import sys
from pathlib import Path
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


ROOT = Path(__file__).resolve().parents[3]


def start_worker(database_url: str, **env: str) -> subprocess.Popen:
    """A real `wushe worker` process (bench/slow_worker.py: SLOW_SOLVE_S delays its solves)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bench.slow_worker"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
