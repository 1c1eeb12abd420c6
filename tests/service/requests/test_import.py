"""Bulk intake: CSV and GeoJSON lists, row by row, idempotent, all or nothing on failure."""

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.cli import main
from service.places.models import Community
from service.requests.models import ServiceRequest
from tests.service.conftest import headers
from tests.service.dispatch.helpers import auto_dispatch, volunteer

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "import"
HEADER = "external_id,category_code,lon,lat,window_start,window_end,urgency,quantity\n"
WINDOW = "2026-12-02T09:00:00+08:00,2026-12-02T12:00:00+08:00"


def _post(client, side, content: bytes | str, media_type: str = "text/csv", key=None):
    body = content.encode() if isinstance(content, str) else content
    return client.post(
        f"/v1/requests/import?community_id={side.community_id}",
        content=body,
        headers={**headers(key or side.dispatcher), "Content-Type": media_type},
    )


def _count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(ServiceRequest))


def test_good_rows_are_stored_bad_rows_come_back_and_a_resend_changes_nothing(
    client, session, world
):
    csv = (
        HEADER
        + f"a-1,medicine_delivery,121.031,30.711,{WINDOW},urgent,2\n"
        + f"a-2,meal_delivery,121.032,30.712,{WINDOW},normal,1\n"
        + "a-3,medicine_delivery,121.031,30.711,2026-12-02T12:00:00+08:00,"
        + "2026-12-02T09:00:00+08:00,normal,1\n"
        + f"a-4,no_such_category,121.031,30.711,{WINDOW},normal,1\n"
        + f"a-5,medicine_delivery,121.031,95.0,{WINDOW},normal,1\n"
        + f",medicine_delivery,121.031,30.711,{WINDOW},normal,1\n"
        + f"a-1,medicine_delivery,121.031,30.711,{WINDOW},normal,1\n"
    )
    first = _post(client, world.a, csv)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["stored"] == 2 and body["unchanged"] == 0
    assert [(r["row"], r["field"]) for r in body["rejected"]] == [
        (3, "window_end"),
        (4, "category_code"),
        (5, "lon/lat"),
        (6, "external_id"),
        (7, "external_id"),
    ]
    assert all(r["reason"] for r in body["rejected"])
    assert _count(session) == 2
    stored = session.scalars(select(ServiceRequest).order_by(ServiceRequest.external_id)).all()
    assert [(r.external_id, r.source, r.urgency, r.quantity) for r in stored] == [
        ("a-1", "import", "urgent", 2),
        ("a-2", "import", "normal", 1),
    ]
    again = _post(client, world.a, csv).json()
    assert again["stored"] == 0 and again["unchanged"] == 2
    assert sorted(again["unchanged_ids"]) == sorted(body["stored_ids"])
    assert _count(session) == 2


def test_the_readme_examples_import(client, session, world):
    """The files the README shows import cleanly, as CSV and as GeoJSON."""
    csv = _post(client, world.a, (EXAMPLES / "requests.csv").read_bytes())
    geo = _post(
        client, world.a, (EXAMPLES / "requests.geojson").read_bytes(), "application/geo+json"
    )
    assert csv.status_code == geo.status_code == 200, (csv.text, geo.text)
    assert (csv.json()["stored"], csv.json()["rejected"]) == (3, [])
    assert (geo.json()["stored"], geo.json()["rejected"]) == (2, [])
    emergency = session.scalar(
        select(ServiceRequest).where(ServiceRequest.external_id == "dh-20260302-101")
    )
    assert emergency.urgency == "emergency" and (emergency.lon, emergency.lat) == (
        121.0312,
        30.7118,
    )


def test_a_bad_feature_is_a_bad_row(client, session, world):
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": {"type": "LineString", "coordinates": []}},
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [121.03, 30.71]},
                "properties": {"external_id": "g-1", "colour": "red"},
            },
        ],
    }
    response = _post(client, world.a, json.dumps(collection), "application/geo+json")
    assert response.status_code == 200
    assert [r["row"] for r in response.json()["rejected"]] == [1, 2]
    assert _count(session) == 0


