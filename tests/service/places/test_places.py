"""Places: the district → street → community → grid hierarchy and who may change it."""

from tests.service.conftest import headers

POINT = {"type": "Point", "coordinates": [121.03, 30.71]}


def test_admin_builds_the_hierarchy(client, world):
    """An admin creates a street, a community in it, and a dispatcher a grid in that community."""
    admin = headers(world.admin)
    street = client.post(
        "/v1/streets",
        json={"code": "S9", "name": "钟埭街道", "centre": POINT, "district_id": world.district_id},
        headers=admin,
    )
    assert street.status_code == 201, street.text
    community = client.post(
        "/v1/communities",
        json={"code": "C9", "name": "新社区", "centre": POINT, "street_id": street.json()["id"]},
        headers=admin,
    )
    assert community.status_code == 201
    body = community.json()
    assert body["centre"] == POINT and body["auto_dispatch"] is False
    grid = client.post(
        "/v1/grids",
        json={"code": "G9", "name": "一网格", "centre": POINT, "community_id": body["id"]},
        headers=admin,
    )
    assert grid.status_code == 201
    assert grid.json()["community_id"] == body["id"]


def test_dispatcher_cannot_create_communities(client, world):
    """Creating communities is an admin's job: a dispatcher gets 403."""
    response = client.post(
        "/v1/communities",
        json={"code": "C9", "name": "x", "centre": POINT, "street_id": world.a.street_id},
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 403


def test_duplicate_code_is_409(client, world):
    """Codes are unique: a second grid with code G1 is refused."""
    response = client.post(
        "/v1/grids",
        json={"code": "G1", "name": "dup", "centre": POINT, "community_id": world.a.community_id},
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 409


def test_dispatcher_updates_own_community(client, world):
    """A dispatcher can switch its community to automatic dispatch."""
    response = client.patch(
        f"/v1/communities/{world.a.community_id}",
        json={"auto_dispatch": True},
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 200
    assert response.json()["auto_dispatch"] is True


def test_grid_app_sees_only_its_grid(client, world, session):
    """A grid app lists just its own grid, even inside its own community."""
    from service.places.models import Grid

    session.add(
        Grid(community_id=world.a.community_id, code="G1b", name="另一网格", lon=121.0, lat=30.7)
    )
    session.commit()
    response = client.get("/v1/grids", headers=headers(world.a.grid_app))
    assert [g["id"] for g in response.json()["items"]] == [world.a.grid_id]


def test_cursor_pages_through_everything_once(client, world):
    """Paging with limit=1 visits every visible grid exactly once."""
    admin = headers(world.admin)
    for n in range(3):
        client.post(
            "/v1/grids",
            json={
                "code": f"GP{n}",
                "name": "p",
                "centre": POINT,
                "community_id": world.a.community_id,
            },
            headers=admin,
        )
    seen, cursor = [], None
    while True:
        query = "/v1/grids?limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(query, headers=admin).json()
        assert len(page["items"]) <= 1
        seen += [g["id"] for g in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5


def test_street_of_other_community_is_hidden(client, world):
    """B's street is invisible to A's dispatcher: 404 and absent from the list."""
    assert (
        client.get(
            f"/v1/streets/{world.b.street_id}", headers=headers(world.a.dispatcher)
        ).status_code
        == 404
    )
    listed = client.get("/v1/streets", headers=headers(world.a.dispatcher)).json()["items"]
    assert [s["id"] for s in listed] == [world.a.street_id]
