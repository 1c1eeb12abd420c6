"""Places endpoints through the whole stack."""

from tests.service.conftest import headers


def test_dispatcher_lists_only_own_community(client, world):
    """A dispatcher's community list holds its own community and not the other one."""
    response = client.get("/v1/communities", headers=headers(world.a.dispatcher))
    assert response.status_code == 200
    assert [c["id"] for c in response.json()["items"]] == [world.a.community_id]


def test_other_community_is_not_found(client, world):
    """Another community's object answers 404, as if it did not exist."""
    response = client.get(
        f"/v1/communities/{world.b.community_id}", headers=headers(world.a.dispatcher)
    )
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
