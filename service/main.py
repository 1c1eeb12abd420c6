"""The FastAPI application: routers, problem details, and liveness/readiness probes."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import text

import service.models  # noqa: F401  (every table registered before the first query)
from service import background, errors
from service.assignments.router import router as assignments_router
from service.audit.router import router as audit_router
from service.auth.router import router as auth_router
from service.catalogue.router import router as catalogue_router
from service.config import get_settings
from service.console.router import router as console_router
from service.db import get_engine, request_slots
from service.dispatch.router import router as dispatch_router
from service.emergency.router import router as emergency_router
from service.events.router import router as events_router
from service.funds.router import router as funds_router
from service.idempotency.service import protect as protect_posts
from service.indicators.router import router as indicators_router
from service.limits import Admission, BodyLimit, BodyType, RateLimit
from service.logs import AccessLog
from service.logs import configure as configure_logging
from service.metrics import MetricsMiddleware
from service.metrics import router as metrics_router
from service.migrate import current_revision, head_revision
from service.pickups.router import router as pickups_router
from service.places.router import router as places_router
from service.requests.router import router as requests_router
from service.residents.router import router as residents_router
from service.responders.router import router as responders_router
from service.runs import jobs as runs_jobs
from service.runs.router import router as runs_router
from service.zones.router import router as zones_router

# Bulk intake takes files as they are kept, not wrapped in JSON.
IMPORT_PATHS = frozenset({"/v1/requests/import"})
IMPORT_MEDIA_TYPES = frozenset({"text/csv", "application/geo+json", "application/json"})


def _operation_id(route: APIRoute) -> str:
    # The function name is the operation id: stable, readable, and unique across the app.
    return route.name


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Sync handlers run on AnyIO's thread pool and each holds a database connection: one
    # thread per request slot (service.limits.Admission), so an admitted request never waits
    # for a thread. Should the pool still run dry, the answer is a 503 with Retry-After.
    configure_logging(get_settings().log_level)
    anyio.to_thread.current_default_thread_limiter().total_tokens = request_slots()
    # The background rounds (offer timeouts, expiry) and local batch runs resumed after a restart.
    async with background.lifespan(app), runs_jobs.lifespan(app):
        if get_settings().gc_freeze:
            # Started: what is alive now (modules, the app, its routes and models) lives as
            # long as the process. Out of the collector's way, a full pass of a worker fell
            # from 140-170 ms, every thread stopped, to 20-35 ms. Collected first, so no
            # garbage is frozen with it.
            gc.collect()
            gc.freeze()
        yield


def create_app() -> FastAPI:
    app = FastAPI(
        title="Wushe",
        version="0.1.0",
        summary="Five-society (五社联动) community service matching engine",
        generate_unique_id_function=_operation_id,
        lifespan=_lifespan,
    )
    errors.install(app)

    @app.get("/healthz", tags=["probes"])
    def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["probes"], responses=errors.responses(errors.ServiceUnavailable))
    def readyz() -> dict[str, str]:
        """The database answers and its schema is at the migration head."""
        try:
            with get_engine().connect() as connection:
                connection.execute(text("SELECT 1"))
                revision = current_revision(connection)
        except Exception as exc:
            raise errors.ServiceUnavailable(f"database unreachable: {type(exc).__name__}") from None
        if revision != head_revision():
            raise errors.ServiceUnavailable(
                f"database schema at {revision}, expected {head_revision()}"
            )
        return {"status": "ready", "revision": revision}

    for router in (
        auth_router,
        places_router,
        residents_router,
        responders_router,
        catalogue_router,
        funds_router,
        requests_router,
        assignments_router,
        audit_router,
        dispatch_router,
        events_router,
        runs_router,
        zones_router,
        pickups_router,
        emergency_router,
        indicators_router,
        console_router,
        metrics_router,
    ):
        # Every POST honours Idempotency-Key (service/idempotency).
        protect_posts(router)
        app.include_router(router)
    # Front-door limits, outside the routes: a body too large or a caller too fast is refused
    # before it is read or touches the database.
    app.add_middleware(BodyType, file_paths=IMPORT_PATHS, file_types=IMPORT_MEDIA_TYPES)
    # Inside the body limit, so a slow upload is read before it takes a slot.
    app.add_middleware(Admission)
    app.add_middleware(BodyLimit, file_paths=IMPORT_PATHS)
    app.add_middleware(RateLimit)
    # Added last so it is outermost and times every request, refusals included.
    app.add_middleware(MetricsMiddleware)
    # Outermost: every request gets its id before anything else runs or logs.
    app.add_middleware(AccessLog)
    return app


app = create_app()
