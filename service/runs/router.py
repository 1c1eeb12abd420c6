"""Batch dispatch runs over HTTP: start, watch, read the plan, commit, cancel."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from service.auth.principal import Principal, Role, SessionDep, require
from service.errors import COMMON, Conflict, NotFound, responses
from service.pagination import Page, PageParams
from service.runs import repository as repo
from service.runs import schemas
from service.runs import service as runs

router = APIRouter(prefix="/v1", tags=["dispatch runs"])

Dispatcher = Annotated[Principal, Depends(require(Role.dispatcher))]
Pages = Annotated[PageParams, Depends()]
MAX_STREAM_SECONDS = 300


class RunStreamResponse(StreamingResponse):
    media_type = "text/event-stream"


@router.post("/dispatch-runs", status_code=202, responses=responses(*COMMON))
def create_dispatch_run(
    session: SessionDep, principal: Dispatcher, body: schemas.RunCreate, response: Response
) -> schemas.RunOut:
    """Start a run over a grid, community or street; it executes off the request path.

    `mode=preview` leaves a plan to read and commit; `mode=commit` applies it when done.
    """
    run = runs.create_run(session, principal, body)
    response.headers["Location"] = f"/v1/dispatch-runs/{run.id}"
    return runs.run_out(run)


@router.get("/dispatch-runs", responses=responses(*COMMON))
def list_dispatch_runs(
    session: SessionDep,
    principal: Dispatcher,
    page: Pages,
    state: str | None = None,
    scope_type: str | None = None,
    scope_id: str | None = None,
) -> Page[schemas.RunOut]:
    items, cursor = repo.list_runs(session, principal, page, state, scope_type, scope_id)
    return Page(items=[runs.run_out(r) for r in items], next_cursor=cursor)


@router.get("/dispatch-runs/{run_id}", responses=responses(*COMMON, NotFound))
def get_dispatch_run(session: SessionDep, principal: Dispatcher, run_id: str) -> schemas.RunOut:
    """State, phase and progress (requests considered, best objective so far, bound)."""
    return runs.run_out(runs.get_run(session, principal, run_id))


@router.get(
    "/dispatch-runs/{run_id}/stream",
    response_class=RunStreamResponse,
    responses={
        200: {
            "description": "Server-sent events: `run` (the run as JSON, on every change) "
            "and a final `end` when the run has finished.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **responses(*COMMON, NotFound),
    },
)
def stream_dispatch_run(
    session: SessionDep,
    request: Request,
    principal: Dispatcher,
    run_id: str,
    max_seconds: Annotated[
        int, Query(ge=1, le=MAX_STREAM_SECONDS, description="Close the stream after this long")
    ] = 60,
) -> RunStreamResponse:
    """The run's progress as it changes, until it ends or `max_seconds` pass."""
    runs.get_run(session, principal, run_id)
    body = runs.stream(principal, run_id, max_seconds, request.is_disconnected)
    return RunStreamResponse(body, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/dispatch-runs/{run_id}/plan", responses=responses(*COMMON, NotFound, Conflict))
def get_dispatch_run_plan(
    session: SessionDep, principal: Dispatcher, run_id: str
) -> schemas.PlanOut:
    """The plan (409 until there is one): assignments, and each unassigned request with its
    reason, a message and the remedy that would change it."""
    return runs.plan_of(session, principal, run_id)


@router.post("/dispatch-runs/{run_id}/commit", responses=responses(*COMMON, NotFound, Conflict))
def commit_dispatch_run(
    session: SessionDep, principal: Dispatcher, run_id: str
) -> schemas.CommitOut:
    """Turn a previewed plan into offers in one transaction, after re-checking what changed
    since; requests that no longer fit are re-solved first. The answer lists the changes."""
    runs.get_run(session, principal, run_id)
    # The commit uses short transactions of its own and may re-solve: end this read first so
    # no transaction stays open while the solver works.
    session.rollback()
    return runs.commit_run(principal, run_id)


@router.delete("/dispatch-runs/{run_id}", responses=responses(*COMMON, NotFound, Conflict))
def cancel_dispatch_run(session: SessionDep, principal: Dispatcher, run_id: str) -> schemas.RunOut:
    """Stop the run: the solver stops, the best plan so far is kept (state `cancelled`)."""
    return runs.run_out(runs.cancel_run(session, principal, run_id))
