"""Every query about runs, and the few about requests and assignments a run needs."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from service.assignments.models import LIVE_STATES, Assignment
from service.auth.principal import Principal
from service.pagination import PageParams, fetch_page
from service.places.models import Community, Grid
from service.requests.models import ServiceRequest
from service.runs.models import DispatchRun, DispatchRunCommunity


def visible(stmt, principal: Principal):  # type: ignore[no-untyped-def]
    """Runs all of whose communities the caller sees."""
    if principal.community_ids is None:
        return stmt
    hidden = select(DispatchRunCommunity.run_id).where(
        DispatchRunCommunity.run_id == DispatchRun.id,
        DispatchRunCommunity.community_id.not_in(list(principal.community_ids)),
    )
    return stmt.where(~exists(hidden))


def list_runs(
    session: Session,
    principal: Principal,
    page: PageParams,
    state: str | None,
    scope_type: str | None,
    scope_id: str | None,
):  # type: ignore[no-untyped-def]
    stmt = visible(select(DispatchRun), principal)
    if state:
        stmt = stmt.where(DispatchRun.state == state)
    if scope_type:
        stmt = stmt.where(DispatchRun.scope_type == scope_type)
    if scope_id:
        stmt = stmt.where(DispatchRun.scope_id == scope_id)
    return fetch_page(session, stmt, DispatchRun.id, page)


def get_run(session: Session, run_id: str, *, lock: bool = False) -> DispatchRun | None:
    stmt = select(DispatchRun).where(DispatchRun.id == run_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalar(stmt)


def add_run(session: Session, run: DispatchRun) -> None:
    session.add(run)
    session.flush()
    for community_id in run.community_ids:
        session.add(DispatchRunCommunity(run_id=run.id, community_id=community_id))
    session.flush()


def touch(session: Session, run_id: str, now: datetime, **values: Any) -> bool:
    """Heartbeat and progress as a plain UPDATE of a running run: frequent and not audited
    row by row (the audit trail records the run's state changes, not every tick).
    False if the run is no longer running (cancelled, lost and taken over)."""
    stmt = (
        update(DispatchRun)
        .where(DispatchRun.id == run_id, DispatchRun.state == "running")
        .values(heartbeat_at=now, **values)
    )
    return session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]


def cancel_requested(session: Session, run_id: str) -> bool:
    stmt = select(DispatchRun.cancel_requested).where(DispatchRun.id == run_id)
    return bool(session.scalar(stmt))


def runs_in(session: Session, states: Iterable[str]) -> list[DispatchRun]:
    stmt = select(DispatchRun).where(DispatchRun.state.in_(list(states)))
    return list(session.scalars(stmt.order_by(DispatchRun.id)))


def stale_runs(session: Session, before: datetime) -> list[str]:
    stmt = select(DispatchRun.id).where(
        DispatchRun.state == "running",
        (DispatchRun.heartbeat_at < before) | DispatchRun.heartbeat_at.is_(None),
    )
    return list(session.scalars(stmt.order_by(DispatchRun.id)))


def communities_of_street(session: Session, street_id: str) -> list[str]:
    stmt = select(Community.id).where(Community.street_id == street_id).order_by(Community.id)
    return list(session.scalars(stmt))


def grid(session: Session, grid_id: str) -> Grid | None:
    return session.get(Grid, grid_id)


def requests_by_id(session: Session, request_ids: Iterable[str]) -> dict[str, ServiceRequest]:
    ids = list(request_ids)
    if not ids:
        return {}
    stmt = select(ServiceRequest).where(ServiceRequest.id.in_(ids))
    return {r.id: r for r in session.scalars(stmt)}


def open_request_ids(
    session: Session,
    community_ids: list[str],
    grid_id: str | None,
    among: list[str] | None,
    now: datetime,
) -> list[str]:
    """Submitted requests of the scope nobody holds and whose window has not ended."""
    held = select(Assignment.id).where(
        Assignment.request_id == ServiceRequest.id, Assignment.state.in_(LIVE_STATES)
    )
    stmt = select(ServiceRequest.id).where(
        ServiceRequest.community_id.in_(community_ids),
        ServiceRequest.state == "submitted",
        ServiceRequest.window_end > now,
        ~exists(held),
    )
    if grid_id is not None:
        stmt = stmt.where(ServiceRequest.grid_id == grid_id)
    if among is not None:
        stmt = stmt.where(ServiceRequest.id.in_(among))
    return list(session.scalars(stmt.order_by(ServiceRequest.id)))


def busy_elsewhere(
    session: Session, responder_ids: Iterable[str], exclude_request_ids: Iterable[str]
) -> list[tuple[str, datetime, int, int]]:
    """(responder, planned start, duration, travel) of live work with a start, other requests."""
    stmt = (
        select(
            Assignment.responder_id,
            Assignment.planned_start,
            ServiceRequest.duration_min,
            Assignment.travel_minutes,
        )
        .join(ServiceRequest, ServiceRequest.id == Assignment.request_id)
        .where(
            Assignment.responder_id.in_(list(responder_ids)),
            Assignment.state.in_(LIVE_STATES),
            Assignment.planned_start.is_not(None),
            Assignment.request_id.not_in(list(exclude_request_ids)),
        )
    )
    return [(j, s, d, t or 0) for j, s, d, t in session.execute(stmt)]
