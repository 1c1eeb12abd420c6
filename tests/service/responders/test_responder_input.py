"""Bad responder input: each is a 422 naming the field, and nothing is written."""

import pytest

from tests.service.conftest import headers, table_counts
from tests.service.responders import bodies

SQUARE = [[121.0, 30.6], [121.1, 30.6], [121.1, 30.8], [121.0, 30.6]]


@pytest.mark.parametrize(
    ("make", "overrides", "field"),
    [
        (
            bodies.volunteer,
            {"location": {"type": "Point", "coordinates": [200, 30]}},
            "location.coordinates.0",
        ),
        (
            bodies.volunteer,
            {"location": {"type": "Point", "coordinates": [121, 95]}},
            "location.coordinates.1",
        ),
        (
            bodies.organization,
            {"coverage_area": {"type": "Polygon", "coordinates": [[[121, 91], *SQUARE[1:]]]}},
            "coverage_area.coordinates.0.0.1",
        ),
        (bodies.volunteer, {"radius_m": -1}, "radius_m"),
        (bodies.volunteer, {"load_capacity": -5}, "load_capacity"),
        (bodies.volunteer, {"max_minutes_per_week": -1}, "max_minutes_per_week"),
        (bodies.volunteer, {"speed_kmh": 0}, "speed_kmh"),
        (bodies.volunteer, {"community_ids": ["no-such-community"]}, "community_ids.0"),
        (bodies.volunteer, {"community_ids": []}, "community_ids"),
        (bodies.volunteer, {"favourite_colour": "red"}, "favourite_colour"),
        (bodies.volunteer, {"points": 100}, "points"),
        (bodies.volunteer, {"name": None}, "name"),
        (bodies.volunteer, {"kind": "robot"}, "kind"),
        (bodies.volunteer, {"travel_mode": "rocket"}, "travel_mode"),
        (
            bodies.volunteer,
            {"weekly_shifts": [{"weekday": 1, "start": "12:00", "end": "08:00"}]},
            "weekly_shifts.0",
        ),
        (
            bodies.volunteer,
            {"weekly_shifts": [{"weekday": 1, "start": "8:00", "end": "12:00"}]},
            "weekly_shifts.0.start",
        ),
        (
            bodies.volunteer,
            {"weekly_shifts": [{"weekday": 1, "start": "08:00", "end": "25:00"}]},
            "weekly_shifts.0.end",
        ),
        (
            bodies.volunteer,
            {"weekly_shifts": [{"weekday": 7, "start": "08:00", "end": "12:00"}]},
            "weekly_shifts.0.weekday",
        ),
        (
            bodies.volunteer,
            {"shift_exceptions": [{"date": "2026-12-01", "available": True, "start": "10:00"}]},
            "shift_exceptions.0",
        ),
        (
            bodies.volunteer,
            {
                "shift_exceptions": [
                    {"date": "2026-12-01", "available": True, "start": "10:00", "end": "09:00"}
                ]
            },
            "shift_exceptions.0",
        ),
        (bodies.volunteer, {"volunteer_groups": ["night_watch"]}, "volunteer_groups.0"),
        (bodies.volunteer, {"licence_level": "senior"}, "licence_level"),
        (bodies.volunteer, {"registered_name": "某协会"}, "registered_name"),
        (bodies.community_staff, {"is_supervisor": True}, "is_supervisor"),
        (bodies.social_worker, {"volunteer_groups": ["daily_care"]}, "volunteer_groups"),
        (
            bodies.social_worker,
            {"coverage_area": {"type": "Polygon", "coordinates": [SQUARE]}},
            "coverage_area",
        ),
        (bodies.community_staff, {"slots_per_day": 3}, "slots_per_day"),
        (bodies.organization, {"registered_name": None}, "registered_name"),
        (bodies.organization, {"is_party_member": True}, "is_party_member"),
        (bodies.volunteer, {"qualifications": ["Has Spaces"]}, "qualifications.0"),
    ],
)
def test_bad_create_is_422_and_writes_nothing(client, world, session, make, overrides, field):
    """Each bad create is a problem+json 422 naming the offending field; no row is written."""
    before = table_counts(session)
    response = client.post(
        "/v1/responders",
        json=make(world.a.community_id, **overrides),
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]
    assert table_counts(session) == before


def test_unknown_service_category_is_422(client, world, session):
    """An organization naming a category the catalogue lacks is refused."""
    before = table_counts(session)
    response = client.post(
        "/v1/responders",
        json=bodies.organization(world.a.community_id, service_categories=["teleportation"]),
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == "service_categories"
    assert table_counts(session) == before


@pytest.mark.parametrize(
    "change",
    [
        {"licence_level": "senior"},
        {"radius_m": -10},
        {"name": None},
        {"travel_mode": None},
        {"kind": "organization"},
        {"hours_served": 40},
        {"community_ids": ["no-such-community"]},
        {"weekly_shifts": [{"weekday": 2, "start": "18:00", "end": "18:00"}]},
    ],
)
def test_bad_update_is_422_and_changes_nothing(client, world, session, change):
    """A bad PATCH on a volunteer is 422 and leaves the responder and the tables as they were."""
    created = client.post(
        "/v1/responders",
        json=bodies.volunteer(world.a.community_id),
        headers=headers(world.a.dispatcher),
    ).json()
    before = table_counts(session)
    response = client.patch(
        f"/v1/responders/{created['id']}", json=change, headers=headers(world.a.dispatcher)
    )
    assert response.status_code == 422, response.text
    assert table_counts(session) == before
    after = client.get(f"/v1/responders/{created['id']}", headers=headers(world.a.dispatcher))
    assert after.json() == created


def test_clearing_an_organizations_registered_name_is_422(client, world, session):
    """An organization must keep its registered name: PATCH to null is refused."""
    created = client.post(
        "/v1/responders",
        json=bodies.organization(world.a.community_id),
        headers=headers(world.a.dispatcher),
    ).json()
    response = client.patch(
        f"/v1/responders/{created['id']}",
        json={"registered_name": None},
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "registered_name"
