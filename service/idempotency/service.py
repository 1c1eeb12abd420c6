"""Safe retries for every POST: the same ``Idempotency-Key`` and body answer once.

The key is checked by a dependency on each POST route (``guard``) and the answer is stored by
the route's handler wrapper (``IdempotentRoute``) after the endpoint returns and before the
request's session dependency commits, so the effect and its stored answer share one
transaction: a crash before the commit leaves neither, after it both.
"""

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from service.auth.principal import Principal, SessionDep, current_principal
from service.config import get_settings
from service.db import get_sessionmaker
from service.errors import (
    BadRequest,
    Conflict,
    PayloadTooLarge,
    TooManyRequests,
    Unprocessable,
    problem_response,
    responses,
)
from service.idempotency import repository
from service.idempotency.models import IdempotencyRecord
from service.limits import LIMITED_PREFIX
from service.types import new_id, utcnow

HEADER = "Idempotency-Key"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# How long a retry waits for the first attempt's transaction before it is told 409.
IN_FLIGHT_WAIT_MS = 250
RETRY_AFTER_S = 1
# Headers recomputed or meaningless on a replay.
UNSTORED_HEADERS = frozenset({"content-length", "date", "server", "set-cookie"})
PURGE_EVERY_S = 600.0
PURGE_BATCH = 1000

log = logging.getLogger(__name__)

# Keys this process is answering now: a retry that arrives meanwhile is told 409 at once.
# Other processes learn the same from the database (see repository.reserve).
_in_flight: set[tuple[str, str]] = set()
_in_flight_lock = threading.Lock()
_last_purge = 0.0


@dataclass
class Claim:
    """A key this request reserved; its answer is stored before the request commits."""

    session: Session
    record_id: str
    scope: tuple[str, str]


class Replayed(Exception):
    """The key was answered before: send the stored answer, run nothing."""

    def __init__(self, response: Response) -> None:
        super().__init__("replayed")
        self.response = response


class InFlight(Exception):
    """The key's first attempt has not finished."""


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """Hash of what the request asks for: JSON bodies compare by value, not by spacing or
    key order; anything else by its bytes."""
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), urlencode(sorted(parse_qsl(query))).encode()):
        digest.update(part)
        digest.update(b"\0")
    digest.update(canonical)
    return digest.hexdigest()


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise Unprocessable.on(
            HEADER, f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters", "string_type"
        )


def _replay(record: IdempotencyRecord) -> Response:
    response = Response(content=record.body or b"", status_code=record.status_code or 200)
    for name, value in record.headers or []:
        response.headers.append(name, value)
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _answered(record: IdempotencyRecord, print_: str) -> Replayed:
    if record.fingerprint != print_:
        raise Unprocessable.on(
            HEADER,
            "this key was used for a different request (method, path or body); "
            "use a new key for a new request",
        )
    return Replayed(_replay(record))


def _begin(session: Session, principal: Principal, key: str, print_: str, request: Request) -> str:
    """Reserve the key in the request's transaction; the new record's id."""
    assert principal.key_id is not None
    now = utcnow()
    _purge_now_and_then()
    found = repository.find(session, principal.key_id, key, now)
    if found is not None:
        raise _answered(found, print_)
    record_id = new_id()
    row = {
        "id": record_id,
        "api_key_id": principal.key_id,
        "key": key,
        "method": request.method,
        "path": request.url.path,
        "fingerprint": print_,
        "created_at": now,
        "expires_at": now + timedelta(hours=get_settings().idempotency_ttl_h),
    }
    outcome = repository.reserve(session, row, now, IN_FLIGHT_WAIT_MS)
    if isinstance(outcome, repository.InFlight):
        raise InFlight()
    if isinstance(outcome, repository.Taken):
        found = repository.find(session, principal.key_id, key, now)
        if found is None:  # committed and already expired or purged: vanishingly rare
            raise InFlight()
        raise _answered(found, print_)
    return record_id


