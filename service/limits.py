"""Front-door limits, before any database work: request body size and a per-key rate.

Both are pure ASGI middleware answering RFC 9457 problems: 413 for a body over the limit
(refused on its declared length without reading it, or as soon as the bytes read pass the
limit), 429 with ``Retry-After`` for a caller over its rate.
"""

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import get_settings
from service.errors import PayloadTooLarge, ProblemError, TooManyRequests, problem_response

KEY_HEADER = b"x-api-key"
BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Only the API is rate-limited: probes, metrics and the console's static files are not.
LIMITED_PREFIX = "/v1"
# Buckets kept at most; beyond it, full (idle) ones are dropped first.
MAX_BUCKETS = 10_000

log = logging.getLogger(__name__)


async def _refuse(
    error: ProblemError, scope: Scope, receive: Receive, send: Send, headers: dict[str, str]
) -> None:
    response = problem_response(error.to_problem(scope.get("path")), headers or None)
    await response(scope, receive, send)


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
