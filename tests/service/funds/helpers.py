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