async def guard(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(current_principal)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            description=(
                "Any unique string (a UUID, say) chosen by the caller: a retry with the same "
                "key and body gets the first answer without acting twice; the same key with "
                "another body is 422; a retry while the first is running is 409. Kept 24 hours."
            ),
        ),
    ] = None,
) -> None:
    """Dependency on every POST: reserve the key, or answer from the stored record."""
    if idempotency_key is None or principal.key_id is None:
        return
    _check_key(idempotency_key)
    scope = (principal.key_id, idempotency_key)
    with _in_flight_lock:
        if scope in _in_flight:
            raise InFlight()
        _in_flight.add(scope)
    # Recorded first, so the handler wrapper releases the scope whatever happens next.
    request.state.idempotency_scope = scope
    body = await request.body()
    print_ = fingerprint(request.method, request.url.path, request.url.query, body)
    record_id = await run_in_threadpool(
        _begin, session, principal, idempotency_key, print_, request
    )
    request.state.idempotency = Claim(session=session, record_id=record_id, scope=scope)


def _store(claim: Claim, response: Response) -> None:
    headers = [
        [name, value]
        for name, value in response.headers.items()
        if name.lower() not in UNSTORED_HEADERS
    ]
    body = bytes(getattr(response, "body", b""))
    repository.store_response(claim.session, claim.record_id, response.status_code, headers, body)


def _in_flight_response(request: Request) -> Response:
    problem = Conflict(
        f"A request with this {HEADER} is still being processed; retry when it has finished."
    ).to_problem(request.url.path)
    return problem_response(problem, {"Retry-After": str(RETRY_AFTER_S)})


def _release(request: Request) -> None:
    scope = getattr(request.state, "idempotency_scope", None)
    if scope is not None:
        with _in_flight_lock:
            _in_flight.discard(scope)


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def _wrap(handler: Handler) -> Handler:
    async def handle(request: Request) -> Response:
        try:
            try:
                response = await handler(request)
            except Replayed as replayed:
                return replayed.response
            except InFlight:
                return _in_flight_response(request)
            claim: Claim | None = getattr(request.state, "idempotency", None)
            if claim is not None:
                # The session dependency commits once this returns. A limiter of its own (as
                # FastAPI does for dependency exits): this request may hold row locks that
                # the workers of the shared pool are waiting on.
                await anyio.to_thread.run_sync(_store, claim, response, limiter=CapacityLimiter(1))
            return response
        finally:
            _release(request)

    return handle


class IdempotentRoute(APIRoute):
    """An APIRoute whose handler stores its answer for the guard to replay."""

    def get_route_handler(self) -> Handler:
        return _wrap(super().get_route_handler())


def protect(router: APIRouter) -> None:
    """Give every POST route of ``router`` the guard and the storing handler, and list the
    refusals of the front-door limits (service.limits) in every route's OpenAPI entry.

    Called before ``include_router``, which builds each route's handler from these."""
    for route in router.routes:
        if type(route) is not APIRoute:
            continue
        if "POST" in route.methods:
            route.dependencies.append(Depends(guard))
            route.responses = {**responses(Conflict, PayloadTooLarge), **route.responses}
            route.__class__ = IdempotentRoute
        if route.path.startswith(LIMITED_PREFIX):
            route.responses = {**responses(TooManyRequests), **route.responses}
        if route.methods & BODY_METHODS:
            # A body that is not valid JSON is refused before validation (service.errors).
            route.responses = {**responses(BadRequest), **route.responses}


def _purge_now_and_then() -> None:
    """Delete expired records at most every PURGE_EVERY_S per process, on a thread of its own
    so no request waits for it (a lookup ignores expired records anyway, and a reused key
    replaces its own)."""
    global _last_purge
    now = time.monotonic()
    with _in_flight_lock:
        if now - _last_purge < PURGE_EVERY_S:
            return
        _last_purge = now
    threading.Thread(target=_purge, name="idempotency-purge", daemon=True).start()


def _purge() -> None:
    try:
        with get_sessionmaker()() as session:
            repository.purge_expired(session, utcnow(), PURGE_BATCH)
            session.commit()
    except Exception:
        log.exception("idempotency: could not purge expired records")
