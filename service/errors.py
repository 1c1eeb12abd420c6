"""RFC 9457 problem details: one shape for every error, each kind a class that knows its status."""

import logging
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://wushe.example/problems/"
RETRY_AFTER_S = 1

log = logging.getLogger(__name__)


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


class ProblemError(Exception):
    status = 500
    slug = "internal-error"
    title = "Internal error"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors

    def to_problem(self, instance: str | None = None) -> Problem:
        return Problem(
            type=TYPE_BASE + self.slug,
            title=self.title,
            status=self.status,
            detail=self.detail,
            instance=instance,
            errors=self.errors,
        )


class BadRequest(ProblemError):
    status, slug, title = 400, "bad-request", "Malformed request"


class Unauthorized(ProblemError):
    status, slug, title = 401, "unauthorized", "Missing or invalid API key"


class Forbidden(ProblemError):
    status, slug, title = 403, "forbidden", "Not allowed for this role"


class NotFound(ProblemError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(ProblemError):
    status, slug, title = 409, "conflict", "Conflict with the current state"


class UnsupportedMediaType(ProblemError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported content type"


class Unprocessable(ProblemError):
    status, slug, title = 422, "validation-error", "Invalid input"

    @classmethod
    def on(cls, field: str, message: str, type_: str = "value_error") -> "Unprocessable":
        return cls(message, [FieldError(field=field, message=message, type=type_)])


class PayloadTooLarge(ProblemError):
    status, slug, title = 413, "too-large", "Payload too large"


class TooManyRequests(ProblemError):
    status, slug, title = 429, "too-many-requests", "Too many requests"


class ServiceUnavailable(ProblemError):
    status, slug, title = 503, "unavailable", "Service not ready"


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def responses(*kinds: type[ProblemError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entry so each route lists the problems it may answer."""
    out: dict[int | str, dict[str, Any]] = {}
    for kind in kinds:
        out[kind.status] = {
            "model": Problem,
            "description": kind.title,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    return out


COMMON = (Unauthorized, Forbidden, Unprocessable)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        headers = {"WWW-Authenticate": "ApiKey"} if exc.status == 401 else None
        return problem_response(exc.to_problem(request.url.path), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = exc.errors()
        if any(e.get("type") == "json_invalid" for e in raw):
            return problem_response(
                BadRequest("The request body is not valid JSON.").to_problem(request.url.path)
            )
        errors = [
            FieldError(field=_field_name(tuple(e["loc"])), message=e["msg"], type=e["type"])
            for e in raw
        ]
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return problem_response(Unprocessable(detail, errors).to_problem(request.url.path))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed"}
        problem = Problem(
            type=TYPE_BASE + str(exc.status_code),
            title=titles.get(exc.status_code, "HTTP error"),
            status=exc.status_code,
            detail=str(exc.detail),
            instance=request.url.path,
        )
        return problem_response(problem)

    @app.exception_handler(sqlalchemy.exc.TimeoutError)
    async def _pool_exhausted(request: Request, exc: Exception) -> JSONResponse:
        # Every database connection stayed busy for the pool timeout: overloaded, not broken.
        problem = ServiceUnavailable(
            "The service is at capacity: no database connection came free in time. Retry shortly."
        ).to_problem(request.url.path)
        return problem_response(problem, {"Retry-After": str(RETRY_AFTER_S)})

    @app.exception_handler(sqlalchemy.exc.DataError)
    async def _unstorable(request: Request, exc: Exception) -> JSONResponse:
        # The database refused a value the schemas let through (a NUL character in a text on
        # PostgreSQL, say): the caller's input, so a 422; the transaction was rolled back.
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        problem = Unprocessable(f"A value cannot be stored: {reason}").to_problem(
            request.url.path
        )
        return problem_response(problem)

    @app.exception_handler(sqlalchemy.exc.InterfaceError)
    @app.exception_handler(sqlalchemy.exc.OperationalError)
    async def _database_down(request: Request, exc: Exception) -> JSONResponse:
        log.error("database error on %s: %s", request.url.path, exc)
        problem = ServiceUnavailable(
            "The database cannot be reached; nothing was changed. Retry shortly."
        ).to_problem(request.url.path)
        return problem_response(problem, {"Retry-After": str(RETRY_AFTER_S)})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        problem = ProblemError("An unexpected error occurred; it has been logged.").to_problem(
            request.url.path
        )
        return problem_response(problem)
