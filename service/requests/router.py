from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service.auth.principal import Principal, Role, SessionDep, require
from service.config import get_settings
from service.errors import (
    COMMON,
    Conflict,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    responses,
)
from service.pagination import Page, PageParams
from service.requests import intake, schemas
from service.requests import repository as repo
from service.requests import service as requests
from service.types import Instant

router = APIRouter(prefix="/v1", tags=["requests"])

Reader = Annotated[Principal, Depends(require(*Role))]
Writer = Annotated[Principal, Depends(require(Role.dispatcher, Role.grid_app))]
Pages = Annotated[PageParams, Depends()]


IMPORT_TYPES = {"text/csv": intake.rows_from_csv, "application/geo+json": intake.rows_from_geojson}
IMPORT_TYPES["application/json"] = intake.rows_from_geojson
_IMPORT_BODY = {
    "required": True,
    "content": {
        "text/csv": {
            "schema": {"type": "string"},
            "example": "external_id,category_code,lon,lat,window_start,window_end,quantity\n"
            "gd-001,medicine_delivery,121.031,30.712,"
            "2026-03-02T09:00:00+08:00,2026-03-02T12:00:00+08:00,2\n",
        },
        "application/geo+json": {"schema": {"type": "object"}},
    },
}


@router.post(
    "/requests/import",
    responses=responses(*COMMON, PayloadTooLarge, UnsupportedMediaType),
    openapi_extra={"requestBody": _IMPORT_BODY},
)
async def import_requests(
    request: Request,
    session: SessionDep,
    principal: Writer,
    community_id: Annotated[str, Query(description="The community every row belongs to")],
) -> schemas.ImportOut:
    """Store a list of needs (CSV or GeoJSON, one row per request, keyed by external_id).

    Good rows are stored (not matched one by one: start a batch run for them), bad rows come
    back with row, field and reason, rows imported before are reported unchanged."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    parse = IMPORT_TYPES.get(media_type)
    if parse is None:
        raise UnsupportedMediaType(
            "Send the list as text/csv or application/geo+json, not "
            f"{media_type or 'no content type'}."
        )
    limit = get_settings().import_max_bytes
    if int(request.headers.get("content-length") or 0) > limit:
        raise PayloadTooLarge(f"an import file may hold at most {limit} bytes")
    content = await request.body()
    if len(content) > limit:
        raise PayloadTooLarge(f"an import file may hold at most {limit} bytes")
    rows = await run_in_threadpool(parse, content)
    done = await run_in_threadpool(intake.import_rows, session, principal, community_id, rows)
    return schemas.ImportOut(
        stored=len(done.stored),
        unchanged=len(done.unchanged),
        rejected=[
            schemas.RejectedRow(row=r.row, field=r.field, reason=r.reason) for r in done.rejected
        ],
        stored_ids=done.stored,
        unchanged_ids=done.unchanged,
    )


@router.post(
    "/requests",
    status_code=201,
    response_model=schemas.RequestOut,
    responses=responses(*COMMON, Conflict),
)
def create_request(session: SessionDep, principal: Writer, body: schemas.RequestCreate) -> Response:
    created = schemas.RequestOut.model_validate(requests.create_request(session, principal, body))
    # Serialised here, in the handler's thread: live matching holds responder row locks until
    # the commit, and FastAPI would otherwise need a second worker thread to serialise the
    # answer before committing; with every worker waiting on those locks, none would be free.
    return JSONResponse(created.model_dump(mode="json"), status_code=201)


@router.get("/requests", responses=responses(*COMMON))
def list_requests(
    session: SessionDep,
    principal: Reader,
    page: Pages,
    community_id: str | None = None,
    grid_id: str | None = None,
    state: schemas.RequestState | None = None,
    urgency: schemas.Urgency | None = None,
    category_code: str | None = None,
    source: schemas.Source | None = None,
    external_id: str | None = None,
    created_after: Instant | None = None,
    created_before: Instant | None = None,
) -> Page[schemas.RequestOut]:
    items, cursor = repo.list_requests(
        session,
        principal,
        page,
        community_id=community_id,
        grid_id=grid_id,
        state=state,
        urgency=urgency,
        category_code=category_code,
        source=source,
        external_id=external_id,
        created_after=created_after,
        created_before=created_before,
    )
    return Page(items=[schemas.RequestOut.model_validate(i) for i in items], next_cursor=cursor)


@router.get("/requests/{request_id}", responses=responses(*COMMON, NotFound))
def get_request(session: SessionDep, principal: Reader, request_id: str) -> schemas.RequestOut:
    return schemas.RequestOut.model_validate(requests.get_request(session, principal, request_id))


@router.patch("/requests/{request_id}", responses=responses(*COMMON, NotFound, Conflict))
def update_request(
    session: SessionDep, principal: Writer, request_id: str, body: schemas.RequestUpdate
) -> schemas.RequestOut:
    return schemas.RequestOut.model_validate(
        requests.update_request(session, principal, request_id, body)
    )
