"""Service catalogue endpoints: an admin-only menu every role can read."""

import pytest

from service.auth.principal import Role
from service.catalogue.defaults import DEFAULT_CATEGORIES
from service.catalogue.schemas import CategoryCreate
from tests.service.conftest import add_key, headers, table_counts

URL = "/v1/service-categories"
VOLUNTEERS = {"role": "volunteer", "count": 2}


def _body(code: str = "dog_walking", **extra: object) -> dict[str, object]:
    return {
        "code": code,
        "name_zh": "遛狗",
        "name_en": "Dog walking",
        "default_duration_min": 30,
        **extra,
    }


def _create(client, world, code: str = "dog_walking", **extra: object) -> dict:
    response = client.post(URL, json=_body(code, **extra), headers=headers(world.admin))
    assert response.status_code == 201, response.text
    return response.json()


def _assert_refused(response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert field in [e["field"] for e in response.json()["errors"]]


def test_admin_creates_category_with_defaults(client, world):
    """An admin creates a category; omitted fields take the documented defaults."""
    body = _create(client, world)
    assert body["code"] == "dog_walking"
    assert body["required_qualifications"] == []
    assert body["min_licence"] == "none"
    assert body["default_team"] == []
    assert body["needs_fund"] is False
    assert body["active"] is True


def test_category_with_team_and_licence_round_trips(client, world):
    """A "1+2+N" team, qualifications and a licence floor are stored and read back."""
    team = [{"role": "community_staff", "count": 1}, {"role": "social_worker", "count": 2}]
    _create(
        client,
        world,
        "family_mediation",
        default_team=team,
        required_qualifications=["mediation"],
        min_licence="intermediate",
    )
    response = client.get(f"{URL}/family_mediation", headers=headers(world.a.grid_app))
    assert response.status_code == 200
    body = response.json()
    assert body["default_team"] == team
    assert body["required_qualifications"] == ["mediation"]
    assert body["min_licence"] == "intermediate"


@pytest.mark.parametrize("reader", ["dispatcher", "grid_app"])
def test_every_role_reads_the_catalogue(client, world, reader):
    """Dispatchers and grid apps of any community read the same menu."""
    _create(client, world)
    key = getattr(world.b, reader)
    listed = client.get(URL, headers=headers(key))
    assert listed.status_code == 200
    assert "dog_walking" in [c["code"] for c in listed.json()["items"]]
    assert client.get(f"{URL}/dog_walking", headers=headers(key)).status_code == 200


def test_responder_reads_the_catalogue(client, world, session):
    """A responder key reads categories too: the menu is not community-scoped."""
    _create(client, world)
    key = add_key(session, Role.responder)
    session.commit()
    response = client.get(f"{URL}/dog_walking", headers=headers(key))
    assert response.status_code == 200
    assert response.json()["name_en"] == "Dog walking"


def test_admin_updates_category(client, world):
    """PATCH changes only the fields sent."""
    _create(client, world)
    response = client.patch(
        f"{URL}/dog_walking",
        json={"default_duration_min": 45, "active": False},
        headers=headers(world.admin),
    )
    assert response.status_code == 200
    body = response.json()
    assert body["default_duration_min"] == 45
    assert body["active"] is False
    assert body["name_zh"] == "遛狗"


@pytest.mark.parametrize("role", ["dispatcher", "grid_app"])
def test_non_admin_cannot_create(client, world, session, role):
    """Only an admin adds to the menu; anyone else gets 403 and nothing is written."""
    before = table_counts(session)
    response = client.post(URL, json=_body(), headers=headers(getattr(world.a, role)))
    _assert_refused(response, 403)
    assert table_counts(session) == before


def test_non_admin_cannot_update(client, world, session):
    """A dispatcher's PATCH is refused with 403 and leaves the category unchanged."""
    _create(client, world)
    response = client.patch(
        f"{URL}/dog_walking", json={"active": False}, headers=headers(world.a.dispatcher)
    )
    _assert_refused(response, 403)
    assert client.get(f"{URL}/dog_walking", headers=headers(world.admin)).json()["active"] is True


def test_duplicate_code_conflicts(client, world, session):
    """A second category with the same code is 409 and writes nothing."""
    _create(client, world)
    before = table_counts(session)
    response = client.post(URL, json=_body(), headers=headers(world.admin))
    _assert_refused(response, 409)
    assert table_counts(session) == before


def test_unknown_code_is_not_found(client, world):
    """GET and PATCH of a code nobody created answer 404."""
    assert client.get(f"{URL}/no_such", headers=headers(world.admin)).status_code == 404
    response = client.patch(f"{URL}/no_such", json={"active": False}, headers=headers(world.admin))
    _assert_refused(response, 404)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"default_duration_min": 0}, "default_duration_min"),
        ({"default_duration_min": -5}, "default_duration_min"),
        ({"min_licence": "doctor"}, "min_licence"),
        ({"default_team": [{"role": "volunteer", "count": 0}]}, "default_team.0.count"),
        ({"default_team": [{"role": "pilot", "count": 1}]}, "default_team.0.role"),
        ({"default_team": [VOLUNTEERS, VOLUNTEERS]}, "default_team"),
        ({"required_qualifications": ["Not A Tag"]}, "required_qualifications.0"),
        ({"colour": "red"}, "colour"),
        ({"code": "has space"}, "code"),
        ({"name_zh": None}, "name_zh"),
    ],
)
def test_bad_input_is_refused(client, world, session, extra, field):
    """Each malformed field is a 422 naming it, and nothing is written."""
    before = table_counts(session)
    response = client.post(URL, json=_body(**extra), headers=headers(world.admin))
    _assert_refused(response, 422, field)
    assert table_counts(session) == before


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"default_duration_min": None}, "default_duration_min"),
        ({"active": None}, "active"),
        ({"code": "renamed"}, "code"),
        ({"default_duration_min": 0}, "default_duration_min"),
    ],
)
def test_bad_update_is_refused(client, world, session, patch, field):
    """PATCH refuses explicit nulls, the immutable code and out-of-range values (422)."""
    _create(client, world)
    before = table_counts(session)
    response = client.patch(f"{URL}/dog_walking", json=patch, headers=headers(world.admin))
    _assert_refused(response, 422, field)
    assert table_counts(session) == before


