"""The responder who accepted an assignment sees the resident's full contact; each look is
audited; nobody else, and not before acceptance."""

from sqlalchemy import select

from service.audit.models import AuditEntry
from tests.service.conftest import headers
from tests.service.dispatch.helpers import auto_dispatch, move, setup_category, submit, volunteer


def test_the_assigned_responder_sees_the_contact_once_accepted(client, session, world):
    auto_dispatch(session, world.a)
    setup_category(client, world)
    _, key = volunteer(client, session, world, world.a)
    _, other_key = volunteer(
        client, session, world, world.a, location={"type": "Point", "coordinates": [121.05, 30.7]}
    )
    resident = client.post(
        "/v1/residents",
        json={
            "community_id": world.a.community_id,
            "name": "张桂英",
            "phone": "13800000001",
            "address": "当湖街道1幢101",
            "notes": "独居，耳背",
            "location": {"type": "Point", "coordinates": [121.03, 30.71]},
        },
        headers=headers(world.a.dispatcher),
    ).json()
    created = submit(client, world.a, resident_id=resident["id"])
    aid = created["dispatch"]["offers"][0]["assignment_id"]
    contact = f"/v1/assignments/{aid}/contact"
    assert client.get(contact, headers=headers(key)).status_code == 409  # only offered yet
    assert move(client, key, aid, "accept").status_code == 200
    got = client.get(contact, headers=headers(key))
    assert got.status_code == 200, got.text
    assert (got.json()["phone"], got.json()["address"], got.json()["notes"]) == (
        "13800000001",
        "当湖街道1幢101",
        "独居，耳背",
    )
    assert client.get(contact, headers=headers(other_key)).status_code == 404
    assert client.get(contact, headers=headers(world.b.dispatcher)).status_code == 404
    assert client.get(contact, headers=headers(world.a.dispatcher)).status_code == 200
    reveals = session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_id == resident["id"], AuditEntry.action == "reveal"
        )
    ).all()
    assert [r.actor_role for r in reveals] == ["responder", "dispatcher"]
    assert all(r.after["why"] for r in reveals)
