"""A run's plan as files: CSV, GeoJSON, and printable route sheets (HTML) per responder.

Every export is built from one `PlanView`: the stored plan joined, in one short read, with
the requests, residents, responders, categories and funds it names. Residents' phones and
addresses are masked everywhere (`service.residents.privacy`); the one exception is a
responder's own sheet of a committed run, which shows in full the contact of the residents
they deliver to while they hold a live assignment for that request, each such reveal audited.
Residents' notes and requests' descriptions (health details) are never exported.

Times are local (Asia/Shanghai, the communities' clock) with their offset.
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.assignments.models import LIVE_STATES, Assignment
from service.auth.principal import Principal, Role
from service.catalogue.models import ServiceCategory
from service.dispatch.adapter import LOCAL
from service.errors import Conflict, NotFound
from service.funds.models import CharityFund
from service.pickups.models import PickupPoint
from service.requests.models import ServiceRequest
from service.residents import privacy
from service.residents.models import Resident
from service.responders.models import Responder
from service.runs import repository as repo
from service.runs.models import DispatchRun
from service.zones.models import Zone

CSV_COLUMNS = (
    "row",  # assigned | unassigned
    "request_id",
    "category_code",
    "category_name",
    "urgency",
    "responder_ids",
    "responder_names",
    "roles",
    "start",
    "travel_minutes",
    "distance_m",
    "fund_id",
    "fund_name",
    "fixed",
    "resident_name",
    "resident_phone",
    "resident_address",
    "lon",
    "lat",
    "reason",
    "message",
    "remedy",
    "commit",
    "commit_why",
)
# Several values in one cell (a team) are separated by this, as the import's lists are.
LIST_SEP = ";"
# Free text a spreadsheet would run as a formula if it began with one of these.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TEXT_COLUMNS = frozenset(
    {"resident_name", "resident_address", "responder_names", "message", "remedy", "commit_why"}
)


@dataclass
class PlanView:
    """A stored plan with what the database knows of the objects it names."""

    run: DispatchRun
    plan: dict[str, Any]
    requests: dict[str, ServiceRequest]
    residents: dict[str, Resident]
    responders: dict[str, Responder]
    categories: dict[str, ServiceCategory]
    funds: dict[str, CharityFund]
    # pickup points' and zones' names by id (a routes plan's pickup and gate stops)
    places: dict[str, str] = field(default_factory=dict)
    # request id -> the commit's change for it (dropped, resolved, unplaced), if committed
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    # request ids whose resident's contact is shown in full (a responder's own sheet)
    revealed: frozenset[str] = frozenset()

    @property
    def routes(self) -> list[dict[str, Any]] | None:
        routes = self.plan.get("routes")
        return routes if isinstance(routes, list) else None

    def start_of(self, a: dict[str, Any]) -> datetime | None:
        if a.get("start") is None:
            return None
        return datetime.fromisoformat(self.plan["origin"]) + timedelta(minutes=a["start"])

    def responder_name(self, responder_id: str) -> str:
        r = self.responders.get(responder_id)
        return r.name if r is not None else responder_id

    def contact(self, request_id: str) -> dict[str, Any]:
        """The request's resident as an export shows it: masked unless revealed."""
        request = self.requests.get(request_id)
        resident = self.residents.get(request.resident_id or "") if request else None
        if resident is None:
            return {"name": None, "phone": None, "address": None}
        full = privacy.view(resident, full=request_id in self.revealed)
        return {k: full[k] for k in ("name", "phone", "address")}

    def responders_in_plan(self) -> list[str]:
        """Everyone with work in the plan, whoever sets out first first (then by name)."""
        first: dict[str, datetime | None] = {}
        for a in self.plan.get("assignments", []):
            for j in a["responder_ids"]:
                first[j] = _earliest(first.get(j), self.start_of(a))
        for route in self.routes or []:
            start = datetime.fromisoformat(route["start"]) if route.get("start") else None
            first[route["responder_id"]] = _earliest(first.get(route["responder_id"]), start)
        never = datetime.max.replace(tzinfo=UTC)
        return sorted(first, key=lambda j: (first[j] or never, self.responder_name(j), j))


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min((t for t in (a, b) if t is not None), default=None)


