"""The app with the events feed, /metrics and the background lifespan wired in, and small
row factories for the events, metrics and background tests.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.assignments.models import Assignment
from service.catalogue.models import ServiceCategory
from service.main import create_app
from service.requests.models import ServiceRequest
from service.responders.models import Responder, ResponderCommunity
from service.types import utcnow


def full_app() -> FastAPI:
    """The real app: feed, /metrics and the background lifespan are all wired in main."""
    return create_app()


@contextmanager
def started(monkeypatch, **env: str) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """A started full app with the given WUSHE_* settings (background off unless told)."""
    from service.config import get_settings

    monkeypatch.setenv("WUSHE_BACKGROUND", "false")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with TestClient(full_app(), raise_server_exceptions=False) as client:
        yield client
    get_settings.cache_clear()


def category(session: Session) -> str:
    code = "events_test_visit"
    if session.scalar(select(ServiceCategory.id).where(ServiceCategory.code == code)) is None:
        session.add(
            ServiceCategory(code=code, name_zh="探访", name_en="Visit", default_duration_min=30)
        )
        session.flush()
    return code


def service_request(
    session: Session,
    community_id: str,
    grid_id: str | None,
    *,
    state: str = "submitted",
    window_end: datetime | None = None,
) -> ServiceRequest:
    end = window_end or utcnow() + timedelta(hours=3)
    request = ServiceRequest(
        community_id=community_id,
        grid_id=grid_id,
        category_code=category(session),
        window_start=end - timedelta(hours=2),
        window_end=end,
        duration_min=30,
        source="console",
        state=state,
        lon=121.02,
        lat=30.70,
    )
    session.add(request)
    session.flush()
    return request


def responder(session: Session, community_id: str) -> Responder:
    found = Responder(
        kind="volunteer",
        name="孙丽",
        radius_m=3000,
        travel_mode="walk",
        speed_kmh=4.5,
        lon=121.02,
        lat=30.70,
    )
    session.add(found)
    session.flush()
    session.add(ResponderCommunity(responder_id=found.id, community_id=community_id))
    session.flush()
    return found


def offer(
    session: Session, request: ServiceRequest, responder_id: str, respond_by: datetime
) -> Assignment:
    assignment = Assignment(
        request_id=request.id,
        responder_id=responder_id,
        community_id=request.community_id,
        role="volunteer",
        state="offered",
        respond_by=respond_by,
    )
    session.add(assignment)
    session.flush()
    return assignment
