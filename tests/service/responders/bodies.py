"""Request bodies for responders of each kind, valid unless a test overrides a field."""

BASE = {"type": "Point", "coordinates": [121.02, 30.70]}


def volunteer(community_id: str, **overrides: object) -> dict:
    body = {
        "kind": "volunteer",
        "name": "李志愿",
        "phone": "13900000001",
        "community_ids": [community_id],
        "location": BASE,
        "radius_m": 1500,
        "travel_mode": "ebike",
        "skills": ["medicine_delivery"],
        "volunteer_groups": ["daily_care"],
        "is_party_member": True,
        "weekly_shifts": [{"weekday": 0, "start": "08:00", "end": "12:00"}],
        "max_tasks_per_day": 5,
        "load_capacity": 20,
    }
    return body | overrides


def social_worker(community_id: str, **overrides: object) -> dict:
    body = {
        "kind": "social_worker",
        "name": "张社工",
        "community_ids": [community_id],
        "location": BASE,
        "radius_m": 3000,
        "travel_mode": "bicycle",
        "qualifications": ["counselling"],
        "licence_level": "intermediate",
        "is_supervisor": True,
    }
    return body | overrides


def organization(community_id: str, **overrides: object) -> dict:
    body = {
        "kind": "organization",
        "name": "平湖颐养中心",
        "registered_name": "平湖市颐养社会工作服务中心",
        "community_ids": [community_id],
        "location": BASE,
        "radius_m": 0,
        "travel_mode": "car",
        "slots_per_day": 10,
        "coverage_area": {
            "type": "Polygon",
            "coordinates": [[[121.0, 30.6], [121.1, 30.6], [121.1, 30.8], [121.0, 30.6]]],
        },
    }
    return body | overrides


def community_staff(community_id: str, **overrides: object) -> dict:
    body = {
        "kind": "community_staff",
        "name": "陈主任",
        "community_ids": [community_id],
        "location": BASE,
        "radius_m": 2000,
        "travel_mode": "walk",
    }
    return body | overrides
