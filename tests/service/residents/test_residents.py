"""Residents: registered by dispatchers and grid apps, each seeing only its own."""

import pytest

from service.auth.principal import Role
from service.places.models import Grid
from tests.service.conftest import add_key, headers, table_counts

HOME = {"type": "Point", "coordinates": [121.021, 30.701]}


def resident(world, **overrides):
    body = {
        "community_id": world.a.community_id,
        "grid_id": world.a.grid_id,
        "name": "王阿婆",
        "phone": "13800000001",
        "address": "当湖街道1幢101",
        "location": HOME,
        "tags": ["elderly", "lives_alone"],
        "notes": "高血压，需要每月配药",
    }
    return body | overrides


def create(client, world, key=None, **overrides):
    response = client.post(
        "/v1/residents",
        json=resident(world, **overrides),
        headers=headers(key or world.a.dispatcher),
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_dispatcher_registers_and_reads_a_resident(client, world, session):
    """Reads and echoes mask phone and address and withhold notes; a dispatcher's explicit
    reveal shows them in full and is audited."""
    from sqlalchemy import select

    from service.audit.models import AuditEntry

    created = create(client, world)
    assert created["location"] == HOME
    assert created["tags"] == ["elderly", "lives_alone"]
    assert (created["phone"], created["address"], created["notes"]) == (
        "138****0001",
        "当湖街道***",
        None,
    )
    assert created["masked"] is True
    fetched = client.get(f"/v1/residents/{created['id']}", headers=headers(world.a.dispatcher))
    assert fetched.status_code == 200 and fetched.json() == created
    listed = client.get("/v1/residents", headers=headers(world.a.dispatcher)).json()["items"]
    assert [r["phone"] for r in listed] == ["138****0001"]
    revealed = client.get(
        f"/v1/residents/{created['id']}?reveal=true", headers=headers(world.a.dispatcher)
    ).json()
    assert (revealed["phone"], revealed["address"], revealed["masked"]) == (
        "13800000001",
        "当湖街道1幢101",
        False,
    )
    reveals = session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_id == created["id"], AuditEntry.action == "reveal"
        )
    ).all()
    assert len(reveals) == 1 and reveals[0].actor_role == "dispatcher"
    # a grid app may register residents but never sees them in full
    refused = client.get(
        f"/v1/residents/{created['id']}?reveal=true", headers=headers(world.a.grid_app)
    )
    assert refused.status_code == 403


def test_patch_changes_only_given_fields(client, world):
    """PATCH updates location and tags and clears notes, leaving the rest alone."""
    created = create(client, world)
    moved = {"type": "Point", "coordinates": [121.03, 30.71]}
    response = client.patch(
        f"/v1/residents/{created['id']}",
        json={"location": moved, "tags": ["disabled"], "notes": None},
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["location"], body["tags"], body["notes"]) == (moved, ["disabled"], None)
    assert body["name"] == created["name"] and body["phone"] == created["phone"]


def test_personal_data_stays_out_of_the_audit_trail(client, world, session):
    """The audit entry of a new resident masks name, phone, address and notes."""
    from sqlalchemy import select

    from service.audit.models import AuditEntry

    created = create(client, world)
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity_id == created["id"]))
    assert entry is not None and entry.community_id == world.a.community_id
    assert all(entry.after[k] == "***" for k in ("name", "phone", "address", "notes"))
    assert "王阿婆" not in str(entry.after)


def test_list_filters(client, world, session):
    """The list filters by community, grid and tag."""
    other_grid = Grid(
        community_id=world.a.community_id, code="G1b", name="二网格", lon=121.0, lat=30.7
    )
    session.add(other_grid)
    session.commit()
    elder = create(client, world)
    child = create(client, world, grid_id=other_grid.id, tags=["child"])
    create(
        client,
        world,
        key=world.b.dispatcher,
        community_id=world.b.community_id,
        grid_id=None,
        tags=[],
    )
    admin = headers(world.admin)

    def ids(query):
        response = client.get(f"/v1/residents{query}", headers=admin)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert ids(f"?community_id={world.a.community_id}") == [elder["id"], child["id"]]
    assert ids(f"?grid_id={other_grid.id}") == [child["id"]]
    assert ids("?tag=lives_alone") == [elder["id"]]
    assert ids("?tag=child") == [child["id"]]
    assert len(ids("")) == 3


def test_unknown_tag_filter_is_422(client, world):
    """Filtering by a tag outside the vocabulary is refused."""
    response = client.get("/v1/residents?tag=rich", headers=headers(world.a.dispatcher))
    assert response.status_code == 422


def test_cursor_pages_through_everything_once(client, world):
    """Paging with limit=2 visits every resident exactly once, in creation order."""
    made = [create(client, world, name=f"居民{n}")["id"] for n in range(5)]
    seen, cursor = [], None
    while True:
        query = "/v1/residents?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(query, headers=headers(world.a.dispatcher)).json()
        assert len(page["items"]) <= 2
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made


