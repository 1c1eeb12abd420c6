"""Arranging funds for the tests: categories in the session, funds and entries via the API."""

from typing import Any

from sqlalchemy.orm import Session

from service.catalogue.models import ServiceCategory
from service.places.models import Community
from tests.service.conftest import headers

FUNDS = "/v1/funds"


def add_category(session: Session, code: str, active: bool = True) -> None:
    """Insert a category directly: the catalogue's seed is not something these tests rely on."""
    session.add(
        ServiceCategory(
            code=code, name_zh=code, name_en=code, default_duration_min=30, active=active
        )
    )
    session.commit()


def add_community(session: Session, street_id: str, code: str) -> str:
    community = Community(street_id=street_id, code=code, name=code, lon=121.0, lat=30.7)
    session.add(community)
    session.commit()
    return community.id


def create_fund(client: Any, key: str, **body: Any) -> dict[str, Any]:
    body.setdefault("name", "平湖社区慈善基金")
    response = client.post(FUNDS, json=body, headers=headers(key))
    assert response.status_code == 201, response.text
    return response.json()


def post_entry(client: Any, key: str, fund_id: str, kind: str, amount_fen: int, **extra: Any):
    return client.post(
        f"{FUNDS}/{fund_id}/entries",
        json={"kind": kind, "amount_fen": amount_fen, **extra},
        headers=headers(key),
    )


def assert_problem(response: Any, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert field in [e["field"] for e in response.json()["errors"]]


def create_request(client, key: str, community_id: str, grid_id: str) -> str:
    """A real service request to tie ledger entries to."""
    response = client.post(
        "/v1/requests",
        json={
            "community_id": community_id,
            "grid_id": grid_id,
            "category_code": "micro_wish",
            "location": {"type": "Point", "coordinates": [121.02, 30.70]},
            "window_start": "2026-12-01T09:00:00+08:00",
            "window_end": "2026-12-01T17:00:00+08:00",
        },
        headers={"X-API-Key": key},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]
