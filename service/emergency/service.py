"""Peacetime and emergency (平时 / 战时): the switch, and the urgency it gives each need.

Switching a community to emergency mobilises its emergency team (responders flagged
``emergency_team`` are dispatched only then), replaces daily caps by emergency caps where a
responder has them (service.dispatch.adapter), and raises open requests by the community's
urgency rules (service.emergency.rules). Switching back restores the urgency each request was
filed with. The switch is audited with its reason and published as an event.
"""

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.auth.principal import Principal
from service.dispatch.repository import resident_tags
from service.emergency import rules, schemas
from service.errors import NotFound
from service.places.models import Community, Street
from service.requests.models import FINAL_STATES, ServiceRequest
from service.types import dump_json, utcnow


def rules_of(community: Community) -> list[dict[str, Any]]:
    own = community.emergency_rules
    return own if own is not None else rules.DEFAULT_RULES


def urgency_for(
    community: Community | None, request: ServiceRequest, tags: list[str] | None
) -> str:
    """The urgency the request has now: as filed, raised by the rules in emergency mode."""
    given = request.urgency_given or request.urgency
    if community is None or community.mode != "emergency":
        return given
    return rules.effective(
        given, rules_of(community), request.category_code, tags or [], request.description
    )


def reprioritise(session: Session, community: Community) -> int:
    """Give every open request of the community the urgency it has in the current mode."""
    stmt = select(ServiceRequest).where(
        ServiceRequest.community_id == community.id,
        ServiceRequest.state.not_in(FINAL_STATES),
    )
    requests = list(session.scalars(stmt.order_by(ServiceRequest.id)))
    tags = resident_tags(session, [r.resident_id for r in requests if r.resident_id])
    changed = 0
    for request in requests:
        urgency = urgency_for(community, request, tags.get(request.resident_id or ""))
        if request.urgency_given is None:
            request.urgency_given = request.urgency
        if urgency != request.urgency:
            request.urgency = urgency
            changed += 1
    session.flush()
    return changed


def switch(
    session: Session, community: Community, change: schemas.ModeChange
) -> schemas.CommunityMode:
    from service.audit.recorder import name_action
    from service.events.service import record

    before = community.mode
    if change.rules is not None:
        community.emergency_rules = dump_json(
            [r.model_dump(exclude_none=True) for r in change.rules]
        )
    if before != change.mode:
        community.mode = change.mode
        community.mode_since = utcnow()
    community.mode_reason = change.reason
    name_action(
        session, community.id, "emergency_on" if change.mode == "emergency" else "emergency_off"
    )
    session.flush()
    changed = reprioritise(session, community)
    record(
        session,
        community_id=community.id,
        kind="community.mode_changed",
        subject_type="community",
        subject_id=community.id,
        payload={
            "from": before,
            "to": community.mode,
            "reason": change.reason,
            "requests_reprioritised": changed,
        },
    )
    return schemas.CommunityMode(
        community_id=community.id,
        mode=community.mode,  # type: ignore[arg-type]
        mode_since=community.mode_since,
        rules=rules_of(community),
        requests_reprioritised=changed,
    )


def switch_community(
    session: Session, principal: Principal, community_id: str, change: schemas.ModeChange
) -> schemas.ModeChanges:
    community = session.get(Community, community_id)
    if community is None or not principal.sees(community.id):
        raise NotFound("No such community.")
    return schemas.ModeChanges(communities=[switch(session, community, change)])


def switch_street(
    session: Session, principal: Principal, street_id: str, change: schemas.ModeChange
) -> schemas.ModeChanges:
    """Every community of the street the caller dispatches for switches together."""
    street = session.get(Street, street_id)
    communities = (
        []
        if street is None
        else list(
            session.scalars(
                select(Community).where(Community.street_id == street_id).order_by(Community.id)
            )
        )
    )
    mine = [c for c in communities if principal.sees(c.id)]
    if not mine:
        raise NotFound("No such street.")
    return schemas.ModeChanges(communities=[switch(session, c, change) for c in mine])
