from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from service.auth.principal import Principal, Role, SessionDep, require
from service.errors import COMMON, responses
from service.events import schemas
from service.events import service as events

router = APIRouter(prefix="/v1", tags=["events"])

Follower = Annotated[Principal, Depends(require(*Role))]
After = Annotated[
    str | None,
    Query(description="Cursor of the last event seen (`next_cursor` or an event's `cursor`)"),
]
MAX_STREAM_SECONDS = 300


class EventStreamResponse(StreamingResponse):
    media_type = "text/event-stream"


@router.get("/events", responses=responses(*COMMON))
def list_events(
    session: SessionDep,
    principal: Follower,
    after: After = None,
    limit: Annotated[int, Query(ge=1, description="Events per page (max 200)")] = 50,
    kind: str | None = None,
    community_id: str | None = None,
    subject_id: str | None = None,
) -> schemas.EventFeed:
    """The caller's events (offers, acceptances, state changes) in order, after a cursor.

    Dispatchers see their communities, grid apps their grids' requests, responders the events
    about themselves. Poll with the returned `next_cursor` to follow without missing any.
    """
    return events.read_feed(
        session,
        principal,
        after,
        limit,
        kind=kind,
        community_id=community_id,
        subject_id=subject_id,
    )


@router.get(
    "/events/stream",
    response_class=EventStreamResponse,
    responses={
        200: {
            "description": "Server-sent events: `id` is the cursor, `event` the kind, "
            "`data` the event as JSON (the `EventOut` schema).",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **responses(*COMMON),
    },
)
def stream_events(
    request: Request,
    principal: Follower,
    after: After = None,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", description="Resume after this event id")
    ] = None,
    max_seconds: Annotated[
        int, Query(ge=1, le=MAX_STREAM_SECONDS, description="Close the stream after this long")
    ] = 60,
    kind: str | None = None,
    community_id: str | None = None,
    subject_id: str | None = None,
) -> EventStreamResponse:
    """The same events as `GET /v1/events`, pushed as they are written (polled every second).

    The stream ends after `max_seconds`; reconnect with `Last-Event-ID` (browsers do) to resume.
    """
    start = last_event_id or after
    if start:
        events.parse_cursor(start, "Last-Event-ID" if last_event_id else "after")
    body = events.stream(
        principal,
        start,
        max_seconds,
        request.is_disconnected,
        kind=kind,
        community_id=community_id,
        subject_id=subject_id,
    )
    return EventStreamResponse(
        body, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
