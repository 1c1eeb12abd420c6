"""Prometheus metrics: HTTP traffic by route template, dispatch timings, and live gauges.

``GET /metrics`` is open unless ``WUSHE_METRICS_TOKEN`` is set, in which case the scraper
sends ``Authorization: Bearer <token>``. Open is the usual Prometheus arrangement (the port
is kept off the public network); the token is there for deployments that cannot do that.
The numbers carry no personal data, only counts and timings.
"""

import hmac
import logging
import time
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import APIRouter, Header, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import get_settings
from service.db import get_sessionmaker
from service.errors import Unauthorized, responses

HTTP_REQUESTS = Counter(
    "wushe_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "wushe_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
LIVE_MATCH_SECONDS = Histogram(
    "wushe_live_match_seconds",
    "Time to match one new request live (match_one and writing the offer).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)
SOLVE_SECONDS = Histogram(
    "wushe_solve_seconds",
    "Time spent in the solver, by kind (live or batch).",
    ["kind"],
    buckets=(0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300),
)
WARM_BUILD_SECONDS = Histogram(
    "wushe_warm_build_seconds",
    "Time to build a community's warm live-matching state (first use, stale or expired).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
OFFERS_MADE = Counter("wushe_offers_made", "Offers made to responders.")
OFFERS_PENDING = Gauge("wushe_offers_pending", "Assignments offered and not yet answered.")
REQUESTS_UNASSIGNED = Gauge("wushe_requests_unassigned", "Service requests still submitted.")
QUEUE_DEPTH = Gauge("wushe_dispatch_runs_queued", "Batch dispatch runs waiting to start.")
HTTP_IN_FLIGHT = Gauge(
    "wushe_http_requests_in_flight", "API requests being handled (each holds a request slot)."
)
HTTP_WAITING = Gauge(
    "wushe_http_requests_waiting", "API requests waiting at the door for a request slot."
)
GAUGES_READ_AT = Gauge(
    "wushe_gauges_read_at_seconds", "When the database gauges were last read (Unix time)."
)
GAUGE_WAIT_S = 2.0
log = logging.getLogger(__name__)
_gauge_limiter: "anyio.CapacityLimiter | None" = None

UNMATCHED = "unmatched"


class MetricsMiddleware:
    """Counts and times every HTTP request under its route template, never the raw path,
    so ids in paths cannot blow up the number of series. Pure ASGI: streams pass through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope["method"]
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_SECONDS.labels(method, route).observe(time.perf_counter() - started)


def _count(session: Session, stmt: Any) -> int:
    return int(session.scalar(stmt) or 0)


def refresh_gauges(session: Session) -> None:
    """Read the gauges from the database at scrape time, so every process reports the truth."""
    from service.assignments.models import Assignment
    from service.requests.models import ServiceRequest

    OFFERS_PENDING.set(_count(session, select(func.count()).where(Assignment.state == "offered")))
    REQUESTS_UNASSIGNED.set(
        _count(session, select(func.count()).where(ServiceRequest.state == "submitted"))
    )
    QUEUE_DEPTH.set(_queued_runs(session))


def _queued_runs(session: Session) -> int:
    from service.runs.models import DispatchRun

    return _count(session, select(func.count()).where(DispatchRun.state == "queued"))


def _refresh_in_own_session() -> None:
    try:
        with get_sessionmaker()() as session:
            refresh_gauges(session)
    except SQLAlchemyError as exc:
        # Overloaded or unreachable: the scrape reports the last values it read.
        log.warning("metrics gauges not refreshed: %s", type(exc).__name__)
        return
    GAUGES_READ_AT.set(time.time())


router = APIRouter(tags=["probes"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text exposition format",
            "content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
        },
        **responses(Unauthorized),
    },
)
async def metrics(
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Request rates and latencies, solve times, offers pending, unassigned requests, queue."""
    # Answered on the event loop, not the request thread pool, so a scrape still gets through
    # when every worker thread is busy: exactly when the numbers matter. The database gauges
    # get GAUGE_WAIT_S to refresh on a thread of their own; if the database is that slow the
    # scrape reports their last values (wushe_gauges_read_at_seconds says when).
    token = get_settings().metrics_token
    if token and not hmac.compare_digest(authorization or "", f"Bearer {token}"):
        raise Unauthorized("Send the metrics token as 'Authorization: Bearer <token>'.")
    global _gauge_limiter
    if _gauge_limiter is None:
        _gauge_limiter = anyio.CapacityLimiter(1)
    with anyio.move_on_after(GAUGE_WAIT_S):
        await anyio.to_thread.run_sync(
            _refresh_in_own_session, limiter=_gauge_limiter, abandon_on_cancel=True
        )
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
