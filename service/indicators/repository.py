"""Every query the indicators need: the scope's communities, its requests and their work."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from service.assignments.models import Assignment
from service.funds.models import CharityFund, FundEntry
from service.places.models import Community, Grid
from service.requests.models import ServiceRequest
from service.responders.models import Responder


@dataclass(frozen=True)
class Scope:
    """Communities (and possibly one grid) whose requests the figures count."""

    community_ids: list[str] | None  # None: every community (admin, no scope named)
    grid_id: str | None = None

    def requests(self) -> ColumnElement[bool]:
        clauses = []
        if self.community_ids is not None:
            clauses.append(ServiceRequest.community_id.in_(self.community_ids))
        if self.grid_id is not None:
            clauses.append(ServiceRequest.grid_id == self.grid_id)
        return and_(True, *clauses)


@dataclass(frozen=True)
class RequestRow:
    id: str
    grid_id: str | None
    category_code: str
    state: str
    created_at: datetime


def community(session: Session, community_id: str) -> Community | None:
    return session.get(Community, community_id)


def grid(session: Session, grid_id: str) -> Grid | None:
    return session.get(Grid, grid_id)


def street_communities(session: Session, street_id: str) -> list[str]:
    stmt = select(Community.id).where(Community.street_id == street_id).order_by(Community.id)
    return list(session.scalars(stmt))


def all_communities(session: Session) -> list[str]:
    return list(session.scalars(select(Community.id).order_by(Community.id)))


def grid_names(session: Session, grid_ids: Iterable[str]) -> dict[str, str]:
    ids = [g for g in grid_ids if g]
    if not ids:
        return {}
    return dict(session.execute(select(Grid.id, Grid.name).where(Grid.id.in_(ids))).all())


def requests_created(
    session: Session, scope: Scope, since: datetime, until: datetime
) -> list[RequestRow]:
    stmt = select(
        ServiceRequest.id,
        ServiceRequest.grid_id,
        ServiceRequest.category_code,
        ServiceRequest.state,
        ServiceRequest.created_at,
    ).where(scope.requests(), ServiceRequest.created_at >= since, ServiceRequest.created_at < until)
    return [RequestRow(*row) for row in session.execute(stmt)]


def first_offers(
    session: Session, scope: Scope, since: datetime, until: datetime
) -> dict[str, datetime]:
    """The first offer's time of each request of the scope created in the period."""
    stmt = (
        select(Assignment.request_id, func.min(Assignment.offered_at))
        .join(ServiceRequest, ServiceRequest.id == Assignment.request_id)
        .where(
            scope.requests(),
            ServiceRequest.created_at >= since,
            ServiceRequest.created_at < until,
        )
        .group_by(Assignment.request_id)
    )
    return {rid: at for rid, at in session.execute(stmt) if at is not None}


def completions(
    session: Session, scope: Scope, since: datetime, until: datetime
) -> dict[str, datetime]:
    """When the last member completed each completed request created in the period."""
    stmt = (
        select(Assignment.request_id, func.max(Assignment.completed_at))
        .join(ServiceRequest, ServiceRequest.id == Assignment.request_id)
        .where(
            scope.requests(),
            ServiceRequest.state == "completed",
            Assignment.state == "completed",
            ServiceRequest.created_at >= since,
            ServiceRequest.created_at < until,
        )
        .group_by(Assignment.request_id)
    )
    return {rid: at for rid, at in session.execute(stmt) if at is not None}


@dataclass(frozen=True)
class VolunteerWork:
    responder_id: str
    offered_at: datetime
    accepted_at: datetime | None
    started_at: datetime | None
    completed_at: datetime


def volunteer_work(
    session: Session, scope: Scope, since: datetime, until: datetime
) -> list[VolunteerWork]:
    """Volunteers' assignments in the scope completed in the period."""
    stmt = (
        select(
            Assignment.responder_id,
            Assignment.offered_at,
            Assignment.accepted_at,
            Assignment.started_at,
            Assignment.completed_at,
        )
        .join(ServiceRequest, ServiceRequest.id == Assignment.request_id)
        .join(Responder, Responder.id == Assignment.responder_id)
        .where(
            scope.requests(),
            Responder.kind == "volunteer",
            Assignment.state == "completed",
            Assignment.completed_at >= since,
            Assignment.completed_at < until,
        )
    )
    return [VolunteerWork(*row) for row in session.execute(stmt)]


def fund_spends(
    session: Session, scope: Scope, since: datetime, until: datetime
) -> list[tuple[str, str, int]]:
    """(fund id, name, fen) spent in the period on requests of the scope, largest first."""
    total = func.sum(FundEntry.amount_fen)
    stmt = (
        select(CharityFund.id, CharityFund.name, total)
        .join(FundEntry, FundEntry.fund_id == CharityFund.id)
        .join(ServiceRequest, ServiceRequest.id == FundEntry.request_id)
        .where(
            scope.requests(),
            FundEntry.kind == "spend",
            FundEntry.created_at >= since,
            FundEntry.created_at < until,
        )
        .group_by(CharityFund.id, CharityFund.name)
        .order_by(total.desc(), CharityFund.id)
    )
    return [(fid, name, int(fen or 0)) for fid, name, fen in session.execute(stmt)]


def responders_of(session: Session, community_ids: list[str] | None) -> list[Responder]:
    from service.dispatch import repository as dispatch_repo

    if community_ids is None:
        community_ids = all_communities(session)
    return dispatch_repo.active_responders(session, community_ids)
