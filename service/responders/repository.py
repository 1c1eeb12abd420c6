"""Every query about responders; lists are already narrowed to what the caller may see."""

from sqlalchemy import Select, String, cast, select
from sqlalchemy.orm import Session

from service.auth.principal import Principal, Role
from service.pagination import PageParams, fetch_page
from service.responders.models import Responder, ResponderCommunity


def community_ids_of_responder(session: Session, responder_id: str) -> list[str]:
    stmt = select(ResponderCommunity.community_id).where(
        ResponderCommunity.responder_id == responder_id
    )
    return list(session.scalars(stmt))


def get(session: Session, responder_id: str) -> Responder | None:
    return session.get(Responder, responder_id)


def _serving(community_ids: object) -> Select:  # type: ignore[type-arg]
    return select(ResponderCommunity.responder_id).where(
        ResponderCommunity.community_id.in_(community_ids)  # type: ignore[arg-type]
    )


def _json_list_has(column: object, word: str):  # type: ignore[no-untyped-def]
    # Tags and group names are [a-z0-9_] words, so the quoted word inside the JSON text
    # matches exactly one element; this works alike on SQLite and PostgreSQL.
    return cast(column, String).contains(f'"{word}"', autoescape=True)  # type: ignore[arg-type]


def list_responders(  # type: ignore[no-untyped-def]
    session: Session,
    principal: Principal,
    page: PageParams,
    kind: str | None,
    community_id: str | None,
    active: bool | None,
    qualification: str | None,
    volunteer_group: str | None,
):
    stmt = select(Responder)
    if principal.role is Role.responder:
        stmt = stmt.where(Responder.id == principal.responder_id)
    elif principal.community_ids is not None:
        stmt = stmt.where(Responder.id.in_(_serving(principal.community_ids)))
    if kind:
        stmt = stmt.where(Responder.kind == kind)
    if community_id:
        stmt = stmt.where(Responder.id.in_(_serving([community_id])))
    if active is not None:
        stmt = stmt.where(Responder.active == active)
    if qualification:
        stmt = stmt.where(_json_list_has(Responder.qualifications, qualification))
    if volunteer_group:
        stmt = stmt.where(_json_list_has(Responder.volunteer_groups, volunteer_group))
    return fetch_page(session, stmt, Responder.id, page)
