"""Requests the API cannot parse get a problem document, and nothing is written."""

from tests.service.conftest import headers, table_counts

GRID = {"code": "G9", "name": "九号网格", "centre": {"type": "Point", "coordinates": [121.0, 30.7]}}


def _grid(world):
    return {**GRID, "community_id": world.a.community_id}


def test_malformed_json_is_400(client, world, session):
    """A body that is not JSON answers 400 problem+json."""
    before = table_counts(session)
    response = client.post(
        "/v1/grids",
        content=b'{"code": "G9",',
        headers={**headers(world.a.dispatcher), "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Malformed request"
    assert table_counts(session) == before


def test_wrong_content_type_is_415(client, world, session):
    """A form-encoded body is refused with 415 before anything runs."""
    before = table_counts(session)
    response = client.post(
        "/v1/grids",
        content=b"code=G9",
        headers={
            **headers(world.a.dispatcher),
            "content-type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 415
    assert response.json()["status"] == 415
    assert table_counts(session) == before


def test_unknown_field_is_422_naming_it(client, world, session):
    """An unexpected field is refused and named, not silently dropped."""
    before = table_counts(session)
    response = client.post(
        "/v1/grids", json={**_grid(world), "colour": "red"}, headers=headers(world.a.dispatcher)
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["colour"]
    assert table_counts(session) == before


def test_coordinates_out_of_range_are_422(client, world, session):
    """Latitude 95 is not on Earth: the coordinate is named in the error."""
    before = table_counts(session)
    body = {**_grid(world), "centre": {"type": "Point", "coordinates": [121.0, 95.0]}}
    response = client.post("/v1/grids", json=body, headers=headers(world.a.dispatcher))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "centre.coordinates.1"
    assert table_counts(session) == before


def test_unknown_community_is_422(client, world, session):
    """A grid in a community the caller cannot see is refused as unknown."""
    before = table_counts(session)
    body = {**GRID, "community_id": world.b.community_id}
    response = client.post("/v1/grids", json=body, headers=headers(world.a.dispatcher))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "community_id"
    assert table_counts(session) == before


def test_oversized_page_is_422(client, world):
    """A page larger than the maximum is refused, not silently truncated."""
    response = client.get("/v1/grids?limit=100000", headers=headers(world.a.dispatcher))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "limit"


def test_forged_cursor_is_422(client, world):
    """A cursor this service did not issue is refused."""
    response = client.get("/v1/grids?cursor=%%%", headers=headers(world.a.dispatcher))
    assert response.status_code == 422


def test_unknown_route_is_problem_json(client):
    """Even a 404 for an unknown path is a problem document."""
    response = client.get("/v1/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_explicit_null_on_required_field_is_422(client, world, session):
    """PATCH with name: null is refused instead of blanking the name."""
    before = table_counts(session)
    response = client.patch(
        f"/v1/grids/{world.a.grid_id}", json={"name": None}, headers=headers(world.a.dispatcher)
    )
    assert response.status_code == 422
    assert table_counts(session) == before


def test_a_value_the_database_refuses_is_a_422_and_nothing_is_written(client, world, session):
    """PostgreSQL cannot store a NUL character in text (found by the contract test); the
    answer is a problem document, not a server error. SQLite stores it."""
    from sqlalchemy import func, select

    from service.residents.models import Resident
    from tests.conftest import BACKEND

    response = client.post(
        "/v1/residents",
        json={
            "community_id": world.a.community_id,
            "name": "王\u0000阿婆",
            "location": {"type": "Point", "coordinates": [121.03, 30.71]},
        },
        headers=headers(world.a.dispatcher),
    )
    if BACKEND != "postgresql":
        assert response.status_code == 201
        return
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "NUL" in response.json()["detail"]
    assert session.scalar(select(func.count()).select_from(Resident)) == 0
