"""Responders: the four kinds, their defaults, updates, filters and paging."""

import pytest

from tests.service.conftest import headers
from tests.service.responders import bodies


def create(client, key, body):
    response = client.post("/v1/responders", json=body, headers=headers(key))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize(
    ("make", "speed"),
    [
        (bodies.volunteer, 18.0),
        (bodies.social_worker, 12.0),
        (bodies.organization, 25.0),
        (bodies.community_staff, 4.5),
    ],
)
def test_each_kind_is_created_with_its_default_speed(client, world, make, speed):
    """Every kind can be registered; without a speed it travels at its mode's default."""
    body = make(world.a.community_id)
    created = create(client, world.a.dispatcher, body)
    assert created["kind"] == body["kind"]
    assert created["speed_kmh"] == speed
    assert created["community_ids"] == [world.a.community_id]
    assert created["location"] == bodies.BASE
    assert (created["points"], created["hours_served"], created["active"]) == (0, 0, True)
    fetched = client.get(f"/v1/responders/{created['id']}", headers=headers(world.a.dispatcher))
    assert fetched.status_code == 200
    assert fetched.json() == created


def test_volunteer_fields_round_trip(client, world):
    """A volunteer keeps its groups, party membership, shifts, caps and capacity."""
    created = create(client, world.a.dispatcher, bodies.volunteer(world.a.community_id))
    assert created["volunteer_groups"] == ["daily_care"]
    assert created["is_party_member"] is True
    assert created["weekly_shifts"] == [{"weekday": 0, "start": "08:00", "end": "12:00"}]
    assert (created["max_tasks_per_day"], created["max_minutes_per_week"]) == (5, None)
    assert created["load_capacity"] == 20
    assert created["licence_level"] == "none"


def test_explicit_speed_wins(client, world):
    """A speed given at creation overrides the travel mode's default."""
    body = bodies.volunteer(world.a.community_id, speed_kmh=9.5)
    assert create(client, world.a.dispatcher, body)["speed_kmh"] == 9.5


def test_responder_serving_two_communities(client, world):
    """An admin registers one responder for both communities; each dispatcher sees it."""
    body = bodies.social_worker(world.a.community_id)
    body["community_ids"] = [world.a.community_id, world.b.community_id]
    created = create(client, world.admin, body)
    assert sorted(created["community_ids"]) == sorted([world.a.community_id, world.b.community_id])
    for key in (world.a.dispatcher, world.b.dispatcher):
        response = client.get(f"/v1/responders/{created['id']}", headers=headers(key))
        assert response.status_code == 200


def test_patch_updates_fields_and_resets_speed_with_mode(client, world):
    """PATCH changes given fields; a new travel mode brings its default speed."""
    created = create(client, world.a.dispatcher, bodies.volunteer(world.a.community_id))
    response = client.patch(
        f"/v1/responders/{created['id']}",
        json={"travel_mode": "car", "radius_m": 8000, "zone_clearances": ["z1"], "phone": None},
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["travel_mode"], body["speed_kmh"], body["radius_m"]) == ("car", 25.0, 8000)
    assert body["zone_clearances"] == ["z1"] and body["phone"] is None
    assert body["name"] == created["name"]


def test_patch_replaces_communities(client, world):
    """An admin moves a responder from community A to B."""
    created = create(client, world.admin, bodies.volunteer(world.a.community_id))
    response = client.patch(
        f"/v1/responders/{created['id']}",
        json={"community_ids": [world.b.community_id]},
        headers=headers(world.admin),
    )
    assert response.status_code == 200, response.text
    assert response.json()["community_ids"] == [world.b.community_id]
    gone = client.get(f"/v1/responders/{created['id']}", headers=headers(world.a.dispatcher))
    assert gone.status_code == 404


def test_dispatcher_keeps_communities_it_cannot_see(client, world):
    """A dispatcher replacing communities cannot drop one it does not see."""
    body = bodies.volunteer(world.a.community_id)
    body["community_ids"] = [world.a.community_id, world.b.community_id]
    created = create(client, world.admin, body)
    response = client.patch(
        f"/v1/responders/{created['id']}",
        json={"community_ids": [world.a.community_id]},
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 200
    assert sorted(response.json()["community_ids"]) == sorted(body["community_ids"])


def test_organization_with_known_categories(client, world, session):
    """An organization lists the catalogue categories it serves (the seeded menu has them)."""
    body = bodies.organization(world.a.community_id, service_categories=["meal_delivery"])
    assert create(client, world.a.dispatcher, body)["service_categories"] == ["meal_delivery"]


def test_list_filters(client, world):
    """The list filters by kind, community, active, qualification and volunteer group."""
    admin = world.admin
    daily = create(client, admin, bodies.volunteer(world.a.community_id))
    emergency = create(
        client,
        admin,
        bodies.volunteer(world.b.community_id, volunteer_groups=["emergency_team"], active=False),
    )
    worker = create(client, admin, bodies.social_worker(world.a.community_id))
    staff = create(client, admin, bodies.community_staff(world.b.community_id))

    def ids(query):
        response = client.get(f"/v1/responders{query}", headers=headers(admin))
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["items"]]

    assert ids("?kind=volunteer") == [daily["id"], emergency["id"]]
    assert ids(f"?community_id={world.b.community_id}") == [emergency["id"], staff["id"]]
    assert ids("?active=false") == [emergency["id"]]
    assert ids("?active=true") == [daily["id"], worker["id"], staff["id"]]
    assert ids("?qualification=counselling") == [worker["id"]]
    assert ids("?volunteer_group=emergency_team") == [emergency["id"]]
    assert ids("?kind=volunteer&volunteer_group=daily_care") == [daily["id"]]


def test_unknown_kind_filter_is_422(client, world):
    """Filtering by a kind that does not exist is refused."""
    response = client.get("/v1/responders?kind=robot", headers=headers(world.admin))
    assert response.status_code == 422


def test_cursor_pages_through_everything_once(client, world):
    """Paging with limit=2 visits every responder exactly once, in creation order."""
    made = [
        create(
            client, world.a.dispatcher, bodies.volunteer(world.a.community_id, name=f"志愿者{n}")
        )["id"]
        for n in range(5)
    ]
    seen, cursor = [], None
    while True:
        query = "/v1/responders?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(query, headers=headers(world.a.dispatcher)).json()
        assert len(page["items"]) <= 2
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made


def test_audit_masks_name_and_phone(client, world, session):
    """The responder's audit entry masks name and phone and is scoped to its community."""
    from sqlalchemy import select

    from service.audit.models import AuditEntry

    created = create(client, world.a.dispatcher, bodies.volunteer(world.a.community_id))
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity_id == created["id"]))
    assert entry is not None and entry.community_id == world.a.community_id
    assert entry.after["name"] == "***" and entry.after["phone"] == "***"