def test_other_community_is_404_and_unlisted(client, world):
    """Community B's dispatcher neither sees, lists nor changes A's resident."""
    created = create(client, world)
    other = headers(world.b.dispatcher)
    assert client.get(f"/v1/residents/{created['id']}", headers=other).status_code == 404
    patched = client.patch(f"/v1/residents/{created['id']}", json={"name": "x"}, headers=other)
    assert patched.status_code == 404
    assert patched.headers["content-type"].startswith("application/problem+json")
    assert client.get("/v1/residents", headers=other).json()["items"] == []


def test_grid_app_sees_only_its_grids(client, world, session):
    """A grid app reads residents of its grid; one in another grid of its community is 404."""
    other_grid = Grid(
        community_id=world.a.community_id, code="G1b", name="二网格", lon=121.0, lat=30.7
    )
    session.add(other_grid)
    session.commit()
    mine = create(client, world, key=world.a.grid_app)
    elsewhere = create(client, world, grid_id=other_grid.id)
    app = headers(world.a.grid_app)
    assert [r["id"] for r in client.get("/v1/residents", headers=app).json()["items"]] == [
        mine["id"]
    ]
    assert client.get(f"/v1/residents/{elsewhere['id']}", headers=app).status_code == 404
    assert client.get(f"/v1/residents/{mine['id']}", headers=app).status_code == 200


def test_grid_app_cannot_create_outside_its_grids(client, world, session):
    """A grid app naming another grid of its community gets 422 'unknown grid', writing nothing."""
    other_grid = Grid(
        community_id=world.a.community_id, code="G1b", name="二网格", lon=121.0, lat=30.7
    )
    session.add(other_grid)
    session.commit()
    before = table_counts(session)
    response = client.post(
        "/v1/residents",
        json=resident(world, grid_id=other_grid.id),
        headers=headers(world.a.grid_app),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "grid_id"
    assert "unknown grid" in response.json()["detail"]
    assert table_counts(session) == before


def test_grid_app_must_name_a_grid(client, world, session):
    """A grid app's resident without a grid would be invisible to it, so it is refused."""
    before = table_counts(session)
    response = client.post(
        "/v1/residents", json=resident(world, grid_id=None), headers=headers(world.a.grid_app)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "grid_id"
    assert table_counts(session) == before


def test_grid_app_cannot_move_a_resident_away(client, world, session):
    """A grid app cannot move its resident into a grid it does not hold."""
    other_grid = Grid(
        community_id=world.a.community_id, code="G1b", name="二网格", lon=121.0, lat=30.7
    )
    session.add(other_grid)
    session.commit()
    mine = create(client, world, key=world.a.grid_app)
    response = client.patch(
        f"/v1/residents/{mine['id']}",
        json={"grid_id": other_grid.id},
        headers=headers(world.a.grid_app),
    )
    assert response.status_code == 422
    assert (
        client.get(f"/v1/residents/{mine['id']}", headers=headers(world.a.grid_app)).json()[
            "grid_id"
        ]
        == world.a.grid_id
    )


def test_responder_role_is_403(client, world, session):
    """Responder keys may not open the resident endpoints at all."""
    key = add_key(session, Role.responder)
    session.commit()
    created = create(client, world)
    assert client.get("/v1/residents", headers=headers(key)).status_code == 403
    assert client.get(f"/v1/residents/{created['id']}", headers=headers(key)).status_code == 403
    assert (
        client.post("/v1/residents", json=resident(world), headers=headers(key)).status_code == 403
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"location": {"type": "Point", "coordinates": [181, 30]}}, "location.coordinates.0"),
        ({"location": {"type": "Point", "coordinates": [121, -91]}}, "location.coordinates.1"),
        ({"tags": ["elderly", "rich"]}, "tags.1"),
        ({"nickname": "阿婆"}, "nickname"),
        ({"name": None}, "name"),
        ({"community_id": "no-such-community"}, "community_id"),
        ({"grid_id": "no-such-grid"}, "grid_id"),
        ({"phone": "call me"}, "phone"),
    ],
)
def test_bad_input_is_422_and_writes_nothing(client, world, session, overrides, field):
    """Each kind of bad resident input is a 422 naming the field, with no row written."""
    before = table_counts(session)
    response = client.post(
        "/v1/residents", json=resident(world, **overrides), headers=headers(world.a.dispatcher)
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]
    assert table_counts(session) == before


def test_other_communitys_grid_is_422(client, world, session):
    """An admin may see every grid, but the grid must belong to the resident's community."""
    before = table_counts(session)
    response = client.post(
        "/v1/residents", json=resident(world, grid_id=world.b.grid_id), headers=headers(world.admin)
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "grid_id"
    assert table_counts(session) == before


def test_explicit_null_on_required_patch_field_is_422(client, world, session):
    """PATCH with name or location null is refused rather than clearing them."""
    created = create(client, world)
    before = table_counts(session)
    for field in ("name", "location", "tags"):
        response = client.patch(
            f"/v1/residents/{created['id']}",
            json={field: None},
            headers=headers(world.a.dispatcher),
        )
        assert response.status_code == 422, field
    assert table_counts(session) == before