# --- access


def dispatcher_view(session: Session, principal: Principal, run_id: str) -> PlanView:
    """A run the dispatcher sees, with a plan (404 for another community's, 409 without)."""
    from service.runs import service as runs

    run = runs.get_run(session, principal, run_id)
    if run.plan is None:
        raise Conflict(f"The run is {run.state} and has no plan yet.")
    return load(session, run)


def sheet_view(session: Session, principal: Principal, run_id: str, responder_id: str) -> PlanView:
    """One responder's sheet. Dispatchers read any run of theirs with a plan, masked. A
    responder reads only their own sheet of a committed run (a preview is not their work,
    so it does not exist for them: 404, like another responder's sheet), with the contact
    of the residents they hold a live assignment for shown in full and audited."""
    if principal.role is not Role.responder:
        view = dispatcher_view(session, principal, run_id)
        if responder_id not in view.responders_in_plan():
            raise NotFound("This responder has nothing in this run's plan.")
        return view
    run = repo.get_run(session, run_id)
    if (
        principal.responder_id != responder_id
        or run is None
        or run.state != "committed"
        or run.plan is None
    ):
        raise NotFound("No such route sheet.")
    view = load(session, run)
    if responder_id not in view.responders_in_plan():
        raise NotFound("No such route sheet.")
    view.revealed = frozenset(_own_deliveries(view, responder_id) & _held(session, responder_id))
    for resident_id in sorted({view.requests[rid].resident_id or "" for rid in view.revealed}):
        resident = view.residents.get(resident_id)
        if resident is not None:
            _audit_reveal(session, resident, run.id)
    return view


def _own_deliveries(view: PlanView, responder_id: str) -> set[str]:
    """Requests this responder meets the resident for: deliver stops of their route, or
    their assignments in an assignment plan (a gate drop never meets the resident)."""
    if view.routes is not None:
        return {
            rid
            for route in view.routes
            if route["responder_id"] == responder_id
            for stop in route["stops"]
            if stop["kind"] == "deliver"
            for rid in stop["request_ids"]
        }
    return {
        a["request_id"]
        for a in view.plan.get("assignments", [])
        if responder_id in a["responder_ids"]
    }


def _held(session: Session, responder_id: str) -> set[str]:
    stmt = select(Assignment.request_id).where(
        Assignment.responder_id == responder_id, Assignment.state.in_(LIVE_STATES)
    )
    return set(session.scalars(stmt))


def _audit_reveal(session: Session, resident: Resident, run_id: str) -> None:
    from service.audit.recorder import write_now

    why = f"responder's own route sheet of dispatch run {run_id}"
    write_now(session, resident, "reveal", None, {"fields": ["phone", "address"], "why": why})


def load(session: Session, run: DispatchRun) -> PlanView:
    plan: dict[str, Any] = run.plan or {}
    request_ids = {a["request_id"] for a in plan.get("assignments", [])}
    request_ids |= {u["request_id"] for u in plan.get("unassigned", [])}
    for route in plan.get("routes") or []:
        request_ids |= {rid for stop in route["stops"] for rid in stop["request_ids"]}
    requests = repo.requests_by_id(session, sorted(request_ids))
    residents = _by_id(session, Resident, {r.resident_id for r in requests.values()})
    responder_ids = {j for a in plan.get("assignments", []) for j in a["responder_ids"]}
    responder_ids |= {r["responder_id"] for r in plan.get("routes") or []}
    categories = {
        c.code: c
        for c in session.scalars(
            select(ServiceCategory).where(
                ServiceCategory.code.in_(sorted({r.category_code for r in requests.values()}))
            )
        )
    }
    commit = plan.get("commit") or {}
    stops = [stop for route in plan.get("routes") or [] for stop in route["stops"]]
    pickups = _by_id(session, PickupPoint, {s["place_id"] for s in stops if s["kind"] == "pickup"})
    zones = _by_id(session, Zone, {s["place_id"] for s in stops if s["kind"].startswith("gate")})
    return PlanView(
        run=run,
        plan=plan,
        requests=requests,
        residents=residents,
        responders=_by_id(session, Responder, responder_ids),
        categories=categories,
        funds=_by_id(session, CharityFund, {a.get("fund_id") for a in plan.get("assignments", [])}),
        changes={c["request_id"]: c for c in commit.get("changes", [])},
        places={i: p.name for i, p in (pickups | zones).items()},
    )


