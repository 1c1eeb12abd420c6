"""Logs are JSON lines with a request id and never hold a resident's personal data."""

import json
import logging

from service.db import get_engine
from service.logs import JsonFormatter
from tests.service.conftest import headers
from tests.service.events.wiring import started

NAME, PHONE, ADDRESS, NOTES = "欧阳娜娜", "13912345678", "东湖小区9幢902室", "癫痫病史，每日服药"
SECRETS = (NAME, PHONE, ADDRESS, NOTES, "13912345678"[-8:])


def test_logs_are_json_with_request_ids_and_no_personal_data(world, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    with started(monkeypatch) as client:
        admin = headers(world.a.dispatcher)
        resident = client.post(
            "/v1/residents",
            json={
                "community_id": world.a.community_id,
                "name": NAME,
                "phone": PHONE,
                "address": ADDRESS,
                "notes": NOTES,
                "location": {"type": "Point", "coordinates": [121.03, 30.71]},
            },
            headers={**admin, "X-Request-ID": "grid-app-42"},
        )
        assert resident.status_code == 201, resident.text
        assert resident.headers["x-request-id"] == "grid-app-42"
        rid = resident.json()["id"]
        client.get(f"/v1/residents/{rid}", headers=admin)
        client.get(f"/v1/residents?phone={PHONE}", headers=admin)
        client.patch(f"/v1/residents/{rid}", json={"phone": "not a phone " + PHONE}, headers=admin)
        client.get("/v1/residents/nope", headers=admin)
        generated = client.get("/healthz").headers["x-request-id"]
    assert generated and generated != "grid-app-42"
    formatter = JsonFormatter()
    # httpx is the test's own client (it logs the URLs it calls), not the service.
    lines = [formatter.format(r) for r in caplog.records if not r.name.startswith("httpx")]
    assert lines, "nothing was logged"
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    access = [p for p in parsed if p["logger"] == "wushe.access"]
    assert {"method", "route", "status", "ms", "request_id"} <= set(access[0])
    assert any(p["request_id"] == "grid-app-42" and p["status"] == 201 for p in access)
    assert all("{resident_id}" in p["route"] or "{" not in p["route"] for p in access)
    leaked = [line for line in lines for secret in SECRETS if secret in line]
    assert not leaked, leaked


def test_database_errors_do_not_carry_sql_parameters(database_url):
    assert get_engine().hide_parameters
