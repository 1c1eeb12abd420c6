"""Every change lands in the append-only audit trail: who, when, what, before and after."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from service.audit.models import AuditEntry
from tests.service.conftest import headers

POINT = {"type": "Point", "coordinates": [121.03, 30.71]}


def test_create_and_update_are_audited(client, world, session):
    """A grid's creation and rename each leave an entry with the actor and the values."""
    grid = client.post(
        "/v1/grids",
        json={"code": "GA", "name": "旧名", "centre": POINT, "community_id": world.a.community_id},
        headers=headers(world.a.dispatcher),
    ).json()
    client.patch(
        f"/v1/grids/{grid['id']}", json={"name": "新名"}, headers=headers(world.a.dispatcher)
    )
    entries = list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.entity_id == grid["id"]).order_by(AuditEntry.id)
        )
    )
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[0].actor_role == "dispatcher" and entries[0].actor_key_id is not None
    assert entries[1].before == {"name": "旧名"} and entries[1].after == {"name": "新名"}
    assert entries[1].community_id == world.a.community_id


def test_key_secrets_never_enter_the_trail(client, world, session):
    """An API key's hash is masked in its audit entry."""
    created = client.post(
        "/v1/api-keys",
        json={"name": "g", "role": "grid_app", "grid_ids": [world.a.grid_id]},
        headers=headers(world.a.dispatcher),
    ).json()
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity_id == created["id"]))
    assert entry.after["key_hash"] == "***"


def test_audit_entries_cannot_be_changed_or_deleted(client, world, session):
    """The database itself refuses UPDATE and DELETE on audit_entry."""
    client.patch(
        f"/v1/grids/{world.a.grid_id}", json={"name": "x"}, headers=headers(world.a.dispatcher)
    )
    with pytest.raises(DBAPIError):
        session.execute(text("UPDATE audit_entry SET action = 'forged'"))
    session.rollback()
    with pytest.raises(DBAPIError):
        session.execute(text("DELETE FROM audit_entry"))
    session.rollback()


def test_failed_request_leaves_no_audit_entry(client, world, session):
    """A refused change writes no audit entry either (same transaction)."""
    before = session.scalar(select(text("count(*)")).select_from(AuditEntry))
    client.post(
        "/v1/grids",
        json={"code": "G1", "name": "dup", "centre": POINT, "community_id": world.a.community_id},
        headers=headers(world.a.dispatcher),
    )
    assert session.scalar(select(text("count(*)")).select_from(AuditEntry)) == before


def test_dispatcher_reads_only_its_communities_trail(client, world):
    """B's dispatcher does not see entries about A's grid."""
    client.patch(
        f"/v1/grids/{world.a.grid_id}", json={"name": "x"}, headers=headers(world.a.dispatcher)
    )
    mine = client.get(
        f"/v1/audit-entries?entity_id={world.a.grid_id}", headers=headers(world.a.dispatcher)
    ).json()["items"]
    theirs = client.get(
        f"/v1/audit-entries?entity_id={world.a.grid_id}", headers=headers(world.b.dispatcher)
    ).json()["items"]
    assert [e["action"] for e in mine] == ["create", "update"] and theirs == []


def test_changing_a_responders_communities_is_audited(client, world, session):
    """Moving a responder to another community leaves an entry with the old and new sets."""
    body = {
        "kind": "volunteer",
        "name": "孙丽",
        "location": POINT,
        "radius_m": 3000,
        "travel_mode": "walk",
        "community_ids": [world.a.community_id],
    }
    responder = client.post("/v1/responders", json=body, headers=headers(world.admin)).json()
    both = sorted([world.a.community_id, world.b.community_id])
    moved = client.patch(
        f"/v1/responders/{responder['id']}",
        json={"community_ids": both},
        headers=headers(world.admin),
    )
    assert moved.status_code == 200, moved.text
    entries = list(
        session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity_id == responder["id"], AuditEntry.action == "update"
            )
        )
    )
    assert any(
        e.before == {"community_ids": [world.a.community_id]} and e.after == {"community_ids": both}
        for e in entries
    )