def _by_id(session: Session, model: Any, ids: Iterable[str | None]) -> dict[str, Any]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    return {o.id: o for o in session.scalars(select(model).where(model.id.in_(wanted)))}


# --- rows: one per planned assignment and one per unassigned request


def rows(view: PlanView) -> list[dict[str, Any]]:
    out = []
    for a in view.plan.get("assignments", []):
        start = view.start_of(a)
        fund = view.funds.get(a.get("fund_id") or "")
        out.append(
            {
                **_request_part(view, a["request_id"]),
                "row": "assigned",
                "responder_ids": list(a["responder_ids"]),
                "responder_names": [view.responder_name(j) for j in a["responder_ids"]],
                "roles": list(a.get("roles", [])),
                "start": start.astimezone(LOCAL).isoformat() if start else None,
                "travel_minutes": list(a.get("travel_minutes", [])),
                "distance_m": list(a.get("distance_m", [])),
                "fund_id": a.get("fund_id"),
                "fund_name": fund.name if fund is not None else None,
                "fixed": bool(a.get("fixed")),
            }
        )
    for u in view.plan.get("unassigned", []):
        out.append(
            {
                **_request_part(view, u["request_id"]),
                "row": "unassigned",
                **{k: u.get(k) for k in ("reason", "message", "remedy")},
            }
        )
    return out


def _request_part(view: PlanView, request_id: str) -> dict[str, Any]:
    request = view.requests.get(request_id)
    category = view.categories.get(request.category_code) if request else None
    contact = view.contact(request_id)
    change = view.changes.get(request_id, {})
    return {
        "request_id": request_id,
        "category_code": request.category_code if request else None,
        "category_name": category.name_zh if category else None,
        "urgency": request.urgency if request else None,
        "resident_name": contact["name"],
        "resident_phone": contact["phone"],
        "resident_address": contact["address"],
        "lon": request.lon if request else None,
        "lat": request.lat if request else None,
        "commit": change.get("what"),
        "commit_why": change.get("why"),
    }


def to_csv(view: PlanView) -> bytes:
    """UTF-8 with a byte-order mark, so Excel (zh-CN) reads Chinese text right; CRLF rows."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows(view):
        writer.writerow({c: _cell(c, row.get(c)) for c in CSV_COLUMNS})
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        value = LIST_SEP.join(str(v) for v in value)
    text = str(value)
    if column in TEXT_COLUMNS and text.startswith(FORMULA_START):
        text = "'" + text  # shown as text, never evaluated
    return text


def to_geojson(view: PlanView) -> dict[str, Any]:
    """A FeatureCollection: a Point per request (null geometry if its place is unknown) and,
    for a routes plan, a LineString per route from the responder's base through its stops."""
    features: list[dict[str, Any]] = []
    for row in rows(view):
        lon, lat = row.pop("lon"), row.pop("lat")
        geometry = {"type": "Point", "coordinates": [lon, lat]} if lon is not None else None
        features.append(
            {"type": "Feature", "id": row["request_id"], "geometry": geometry, "properties": row}
        )
    for route in view.routes or []:
        line = [[s["lon"], s["lat"]] for s in route["stops"]]
        base = view.responders.get(route["responder_id"])
        if base is not None:
            line.insert(0, [base.lon, base.lat])
        if len(line) < 2:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": line},
                "properties": {
                    "row": "route",
                    "responder_id": route["responder_id"],
                    "responder_name": view.responder_name(route["responder_id"]),
                    **{k: route.get(k) for k in ("start", "end", "distance_m", "duration_min")},
                    "stops": len(route["stops"]),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
