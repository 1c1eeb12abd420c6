"""Bulk intake: grid leaders' lists of needs, as CSV or GeoJSON, stored row by row.

Every row is validated exactly as `POST /v1/requests` validates one request. Good rows are
stored, bad rows come back with their row number, the field and the reason. Rows are keyed
by ``external_id`` (required here): a row whose id was imported before is reported as
unchanged, so sending the same file again changes nothing. All rows go into one
transaction. A bad row is refused before anything of it is added (no savepoints: on SQLite,
releasing a first savepoint would commit); anything other than a row's own validation error
rolls the whole import back, so an import that fails midway leaves nothing behind.

Imported requests are not matched one by one as they arrive (a list of hundreds would hold
responder locks for the whole import); they wait, submitted, for a batch run.
"""

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from service.auth.principal import Principal
from service.config import get_settings
from service.errors import PayloadTooLarge, ProblemError, Unprocessable
from service.requests import repository as repo
from service.requests import schemas

SOURCE = "import"
# Columns a CSV may carry (GeoJSON: the same names as feature properties, minus lon/lat).
COLUMNS = (
    "external_id",
    "category_code",
    "lon",
    "lat",
    "window_start",
    "window_end",
    "urgency",
    "quantity",
    "duration_min",
    "cost_fen",
    "resident_id",
    "grid_id",
    "description",
    "required_qualifications",
    "max_distance_m",
    "zone_id",
)
LISTS = ("required_qualifications",)


@dataclass
class Rejected:
    row: int
    field: str
    reason: str


@dataclass
class Outcome:
    stored: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def rows_from_csv(content: bytes) -> list[dict[str, Any]]:
    """Rows of a UTF-8 CSV (a BOM is fine), with empty cells left out."""
    text = _text(content)
    reader = csv.DictReader(io.StringIO(text))
    unknown = [c for c in reader.fieldnames or [] if c not in COLUMNS]
    if not reader.fieldnames:
        raise Unprocessable.on("body", "the CSV has no header row")
    if unknown:
        raise Unprocessable.on("body", f"unknown column(s) {', '.join(map(repr, unknown))}")
    rows = []
    for raw in reader:
        if None in raw:
            rows.append({"__error__": "more cells than columns"})
            continue
        row: dict[str, Any] = {k: v.strip() for k, v in raw.items() if v is not None and v.strip()}
        for name in LISTS:
            if name in row:
                row[name] = [part.strip() for part in row[name].split(";") if part.strip()]
        rows.append(row)
    return rows


def rows_from_geojson(content: bytes) -> list[dict[str, Any]]:
    """Rows of a GeoJSON FeatureCollection of Points; properties carry the other columns."""
    try:
        document = json.loads(_text(content))
    except json.JSONDecodeError as exc:
        raise Unprocessable.on("body", f"not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        raise Unprocessable.on("body", "a GeoJSON FeatureCollection is expected")
    features = document.get("features")
    if not isinstance(features, list):
        raise Unprocessable.on("body", "the FeatureCollection has no features list")
    rows = []
    for feature in features:
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") != "Point":
            rows.append({"__error__": "each feature needs a Point geometry"})
            continue
        unknown = [k for k in (props or {}) if k not in COLUMNS or k in ("lon", "lat")]
        if unknown:
            rows.append({"__error__": f"unknown propert(ies) {', '.join(map(repr, unknown))}"})
            continue
        coordinates = geometry.get("coordinates") or [None, None]
        row = {k: v for k, v in (props or {}).items() if v not in (None, "")}
        row["lon"], row["lat"] = (list(coordinates) + [None, None])[:2]
        rows.append(row)
    return rows


def _text(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unprocessable.on("body", "the file is not UTF-8 text") from None


def _request(community_id: str, row: dict[str, Any]) -> schemas.RequestCreate:
    body: dict[str, Any] = {k: v for k, v in row.items() if k not in ("lon", "lat")}
    if "lon" in row or "lat" in row:
        body["location"] = {"type": "Point", "coordinates": [row.get("lon"), row.get("lat")]}
    return schemas.RequestCreate.model_validate({**body, "community_id": community_id})


def _field(loc: tuple[Any, ...]) -> str:
    if loc and loc[0] == "location":
        return "lon/lat"
    return ".".join(str(p) for p in loc) or "row"


def import_rows(
    session: Session, principal: Principal, community_id: str, rows: list[dict[str, Any]]
) -> Outcome:
    """Store the good rows (each in a savepoint), report the bad and the already imported."""
    from service.places.service import visible_community
    from service.requests.service import create_request

    limit = get_settings().import_max_rows
    if len(rows) > limit:
        raise PayloadTooLarge(f"{len(rows)} rows; an import holds at most {limit}")
    visible_community(session, principal, community_id, "community_id")
    outcome = Outcome()
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        if "__error__" in row:
            outcome.rejected.append(Rejected(number, "row", row["__error__"]))
            continue
        external_id = str(row.get("external_id") or "")
        if not external_id:
            outcome.rejected.append(Rejected(number, "external_id", "required for imports"))
            continue
        if external_id in seen:
            outcome.rejected.append(
                Rejected(number, "external_id", f"repeats row {seen[external_id]}")
            )
            continue
        seen[external_id] = number
        existing = repo.by_external_id(session, SOURCE, external_id)
        if existing is not None and existing.community_id != community_id:
            outcome.rejected.append(
                Rejected(number, "external_id", "already imported for another community")
            )
            continue
        if existing is not None:
            outcome.unchanged.append(existing.id)
            continue
        try:
            data = _request(community_id, row)
        except ValidationError as exc:
            first = exc.errors()[0]
            outcome.rejected.append(Rejected(number, _field(tuple(first["loc"])), first["msg"]))
            continue
        try:
            created = create_request(session, principal, data, match=False, source=SOURCE)
        except ProblemError as exc:
            if session.new:
                # create_request refuses a row before adding anything; if that ever changed,
                # failing the whole import is the safe way out.
                raise
            where = exc.errors[0].field if exc.errors else "row"
            outcome.rejected.append(Rejected(number, where, exc.detail))
            continue
        outcome.stored.append(created.id)
    return outcome
