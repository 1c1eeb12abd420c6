"""Every query about service requests; lists are already narrowed to what the caller may see."""

from datetime import datetime

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from service.assignments.models import Assignment
from service.auth.principal import Principal, Role
from service.pagination import PageParams, fetch_page
from service.requests.models import ServiceRequest


def _assigned_to(responder_id: str | None):  # type: ignore[no-untyped-def]
    return exists().where(
        Assignment.request_id == ServiceRequest.id, Assignment.responder_id == responder_id
    )


def visible_to(stmt: Select, principal: Principal) -> Select:  # type: ignore[type-arg]
    """Narrow a query over service_request to the rows ``principal`` may read."""
    if principal.is_admin:
        return stmt
    if principal.role is Role.responder:
        return stmt.where(_assigned_to(principal.responder_id))
    stmt = stmt.where(ServiceRequest.community_id.in_(principal.community_ids or ()))
    if principal.role is Role.grid_app:
        stmt = stmt.where(ServiceRequest.grid_id.in_(principal.grid_ids))
    return stmt


def get(session: Session, request_id: str) -> ServiceRequest | None:
    return session.get(ServiceRequest, request_id)


def get_visible(session: Session, principal: Principal, request_id: str) -> ServiceRequest | None:
    stmt = visible_to(select(ServiceRequest).where(ServiceRequest.id == request_id), principal)
    return session.scalar(stmt)


def by_external_id(session: Session, source: str, external_id: str) -> ServiceRequest | None:
    stmt = select(ServiceRequest).where(
        ServiceRequest.source == source, ServiceRequest.external_id == external_id
    )
    return session.scalar(stmt)


def list_requests(  # type: ignore[no-untyped-def]
    session: Session,
    principal: Principal,
    page: PageParams,
    *,
    community_id: str | None = None,
    grid_id: str | None = None,
    state: str | None = None,
    urgency: str | None = None,
    category_code: str | None = None,
    source: str | None = None,
    external_id: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
):
    stmt = visible_to(select(ServiceRequest), principal)
    equal = {
        ServiceRequest.community_id: community_id,
        ServiceRequest.grid_id: grid_id,
        ServiceRequest.state: state,
        ServiceRequest.urgency: urgency,
        ServiceRequest.category_code: category_code,
        ServiceRequest.source: source,
        ServiceRequest.external_id: external_id,
    }
    for column, value in equal.items():
        if value is not None:
            stmt = stmt.where(column == value)
    if created_after is not None:
        stmt = stmt.where(ServiceRequest.created_at > created_after)
    if created_before is not None:
        stmt = stmt.where(ServiceRequest.created_at < created_before)
    return fetch_page(session, stmt, ServiceRequest.id, page)
