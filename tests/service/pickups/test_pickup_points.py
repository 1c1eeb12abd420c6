"""Pickup points: kept by their community's dispatchers, validated, audited, paged."""

import pytest
from sqlalchemy import select

from service.audit.models import AuditEntry
from tests.service.conftest import headers, table_counts

PHARMACY = {"type": "Point", "coordinates": [121.021, 30.702]}


def body(side, **fields):
    return {
        "community_id": side.community_id,
        "name": "东湖大药房",
        "location": PHARMACY,
        "opens_at": "08:00",
        "closes_at": "20:00",
        "stock": {"medicine_delivery": 40},
        **fields,
    }


def create(client, side, key=None, **fields):
    return client.post(
        "/v1/pickup-points", json=body(side, **fields), headers=headers(key or side.dispatcher)
    )


def test_create_read_update_retire(client, world):
    """A dispatcher creates, reads, patches and retires a point of their community."""
    me = headers(world.a.dispatcher)
    made = create(client, world.a)
    assert made.status_code == 201, made.text
    point = made.json()
    assert point["location"] == PHARMACY and point["stock"] == {"medicine_delivery": 40}
    assert (point["opens_at"], point["closes_at"], point["active"]) == ("08:00", "20:00", True)
    got = client.get(f"/v1/pickup-points/{point['id']}", headers=me)
    assert got.status_code == 200 and got.json() == point
    patched = client.patch(
        f"/v1/pickup-points/{point['id']}",
        json={"closes_at": "24:00", "stock": {"medicine_delivery": 5, "meal_delivery": 0}},
        headers=me,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["closes_at"] == "24:00"
    assert patched.json()["stock"] == {"medicine_delivery": 5, "meal_delivery": 0}
    retired = client.delete(f"/v1/pickup-points/{point['id']}", headers=me)
    assert retired.status_code == 200 and retired.json()["active"] is False
    listed = client.get("/v1/pickup-points", params={"active": True}, headers=me).json()
    assert listed["items"] == []


def test_list_filters_by_community_and_pages(client, world):
    """The admin sees both communities' points; the filter and the pages narrow them."""
    ids = [create(client, world.a, world.admin).json()["id"] for _ in range(3)]
    other = create(client, world.b, world.admin).json()["id"]
    admin = headers(world.admin)
    mine = client.get(
        "/v1/pickup-points", params={"community_id": world.a.community_id}, headers=admin
    ).json()
    assert [p["id"] for p in mine["items"]] == ids
    first = client.get("/v1/pickup-points", params={"limit": 2}, headers=admin).json()
    rest = client.get(
        "/v1/pickup-points", params={"limit": 2, "cursor": first["next_cursor"]}, headers=admin
    ).json()
    assert [p["id"] for p in first["items"] + rest["items"]] == [*ids, other]
    assert rest["next_cursor"] is None
    seen_by_b = client.get("/v1/pickup-points", headers=headers(world.b.dispatcher)).json()
    assert [p["id"] for p in seen_by_b["items"]] == [other]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"opens_at": "8:00"}, "opens_at"),
        ({"closes_at": "24:30"}, "closes_at"),
        ({"opens_at": "20:00", "closes_at": "08:00"}, None),
        ({"stock": {"medicine_delivery": -1}}, "stock"),
        ({"stock": {"insulin": 3}}, "stock"),
        ({"community_id": "no-such-community"}, "community_id"),
    ],
)
def test_bad_input_is_a_problem_and_writes_nothing(client, world, session, fields, field):
    """Bad hours, negative stock, an item outside the catalogue or an unknown community: 422."""
    before = table_counts(session)
    response = create(client, world.a, **fields)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if field is not None:
        assert any(e["field"].startswith(field) for e in response.json()["errors"]), response.text
    assert table_counts(session) == before


def test_a_patch_cannot_close_before_opening(client, world, session):
    """Hours are checked against the stored half too; nothing changes."""
    point = create(client, world.a).json()
    response = client.patch(
        f"/v1/pickup-points/{point['id']}",
        json={"closes_at": "07:00"},
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "closes_at"
    got = client.get(f"/v1/pickup-points/{point['id']}", headers=headers(world.a.dispatcher))
    assert got.json()["closes_at"] == "20:00"


def test_other_community_cannot_see_or_write(client, world):
    """B's dispatcher: 404 on A's point, 422 when creating one in A."""
    point = create(client, world.a).json()
    other = headers(world.b.dispatcher)
    for method, json in (("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)):
        response = client.request(
            method, f"/v1/pickup-points/{point['id']}", json=json, headers=other
        )
        assert response.status_code == 404, (method, response.text)
    assert create(client, world.a, world.b.dispatcher).status_code == 422
    assert (
        client.get(
            f"/v1/pickup-points/{point['id']}", headers=headers(world.a.grid_app)
        ).status_code
        == 403
    )


def test_changes_are_audited_under_the_community(client, world, session):
    """Create and stock changes leave audit entries scoped to the point's community."""
    point = create(client, world.a).json()
    client.patch(
        f"/v1/pickup-points/{point['id']}",
        json={"stock": {"medicine_delivery": 39}},
        headers=headers(world.a.dispatcher),
    )
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.entity_id == point["id"]).order_by(AuditEntry.at)
    ).all()
    assert [(e.action, e.community_id) for e in entries] == [
        ("create", world.a.community_id),
        ("update", world.a.community_id),
    ]
    assert entries[1].after["stock"] == {"medicine_delivery": 39}
