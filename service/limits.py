"""Front-door limits, before any database work: body type and size, a per-key rate, and how
many requests are handled at once.

All are pure ASGI middleware answering RFC 9457 problems: 415 for a body that is not JSON
(or, on the import paths, one of the file types taken there), 413 for a body over the limit
(refused on its declared length without reading it, or as soon as the bytes read pass the
limit), 429 with ``Retry-After`` for a caller over its rate, 503 with ``Retry-After`` when no
request slot comes free within the pool timeout.

Pure ASGI, not Starlette's ``BaseHTTPMiddleware``, which runs every request through an
extra task and memory stream.
"""

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import get_settings
from service.db import request_slots
from service.errors import (
    RETRY_AFTER_S,
    PayloadTooLarge,
    ProblemError,
    ServiceUnavailable,
    TooManyRequests,
    UnsupportedMediaType,
    problem_response,
)
from service.metrics import HTTP_IN_FLIGHT, HTTP_WAITING

KEY_HEADER = b"x-api-key"
BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
JSON_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
JSON_ONLY = frozenset({"application/json"})
# Only the API is rate-limited: probes, metrics and the console's static files are not.
LIMITED_PREFIX = "/v1"
STREAM_SUFFIX = "/stream"
# Buckets kept at most; beyond it, full (idle) ones are dropped first.
MAX_BUCKETS = 10_000

log = logging.getLogger(__name__)


async def _refuse(
    error: ProblemError, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]
) -> None:
    response = problem_response(error.to_problem(scope.get("path")), headers or None)
    await response(scope, receive, send)


class BodyType:
    """Refuse a POST, PUT or PATCH body that is not ``application/json`` with 415; on
    ``file_paths`` the ``file_types`` are taken instead. A request without a body passes."""

    def __init__(
        self, app: ASGIApp, file_paths: frozenset[str], file_types: frozenset[str]
    ) -> None:
        self.app = app
        self.file_paths = file_paths
        self.file_types = file_types

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in JSON_BODY_METHODS:
            headers = dict(scope["headers"])
            if headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers:
                given = headers.get(b"content-type", b"").decode("latin-1")
                media_type = given.split(";")[0].strip().lower()
                allowed = self.file_types if scope["path"] in self.file_paths else JSON_ONLY
                if media_type not in allowed:
                    error = UnsupportedMediaType(
                        f"Send the body as {' or '.join(sorted(allowed))}, not "
                        f"{media_type or 'no content type'}."
                    )
                    await _refuse(error, scope, receive, send, {})
                    return
        await self.app(scope, receive, send)


class Admission:
    """At most ``slots`` API requests are handled at once; the others wait at the door, holding
    neither a worker thread nor a database connection, for up to the pool timeout, then get a
    503 with ``Retry-After``. Event streams, which stay open, do not take a slot.

    Without it, overload tied a knot: a request held the connection it took for its key check
    while it waited for a thread to run its handler, and every thread was taken by newer
    requests waiting for a connection. Nothing moved until their pool timeouts ran out, and the
    more requests came, the longer it lasted."""

    def __init__(self, app: ASGIApp) -> None:
        # Built with the middleware stack, when the app starts: the same settings the
        # lifespan sizes the thread pool from.
        self.app = app
        self.slots = anyio.Semaphore(request_slots())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or not path.startswith(LIMITED_PREFIX)
            or path.endswith(STREAM_SUFFIX)
        ):
            await self.app(scope, receive, send)
            return
        admitted = False
        HTTP_WAITING.inc()
        try:
            with anyio.move_on_after(get_settings().db_pool_timeout_s):
                await self.slots.acquire()
                admitted = True
        finally:
            HTTP_WAITING.dec()
        if not admitted:
            busy = ServiceUnavailable(
                "The service is at capacity: no request slot came free in time. Retry shortly."
            )
            await _refuse(busy, scope, receive, send, {"Retry-After": str(RETRY_AFTER_S)})
            return
        HTTP_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            HTTP_IN_FLIGHT.dec()
            self.slots.release()


class BodyLimit:
    """Refuse a request body over ``WUSHE_BODY_MAX_BYTES`` (``WUSHE_IMPORT_MAX_BYTES`` on the
    ``file_paths`` that take whole files) with 413.

    The body is buffered here up to the limit (the handlers read it whole anyway) and handed
    on unchanged, so a chunked upload without a length cannot get past either."""

    def __init__(self, app: ASGIApp, file_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.file_paths = file_paths

    def limit_for(self, path: str) -> int:
        settings = get_settings()
        return settings.import_max_bytes if path in self.file_paths else settings.body_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in BODYLESS_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        too_large = PayloadTooLarge(f"The request body may hold at most {limit} bytes.")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(too_large, scope, receive, send, {"Connection": "close"})
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > limit:
                await _refuse(too_large, scope, receive, send, {"Connection": "close"})
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


@dataclass
class Bucket:
    tokens: float
    at: float


class RateLimit:
    """A token bucket per API key (per client address without one), in this process.

    ``rate`` tokens per second up to ``burst``; each /v1 request takes one. With several
    server processes each keeps its own buckets, so the effective rate is per process."""

    def __init__(
        self,
        app: ASGIApp,
        rate: float | None = None,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        settings = get_settings()
        self.app = app
        self.rate = settings.rate_limit_per_s if rate is None else rate
        self.burst = settings.rate_limit_burst if burst is None else burst
        self.clock = clock
        self.buckets: dict[str, Bucket] = {}

    def _caller(self, scope: Scope) -> str:
        key = dict(scope["headers"]).get(KEY_HEADER)
        if key:
            # Hashed, so the buckets hold no secret; a forged key gets a bucket of its own
            # and cannot drain the real key's.
            return "key:" + hashlib.sha256(key).hexdigest()
        client = scope.get("client")
        return "addr:" + (client[0] if client else "unknown")

    def _prune(self, now: float) -> None:
        full = [
            name
            for name, bucket in self.buckets.items()
            if bucket.tokens + (now - bucket.at) * self.rate >= self.burst
        ]
        for name in full:
            del self.buckets[name]
        if len(self.buckets) >= MAX_BUCKETS:
            log.warning("rate limit: %d busy callers; buckets reset", len(self.buckets))
            self.buckets.clear()

    def take(self, caller: str) -> float:
        """Take a token for ``caller``; 0 if it had one, else the seconds until it will."""
        now = self.clock()
        bucket = self.buckets.get(caller)
        if bucket is None:
            if len(self.buckets) >= MAX_BUCKETS:
                self._prune(now)
            bucket = self.buckets[caller] = Bucket(tokens=float(self.burst), at=now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or self.rate <= 0
            or not scope["path"].startswith(LIMITED_PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        wait = self.take(self._caller(scope))
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            error = TooManyRequests(
                f"Too many requests for this key: at most {self.rate:g} per second "
                f"(bursts of {self.burst}). Retry after {retry_after} s."
            )
            await _refuse(error, scope, receive, send, {"Retry-After": str(retry_after)})
            return
        await self.app(scope, receive, send)
