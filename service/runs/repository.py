"""Every query about runs, and the few about requests and assignments a run needs."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from service.assignments.models import LIVE_STATES, Assignment
from service.auth.principal import Principal
from service.pagination import PageParams, fetch_page
from service.places.models import Community, District, Grid, Street
from service.requests.models import ServiceRequest
from service.runs.models import DispatchRun, DispatchRunCommunity, DispatchRunPart


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
    """Running runs whose heartbeat stopped; a split run beats through its parts instead."""
    stmt = select(DispatchRun.id).where(
        DispatchRun.state == "running",
        (DispatchRun.heartbeat_at < before) | DispatchRun.heartbeat_at.is_(None),
        ~exists(select(DispatchRunPart.id).where(DispatchRunPart.run_id == DispatchRun.id)),
    )
    return list(session.scalars(stmt.order_by(DispatchRun.id)))


def communities_of_street(session: Session, street_id: str) -> list[str]:
    stmt = select(Community.id).where(Community.street_id == street_id).order_by(Community.id)
    return list(session.scalars(stmt))


def communities_of_district(session: Session, district_id: str) -> list[str]:
    stmt = (
        select(Community.id)
        .join(Street, Street.id == Community.street_id)
        .where(Street.district_id == district_id)
        .order_by(Community.id)
    )
    return list(session.scalars(stmt))


def district_by_code(session: Session, code: str) -> str | None:
    return session.scalar(select(District.id).where(District.code == code))


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


# --- parts of a split run (service.runs.parts)


def has_parts(session: Session, run_id: str) -> bool:
    stmt = select(DispatchRunPart.id).where(DispatchRunPart.run_id == run_id).limit(1)
    return session.scalar(stmt) is not None


def parts_of(session: Session, run_id: str, *, lock: bool = False) -> list[DispatchRunPart]:
    stmt = select(DispatchRunPart).where(DispatchRunPart.run_id == run_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return list(session.scalars(stmt.order_by(DispatchRunPart.index)))


def get_part(session: Session, part_id: str, *, lock: bool = False) -> DispatchRunPart | None:
    stmt = select(DispatchRunPart).where(DispatchRunPart.id == part_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalar(stmt)


def part_run_id(session: Session, part_id: str) -> str | None:
    return session.scalar(select(DispatchRunPart.run_id).where(DispatchRunPart.id == part_id))


def touch_part(session: Session, part_id: str, now: datetime) -> bool:
    """A running part's heartbeat, as a plain UPDATE (see touch)."""
    stmt = (
        update(DispatchRunPart)
        .where(DispatchRunPart.id == part_id, DispatchRunPart.state == "running")
        .values(heartbeat_at=now)
    )
    return session.execute(stmt).rowcount == 1  # type: ignore[attr-defined]


def parts_in(session: Session, states: Iterable[str]) -> list[DispatchRunPart]:
    stmt = select(DispatchRunPart).where(DispatchRunPart.state.in_(list(states)))
    return list(session.scalars(stmt.order_by(DispatchRunPart.id)))


def stale_parts(session: Session, before: datetime) -> list[tuple[str, str]]:
    """(run, part) of running parts whose heartbeat stopped."""
    stmt = select(DispatchRunPart.run_id, DispatchRunPart.id).where(
        DispatchRunPart.state == "running",
        (DispatchRunPart.heartbeat_at < before) | DispatchRunPart.heartbeat_at.is_(None),
    )
    return [(r, p) for r, p in session.execute(stmt.order_by(DispatchRunPart.id))]


def open_requests(
    session: Session,
    community_ids: list[str],
    grid_id: str | None,
    among: list[str] | None,
    now: datetime,
) -> dict[str, str]:
    """open_request_ids with each request's community."""
    ids = open_request_ids(session, community_ids, grid_id, among, now)
    out: dict[str, str] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        stmt = select(ServiceRequest.id, ServiceRequest.community_id).where(
            ServiceRequest.id.in_(chunk)
        )
        out.update({a: b for a, b in session.execute(stmt)})
    return out


def street_of(session: Session, community_ids: list[str]) -> dict[str, str]:
    stmt = select(Community.id, Community.street_id).where(Community.id.in_(community_ids))
    return {a: b for a, b in session.execute(stmt)}


def community_links(session: Session, community_ids: list[str]) -> list[set[str]]:
    """The run's communities each active responder serves, and each active fund covers."""
    from service.funds.models import CharityFund
    from service.responders.models import Responder, ResponderCommunity

    served: dict[str, set[str]] = {}
    stmt = (
        select(ResponderCommunity.responder_id, ResponderCommunity.community_id)
        .join(Responder, Responder.id == ResponderCommunity.responder_id)
        .where(Responder.active.is_(True), ResponderCommunity.community_id.in_(community_ids))
    )
    for responder_id, community_id in session.execute(stmt):
        served.setdefault(responder_id, set()).add(community_id)
    streets = street_of(session, community_ids)
    by_street: dict[str, set[str]] = {}
    for community_id, street_id in streets.items():
        by_street.setdefault(street_id, set()).add(community_id)
    funds = select(CharityFund.community_id, CharityFund.street_id).where(
        CharityFund.active.is_(True),
        CharityFund.community_id.in_(community_ids) | CharityFund.street_id.in_(list(by_street)),
    )
    covered = [
        {community_id} if community_id else by_street.get(street_id or "", set())
        for community_id, street_id in session.execute(funds)
    ]
    return list(served.values()) + covered
