from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import select

from service.audit.models import AuditEntry
from service.auth.principal import Principal, Role, SessionDep, require
from service.errors import COMMON, responses
from service.pagination import Page, PageParams, fetch_page
from service.types import OutModel

router = APIRouter(prefix="/v1/audit-entries", tags=["audit"])


class AuditEntryOut(OutModel):
    id: str
    at: datetime
    actor_key_id: str | None
    actor_role: str
    entity_type: str
    entity_id: str
    action: str
    community_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@router.get("", responses=responses(*COMMON))
def list_audit_entries(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Role.dispatcher))],
    page: Annotated[PageParams, Depends()],
    entity_type: str | None = None,
    entity_id: str | None = None,
) -> Page[AuditEntryOut]:
    stmt = select(AuditEntry)
    if principal.community_ids is not None:
        stmt = stmt.where(AuditEntry.community_id.in_(principal.community_ids))
    if entity_type:
        stmt = stmt.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    items, cursor = fetch_page(session, stmt, AuditEntry.id, page)
    return Page(items=[AuditEntryOut.model_validate(i) for i in items], next_cursor=cursor)
