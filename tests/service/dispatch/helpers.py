"""A community that dispatches automatically, responders in it, and requests for them."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.auth.principal import Role
from service.places.models import Community
from tests.service.conftest import Side, World, add_key, headers
from tests.service.requests.factory import POINT, make_category, make_responder

CATEGORY = "errand"


def auto_dispatch(session: Session, side: Side, on: bool = True) -> None:
    community = session.get(Community, side.community_id)
    assert community is not None
    community.auto_dispatch = on
    session.commit()


def setup_category(client: TestClient, world: World, code: str = CATEGORY, **fields: Any) -> dict:
    body = {"required_qualifications": [], "min_licence": "none", "default_team": [], **fields}
    return make_category(client, world, code=code, **body)


def volunteer(
    client: TestClient, session: Session, world: World, side: Side, **fields: Any
) -> tuple[dict, str]:
    """A volunteer of ``side`` and its own responder key."""
    responder = make_responder(client, world, [side.community_id], **fields)
    key = add_key(
        session, Role.responder, responder_id=responder["id"], community_ids=[side.community_id]
    )
    session.commit()
    return responder, key


def window(hours_from_now: float = 1, length_h: float = 3) -> dict[str, str]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours_from_now)
    return {
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=length_h)).isoformat(),
    }


def submit(client: TestClient, side: Side, **fields: Any) -> dict:
    body = {
        "community_id": side.community_id,
        "category_code": CATEGORY,
        "location": POINT,
        **window(),
        **fields,
    }
    response = client.post("/v1/requests", json=body, headers=headers(side.dispatcher))
    assert response.status_code == 201, response.text
    return response.json()


def move(client: TestClient, key: str, assignment_id: str, verb: str, **body: Any):
    return client.post(
        f"/v1/assignments/{assignment_id}/{verb}", json=body or None, headers=headers(key)
    )