@pytest.mark.parametrize(
    ("content", "media_type", "status"),
    [
        ("external_id,colour\nx,red\n", "text/csv", 422),
        (b"\xff\xfe\x00junk", "text/csv", 422),
        ('{"type": "Feature"}', "application/geo+json", 422),
        ("{not json", "application/geo+json", 422),
        (HEADER + f"x,medicine_delivery,121.03,30.71,{WINDOW},normal,1\n", "text/plain", 415),
    ],
)
def test_unusable_files_are_refused_whole(client, session, world, content, media_type, status):
    response = _post(client, world.a, content, media_type)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert _count(session) == 0


def test_size_limits_answer_413_and_write_nothing(client, session, world, monkeypatch):
    from service.config import get_settings

    rows = "".join(f"s-{i},medicine_delivery,121.03,30.71,{WINDOW},normal,1\n" for i in range(3))
    monkeypatch.setenv("WUSHE_IMPORT_MAX_ROWS", "2")
    get_settings.cache_clear()
    try:
        too_many = _post(client, world.a, HEADER + rows)
        monkeypatch.setenv("WUSHE_IMPORT_MAX_ROWS", "100")
        monkeypatch.setenv("WUSHE_IMPORT_MAX_BYTES", "100")
        get_settings.cache_clear()
        too_big = _post(client, world.a, HEADER + rows)
    finally:
        get_settings.cache_clear()
    assert too_many.status_code == too_big.status_code == 413
    assert _count(session) == 0


def test_an_import_that_fails_midway_leaves_nothing(client, session, world, monkeypatch):
    """A fault on the third row (not a validation error) rolls back the two stored before."""
    from service.requests import service as requests_service

    real = requests_service.create_request
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(requests_service, "create_request", failing)
    rows = "".join(f"m-{i},medicine_delivery,121.03,30.71,{WINDOW},normal,1\n" for i in range(4))
    response = _post(client, world.a, HEADER + rows)
    assert response.status_code == 500
    assert _count(session) == 0


def test_imported_needs_wait_for_a_batch_run(client, session, world):
    """In a community that matches live, imported rows are stored, not offered one by one."""
    auto_dispatch(session, world.a)
    volunteer(client, session, world, world.a)
    response = _post(client, world.a, (EXAMPLES / "requests.csv").read_bytes())
    assert response.json()["stored"] == 3
    states = set(session.scalars(select(ServiceRequest.state)))
    assert states == {"submitted"}


def test_grid_apps_import_into_their_own_grid_only(client, session, world):
    rows = "external_id,category_code,lon,lat,window_start,window_end,grid_id\n"
    rows += f"q-1,medicine_delivery,121.03,30.71,{WINDOW},{world.a.grid_id}\n"
    rows += f"q-2,medicine_delivery,121.03,30.71,{WINDOW},{world.b.grid_id}\n"
    response = _post(client, world.a, rows, key=world.a.grid_app)
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 1
    assert [r["field"] for r in response.json()["rejected"]] == ["grid_id"]


def test_cli_import(database_url, session, world, tmp_path, capsys):
    code = session.get(Community, world.a.community_id).code
    good = tmp_path / "list.csv"
    good.write_text(
        HEADER
        + f"c-1,medicine_delivery,121.03,30.71,{WINDOW},normal,1\n"
        + f"c-2,medicine_delivery,121.03,30.71,{WINDOW},sometimes,1\n",
        encoding="utf-8",
    )
    assert main(["import", str(good), "--community", code]) == 1
    out = capsys.readouterr()
    assert "stored 1, unchanged 0, refused 1" in out.out and "row 2: urgency" in out.err
    assert main(["import", str(good), "--community", code]) == 1
    assert "stored 0, unchanged 1" in capsys.readouterr().out
    assert main(["import", str(good), "--community", "nope"]) == 2
    assert "unknown community code" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "list.txt"), "--community", code]) == 2
    broken = tmp_path / "broken.csv"
    broken.write_text("external_id,colour\nx,red\n", encoding="utf-8")
    assert main(["import", str(broken), "--community", code]) == 2
    assert "unknown column" in capsys.readouterr().err
    assert _count(session) == 1
