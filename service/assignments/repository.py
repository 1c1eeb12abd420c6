"""Every query about assignments; lists are already narrowed to what the caller may see."""

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from service.assignments.models import LIVE_STATES, Assignment
from service.auth.principal import Principal, Role
from service.pagination import PageParams, fetch_page
from service.requests.models import ServiceRequest


def visible_to(stmt: Select, principal: Principal) -> Select:  # type: ignore[type-arg]
    """Narrow a query over assignment to the rows ``principal`` may read."""
    if principal.is_admin:
        return stmt
    if principal.role is Role.responder:
        return stmt.where(Assignment.responder_id == principal.responder_id)
    stmt = stmt.where(Assignment.community_id.in_(principal.community_ids or ()))
    if principal.role is Role.grid_app:
        in_own_grid = exists().where(
            ServiceRequest.id == Assignment.request_id,
            ServiceRequest.grid_id.in_(principal.grid_ids),
        )
        stmt = stmt.where(in_own_grid)
    return stmt


def get_visible(session: Session, principal: Principal, assignment_id: str) -> Assignment | None:
    stmt = visible_to(select(Assignment).where(Assignment.id == assignment_id), principal)
    return session.scalar(stmt)


def holds_live(session: Session, request_id: str, responder_id: str) -> bool:
    stmt = select(Assignment.id).where(
        Assignment.request_id == request_id,
        Assignment.responder_id == responder_id,
        Assignment.state.in_(LIVE_STATES),
    )
    return session.scalar(stmt.limit(1)) is not None


def list_assignments(  # type: ignore[no-untyped-def]
    session: Session,
    principal: Principal,
    page: PageParams,
    *,
    request_id: str | None = None,
    responder_id: str | None = None,
    state: str | None = None,
    community_id: str | None = None,
):
    stmt = visible_to(select(Assignment), principal)
    equal = {
        Assignment.request_id: request_id,
        Assignment.responder_id: responder_id,
        Assignment.state: state,
        Assignment.community_id: community_id,
    }
    for column, value in equal.items():
        if value is not None:
            stmt = stmt.where(column == value)
    return fetch_page(session, stmt, Assignment.id, page)