def test_list_filters_on_active(client, world):
    """``active`` keeps only active (or only inactive) categories."""
    _create(client, world, "dog_walking")
    _create(client, world, "kite_repair", active=False)
    active = client.get(URL, params={"active": True}, headers=headers(world.admin)).json()
    inactive = client.get(URL, params={"active": False}, headers=headers(world.admin)).json()
    active_codes = [c["code"] for c in active["items"]]
    inactive_codes = [c["code"] for c in inactive["items"]]
    assert "dog_walking" in active_codes and "kite_repair" not in active_codes
    assert "kite_repair" in inactive_codes and "dog_walking" not in inactive_codes


def test_list_pages_with_cursor(client, world):
    """Following next_cursor visits every category once."""
    codes = {f"test_cat_{i}" for i in range(5)}
    for code in sorted(codes):
        _create(client, world, code)
    seen: list[str] = []
    params: dict[str, object] = {"limit": 2}
    while True:
        page = client.get(URL, params=params, headers=headers(world.admin)).json()
        assert len(page["items"]) <= 2
        seen += [c["code"] for c in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert codes <= set(seen)
    assert len(seen) == len(set(seen))


def test_default_categories_are_valid_input():
    """Every seeded category would pass the create schema, and the codes are unique."""
    for row in DEFAULT_CATEGORIES:
        CategoryCreate(**row)
    codes = [row["code"] for row in DEFAULT_CATEGORIES]
    assert len(codes) == len(set(codes)) == 11
    mediation = next(r for r in DEFAULT_CATEGORIES if r["code"] == "dispute_mediation")
    assert sum(slot["count"] for slot in mediation["default_team"]) == 5
    assert next(r for r in DEFAULT_CATEGORIES if r["code"] == "micro_wish")["needs_fund"]
