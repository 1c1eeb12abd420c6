"""Building blocks for request and assignment tests, made through the API like a client would."""

from typing import Any

from fastapi.testclient import TestClient

from tests.service.conftest import Side, World, headers

POINT = {"type": "Point", "coordinates": [121.03, 30.71]}
HOME = {"type": "Point", "coordinates": [121.04, 30.705]}
WINDOW = {"window_start": "2026-03-02T09:00:00+08:00", "window_end": "2026-03-02T11:00:00+08:00"}
TEAM = [{"role": "community_staff", "count": 1}, {"role": "social_worker", "count": 2}]


def make_category(client: TestClient, world: World, code: str = "medicine", **fields: Any) -> dict:
    body = {
        "code": code,
        "name_zh": "代购药品",
        "name_en": "Medicine purchase",
        "default_duration_min": 45,
        "required_qualifications": ["pharmacy"],
        "min_licence": "assistant",
        "default_team": TEAM,
        **fields,
    }
    response = client.post("/v1/service-categories", json=body, headers=headers(world.admin))
    assert response.status_code == 201, response.text
    return response.json()


def make_resident(client: TestClient, side: Side, location: dict = HOME) -> dict:
    body = {
        "community_id": side.community_id,
        "grid_id": side.grid_id,
        "name": "王阿婆",
        "location": location,
    }
    response = client.post("/v1/residents", json=body, headers=headers(side.dispatcher))
    assert response.status_code == 201, response.text
    return response.json()


def make_responder(
    client: TestClient,
    world: World,
    community_ids: list[str],
    kind: str = "volunteer",
    **fields: Any,
) -> dict:
    body = {
        "kind": kind,
        "name": "李志愿",
        "community_ids": community_ids,
        "location": POINT,
        "radius_m": 3000,
        "travel_mode": "ebike",
        **fields,
    }
    if kind == "organization":
        body.setdefault("registered_name", "平湖市阳光社工服务中心")
    response = client.post("/v1/responders", json=body, headers=headers(world.admin))
    assert response.status_code == 201, response.text
    return response.json()


def request_body(side: Side, category: str = "medicine", **fields: Any) -> dict:
    return {
        "community_id": side.community_id,
        "category_code": category,
        "location": POINT,
        **WINDOW,
        **fields,
    }


def make_request(client: TestClient, key: str, body: dict) -> dict:
    response = client.post("/v1/requests", json=body, headers=headers(key))
    assert response.status_code == 201, response.text
    return response.json()
