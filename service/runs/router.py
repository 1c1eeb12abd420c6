"""Batch dispatch runs over HTTP: start, watch, read the plan, commit, cancel."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from service.auth.principal import Principal, Role, SessionDep, require
from service.errors import COMMON, Conflict, NotFound, responses
from service.pagination import Page, PageParams
from service.runs import exports, schemas, sheets
from service.runs import repository as repo
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
    """Start a run over a grid, community, street or district; it executes off the request
    path. A run over several streets is planned as independent parts, in parallel over the
    job engine's workers; its progress counts parts done and requests planned.

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
    """Stop the run: the solver stops, the best plan so far is kept (state `cancelled`).
    A run split into parts stops every part and keeps no plan (a part's would be half)."""
    return runs.run_out(runs.cancel_run(session, principal, run_id))


# --- exports: the plan as CSV and GeoJSON, and printable route sheets (service/runs/exports.py)

SheetReader = Annotated[Principal, Depends(require(Role.dispatcher, Role.responder))]
# Exports carry residents' (masked or, on a responder's own sheet, full) contact data.
NOT_STORED = {"Cache-Control": "no-store"}
# A sheet is plain HTML with inline CSS: nothing else may load or run in it.
SHEET_CSP = "default-src 'none'; style-src 'unsafe-inline'"


# Starlette adds "; charset=utf-8" to text/* types itself.
class CsvResponse(Response):
    media_type = "text/csv"


class GeoJsonResponse(Response):
    media_type = "application/geo+json"


class SheetResponse(Response):
    media_type = "text/html"


def _file(media_type: str, description: str, *problems: type) -> dict[int | str, Any]:
    """The 200 answer as ``media_type``; problems as problem+json only (not also as the
    file's type, which FastAPI would add for a response with a model)."""
    out: dict[int | str, Any] = {
        200: {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}
    }
    for status, answer in responses(*COMMON, NotFound, *problems).items():
        out[status] = {k: v for k, v in answer.items() if k != "model"}
    return out


@router.get(
    "/dispatch-runs/{run_id}/plan.csv",
    response_class=CsvResponse,
    responses=_file(
        "text/csv",
        "UTF-8 with a byte-order mark, header row; one row per planned assignment "
        "(`row`=`assigned`) and per unassigned request (`row`=`unassigned`, with reason, "
        "message, remedy); lists in a cell separated by `;`; residents' contact masked.",
        Conflict,
    ),
)
def export_dispatch_run_plan_csv(
    session: SessionDep, principal: Dispatcher, run_id: str
) -> CsvResponse:
    """The plan as a spreadsheet (409 until there is one)."""
    view = exports.dispatcher_view(session, principal, run_id)
    disposition = f'attachment; filename="plan-{view.run.id}.csv"'
    return CsvResponse(
        exports.to_csv(view), headers={"Content-Disposition": disposition, **NOT_STORED}
    )


@router.get(
    "/dispatch-runs/{run_id}/plan.geojson",
    response_class=GeoJsonResponse,
    responses=_file(
        "application/geo+json",
        "A FeatureCollection: a Point ([lon, lat]) per request with the CSV's columns as "
        "properties, and for a routes plan a LineString per route (`row`=`route`).",
        Conflict,
    ),
)
def export_dispatch_run_plan_geojson(
    session: SessionDep, principal: Dispatcher, run_id: str
) -> GeoJsonResponse:
    """The plan on a map (409 until there is one)."""
    view = exports.dispatcher_view(session, principal, run_id)
    body = json.dumps(exports.to_geojson(view), ensure_ascii=False, separators=(",", ":"))
    disposition = f'attachment; filename="plan-{view.run.id}.geojson"'
    return GeoJsonResponse(
        body.encode("utf-8"), headers={"Content-Disposition": disposition, **NOT_STORED}
    )


@router.get(
    "/dispatch-runs/{run_id}/route-sheets",
    response_class=SheetResponse,
    responses=_file(
        "text/html",
        "Printable HTML, a page per responder, then the unassigned requests; phones masked.",
        Conflict,
    ),
)
def get_dispatch_run_route_sheets(
    session: SessionDep, principal: Dispatcher, run_id: str
) -> SheetResponse:
    """Every responder's route sheet of the plan, to print (409 until there is a plan)."""
    view = exports.dispatcher_view(session, principal, run_id)
    html = sheets.render(view, view.responders_in_plan(), unassigned=True)
    return SheetResponse(html, headers={"Content-Security-Policy": SHEET_CSP, **NOT_STORED})


@router.get(
    "/dispatch-runs/{run_id}/route-sheets/{responder_id}",
    response_class=SheetResponse,
    responses=_file(
        "text/html",
        "Printable HTML: the responder's stops (routes plan) or assignments by start time.",
        Conflict,
    ),
)
def get_dispatch_run_route_sheet(
    session: SessionDep, principal: SheetReader, run_id: str, responder_id: str
) -> SheetResponse:
    """One responder's route sheet. A dispatcher reads it for any run with a plan, residents'
    phones and addresses masked. A responder reads only their own, and only once the run is
    committed (otherwise 404): the residents they hold an assignment for are shown in full,
    and each such reveal is audited."""
    view = exports.sheet_view(session, principal, run_id, responder_id)
    html = sheets.render(view, [responder_id])
    return SheetResponse(html, headers={"Content-Security-Policy": SHEET_CSP, **NOT_STORED})
