"""The server-sent-event stream: events written after connecting arrive, and it resumes."""

import json
import threading
import time

from service.events.service import record
from tests.service.conftest import headers


def _frames(text: str) -> list[dict[str, str]]:
    frames = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            frames.append(fields)
    return frames


def _write_later(
    session, community_id: str, kinds: list[str], delay: float, failed: list[BaseException]
) -> threading.Thread:
    def write() -> None:
        try:
            time.sleep(delay)
            for kind in kinds:
                record(
                    session,
                    community_id=community_id,
                    kind=kind,
                    subject_type="service_request",
                    subject_id="r1",
                    payload={"n": kind},
                )
            session.commit()
        except BaseException as exc:  # reported by the test, not lost with the thread
            failed.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_events_written_after_connecting_arrive(app_client, session, world):
    """A client connected before the writes receives them as id/event/data frames."""
    failed: list[BaseException] = []
    kinds = ["request.created", "request.offered"]
    writer = _write_later(session, world.a.community_id, kinds, 1, failed)
    # Five seconds of stream for writes due after one: room for a slow, shared machine (a
    # CI run once saw nothing in three).
    response = app_client.get(
        "/v1/events/stream", params={"max_seconds": 6}, headers=headers(world.a.dispatcher)
    )
    writer.join()
    assert failed == []
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = _frames(response.text)
    assert [f["event"] for f in frames] == ["request.created", "request.offered"]
    data = json.loads(frames[0]["data"])
    assert data["cursor"] == frames[0]["id"] and data["payload"] == {"n": "request.created"}


def test_last_event_id_resumes_after_that_event(app_client, session, world):
    """Reconnecting with Last-Event-ID sends only what came after it; other scopes see nothing."""
    for kind in ("request.created", "request.offered", "request.completed"):
        record(
            session,
            community_id=world.a.community_id,
            kind=kind,
            subject_type="service_request",
            subject_id="r1",
            payload={},
        )
    session.commit()
    key = headers(world.a.dispatcher)
    first = _frames(app_client.get("/v1/events/stream?max_seconds=1", headers=key).text)
    assert len(first) == 3
    resumed = app_client.get(
        "/v1/events/stream?max_seconds=1", headers=key | {"Last-Event-ID": first[0]["id"]}
    )
    assert [f["event"] for f in _frames(resumed.text)] == ["request.offered", "request.completed"]
    other = app_client.get("/v1/events/stream?max_seconds=1", headers=headers(world.b.dispatcher))
    assert _frames(other.text) == []


def test_stream_bounds_are_enforced(app_client, world):
    """max_seconds above 300 and a foreign Last-Event-ID are refused as 422 before streaming."""
    key = headers(world.a.dispatcher)
    too_long = app_client.get("/v1/events/stream?max_seconds=301", headers=key)
    assert too_long.status_code == 422
    bad = app_client.get("/v1/events/stream", headers=key | {"Last-Event-ID": "junk"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "Last-Event-ID"


def test_stream_is_documented_as_event_stream(app_client):
    """The OpenAPI spec lists text/event-stream as the stream's 200 content."""
    spec = app_client.get("/openapi.json").json()
    content = spec["paths"]["/v1/events/stream"]["get"]["responses"]["200"]["content"]
    assert "text/event-stream" in content
    assert "401" in spec["paths"]["/v1/events/stream"]["get"]["responses"]
