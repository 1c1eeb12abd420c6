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


def _grid(world, code: str):
    from service.places.models import Grid

    return Grid(community_id=world.a.community_id, code=code, name=code, lon=121.03, lat=30.71)


def _trail(session, ids) -> list[tuple[str, str]]:
    """(entity id, action) of the entries about these rows, as committed (a fresh read)."""
    from service.db import get_sessionmaker

    with get_sessionmaker()() as reader:
        rows = reader.execute(
            select(AuditEntry.entity_id, AuditEntry.action)
            .where(AuditEntry.entity_id.in_(ids))
            .order_by(AuditEntry.id)
        )
        return [tuple(row) for row in rows]


def test_entries_of_several_flushes_are_written_at_the_commit(world, session):
    """A transaction's entries are held until its commit, then all written, in order, in
    one insert; a savepoint rolled back alone takes only its own entries with it."""
    from sqlalchemy import event

    kept, dropped = _grid(world, "K1"), _grid(world, "D1")
    session.add(kept)
    session.flush()
    kept.name = "renamed"
    session.flush()
    savepoint = session.begin_nested()
    session.add(dropped)
    session.flush()
    savepoint.rollback()
    inserts = []
    event.listen(
        session.get_bind(), "before_cursor_execute",
        lambda *args: inserts.append(args[2]) if "INSERT INTO audit_entry" in args[2] else None,
    )
    assert _trail(session, [kept.id, dropped.id]) == []  # nothing before the commit
    session.commit()
    assert len(inserts) == 1
    assert _trail(session, [kept.id, dropped.id]) == [(kept.id, "create"), (kept.id, "update")]


def test_a_rolled_back_transaction_leaves_no_entries_for_the_next(world, session):
    """Entries held for a transaction that rolls back are forgotten, not written by the
    session's next commit."""
    lost, later = _grid(world, "L1"), _grid(world, "L2")
    session.add(lost)
    session.flush()
    session.rollback()
    session.add(later)
    session.commit()
    assert _trail(session, [lost.id, later.id]) == [(later.id, "create")]
