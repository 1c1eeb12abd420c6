"""Routes runs: the scope's deliveries as a `solver.routes` problem, and its route plan as the
run's stored plan (the translation between rows and the routing library, both ways).

What a routes run plans:
- deliveries: open requests of a delivery category (DELIVERY_CATEGORIES) with a quantity;
  the item is the request's category code, the boxes its quantity, the door the resident's
  home (the request's own point when it names no resident). Requests of one building share
  a stop: the building is the resident's address (hashed with the community, so no address
  enters the plan), else the door's coordinates rounded to about 10 m. A paid delivery
  (cost > 0) is left to assignment runs, which reserve its fund.
- one planning day, the local day of the earliest delivery window (from now on); a delivery
  whose window opens on a later day is reported, not planned.
- vehicles: active responders of the scope with a load capacity, the emergency team only
  in emergency mode (an organization only if its services include a delivery), in the
  longest free stretch of their shift that day (other timed live work and the time already
  past cut it), for no longer than the minutes their day and week caps leave; a responder
  with no task or minute left is not used. The capacity is what it carries at once: routes
  go back to a pickup point when they must. Qualifications, licences, radius and preferred
  distance are not part of a routes problem: deliveries ask for none by default, and a
  request that does should go through an assignment run.
- pickup points: the scope's active points, their hours on the planning day, their stock.
- zones: every zone a delivery lies in, with its status and gate (an id no zone has is
  sealed, as in assignment runs).
"""

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from service.assignments.models import LIVE_STATES
from service.dispatch import adapter
from service.dispatch import repository as dispatch_repo
from service.pickups import repository as pickups_repo
from service.pickups.schemas import minutes as clock_minutes
from service.requests.models import ServiceRequest
from service.residents.models import Resident
from service.responders.models import Responder
from solver import geo
from solver.routes import RoutePlan, RoutesProblem, solve_routes
from solver.routes.problem import HORIZON

DELIVERY_CATEGORIES = frozenset({"medicine_delivery", "meal_delivery"})
# Decimals of a door's rounded coordinates that stand for its building (~10 m).
BUILDING_DECIMALS = 4
# A free stretch of shift shorter than this is no route.
MIN_SHIFT_MINUTES = 15
DAY = 1440


@dataclass
class Loaded:
    """A routes problem and what turning its plan back into a run's plan needs."""

    problem: RoutesProblem
    origin: datetime
    considered: int
    # Requests reported unassigned without solving (not a delivery, later day, paid).
    reported: list[dict[str, Any]] = field(default_factory=list)
    # Responder id -> its kind: the role of the offers a commit writes.
    roles: dict[str, str] = field(default_factory=dict)


def _report(request_id: str, reason: str, message: str, remedy: str) -> dict[str, Any]:
    return {"request_id": request_id, "reason": reason, "message": message, "remedy": remedy}


def is_delivery(request: ServiceRequest) -> bool:
    return request.category_code in DELIVERY_CATEGORIES and request.quantity > 0


def build(
    session: Session,
    community_ids: list[str],
    request_ids: list[str],
    now: datetime,
    *,
    named: bool,
) -> Loaded:
    """The routes problem for these open requests; ``named``: the caller listed them, so a
    request that is no delivery is reported rather than passed over."""
    rows: list[ServiceRequest] = []
    reported = []
    for rid, r in sorted(dispatch_repo.requests_by_id(session, request_ids).items()):
        if not is_delivery(r):
            if named:
                reported.append(
                    _report(
                        rid,
                        "not_a_delivery",
                        f"A {r.category_code} request with {r.quantity} boxes is no delivery.",
                        "plan it with an assignment run (kind assign)",
                    )
                )
        elif r.cost_fen > 0:
            reported.append(
                _report(
                    rid,
                    "needs_fund",
                    "A paid delivery needs a fund reserved, which routes runs do not do.",
                    "plan it with an assignment run (kind assign)",
                )
            )
        else:
            rows.append(r)
    first = min((max(r.window_start, now) for r in rows), default=now)
    origin = adapter.planning_origin(first)
    week_start = origin - timedelta(days=origin.weekday())
    ctx = adapter.Context(
        origin=origin,
        day_end=origin + timedelta(days=1),
        week_start=week_start,
        week_end=week_start + timedelta(days=7),
    )
    ctx.emergency = dispatch_repo.in_emergency(session, community_ids)
    today = []
    for r in rows:
        if max(r.window_start, now) >= ctx.day_end:
            day = max(r.window_start, now).astimezone(adapter.LOCAL).date()
            reported.append(
                _report(
                    r.id,
                    "later_day",
                    f"The window opens on {day}, after this run's day {origin.date()}.",
                    f"plan it with a routes run on {day}",
                )
            )
        else:
            today.append(r)
    vehicles, roles = _vehicles(session, community_ids, ctx, now)
    homes = pickups_repo.residents_by_id(session, [r.resident_id for r in today])
    deliveries = [_delivery(r, homes.get(r.resident_id or ""), ctx, now) for r in today]
    points = pickups_repo.active_points(session, community_ids)
    problem = RoutesProblem.from_dict(
        {
            "origin": origin.isoformat(),
            "responders": vehicles,
            "pickup_points": [
                {
                    "id": p.id,
                    "location": [p.lon, p.lat],
                    "hours": [clock_minutes(p.opens_at), clock_minutes(p.closes_at)],
                    "stock": {item: int(boxes) for item, boxes in (p.stock or {}).items()},
                }
                for p in points
            ],
            "zones": _zones(session, {d["zone_id"] for d in deliveries if d["zone_id"]}),
            "deliveries": deliveries,
        }
    )
    return Loaded(problem, origin, len(today), reported, roles)


def _left(cap: int | None, used: int) -> int | None:
    return None if cap is None else max(0, cap - used)


def _least(*caps: int | None) -> int | None:
    known = [c for c in caps if c is not None]
    return min(known) if known else None


def _vehicles(
    session: Session, community_ids: list[str], ctx: adapter.Context, now: datetime
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    responders = [
        r
        for r in dispatch_repo.active_responders(session, community_ids)
        if r.load_capacity > 0
        and (ctx.emergency or not r.emergency_team)
        # an organization that names its services must name a delivery among them
        and (not r.service_categories or DELIVERY_CATEGORIES & set(r.service_categories))
    ]
    counted = dispatch_repo.work(
        session,
        [r.id for r in responders],
        min(ctx.week_start, ctx.origin),
        max(ctx.week_end, ctx.day_end),
    )
    vehicles, roles = [], {}
    for r in responders:
        mine = [w for w in counted if w.responder_id == r.id]
        day = [w for w in mine if ctx.origin <= w.window_start < ctx.day_end]
        week = [w for w in mine if ctx.week_start <= w.window_start < ctx.week_end]
        task_cap, minute_cap = adapter.day_caps(r, ctx.emergency)
        tasks = _least(_left(task_cap, len(day)), _left(r.max_tasks_per_week, len(week)))
        minutes = _least(
            _left(minute_cap, sum(w.minutes for w in day)),
            _left(r.max_minutes_per_week, sum(w.minutes for w in week)),
        )
        if tasks == 0 or minutes == 0:
            continue
        busy = [w.busy() for w in mine if w.state in LIVE_STATES]
        shift = _free_shift(r, ctx, now, [b for b in busy if b is not None])
        if shift is None:
            continue
        vehicles.append(
            {
                "id": r.id,
                "base": [r.lon, r.lat],
                "shift": shift,
                "capacity": r.load_capacity,
                "speed_kmh": r.speed_kmh,
                "zone_clearances": list(r.zone_clearances or []),
                "max_route_minutes": None if minutes is None else min(minutes, HORIZON),
            }
        )
        roles[r.id] = r.kind
    return vehicles, roles


def _free_shift(
    responder: Responder,
    ctx: adapter.Context,
    now: datetime,
    busy: list[tuple[datetime, datetime]],
) -> list[int] | None:
    """The longest stretch of the responder's shifts on the planning day that is not past
    and not held by other timed work; None if none is MIN_SHIFT_MINUTES long."""
    shifts = adapter.shifts_of(responder, ctx, 1)
    floor = max(0, math.ceil((now - ctx.origin).total_seconds() / 60))
    held = sorted(
        (ctx.minutes(a), math.ceil((b - ctx.origin).total_seconds() / 60)) for a, b in busy
    )
    best: list[int] | None = None
    for a, b in shifts if shifts is not None else [[0, DAY]]:
        start, end = max(a, floor), min(b, DAY)
        for h0, h1 in held + [(end, end)]:
            if h1 <= start:
                continue
            stop = min(h0, end)
            longest = best[1] - best[0] if best is not None else MIN_SHIFT_MINUTES - 1
            if stop - start > longest:
                best = [start, stop]
            start = max(start, h1)
            if start >= end:
                break
    return best


def building_id(community_id: str, address: str | None, lon: float, lat: float) -> str:
    if address and address.strip():
        digest = hashlib.sha256(f"{community_id}\n{address.strip()}".encode()).hexdigest()
        return f"b-{digest[:16]}"
    return f"p-{round(lon, BUILDING_DECIMALS)},{round(lat, BUILDING_DECIMALS)}"


def _delivery(
    request: ServiceRequest, home: Resident | None, ctx: adapter.Context, now: datetime
) -> dict[str, Any]:
    door: ServiceRequest | Resident = home if home is not None else request
    start = max(request.window_start, now)
    opens = math.ceil((start - ctx.origin).total_seconds() / 60)
    return {
        "id": request.id,
        "location": [door.lon, door.lat],
        # A window may run for weeks; the problem covers at most HORIZON minutes.
        "window": [opens, max(opens, min(HORIZON, ctx.minutes(request.window_end)))],
        "boxes": request.quantity,
        "item": request.category_code,
        "urgency": request.urgency,
        "building_id": building_id(
            request.community_id, home.address if home is not None else None, door.lon, door.lat
        ),
        "zone_id": door.zone_id,
    }


def _zones(session: Session, zone_ids: set[str]) -> list[dict[str, Any]]:
    rows = pickups_repo.zones_by_id(session, zone_ids)
    out = []
    for zone_id in sorted(zone_ids):
        z = rows.get(zone_id)
        gate = None
        if z is not None and z.gate_lon is not None and z.gate_lat is not None:
            gate = [z.gate_lon, z.gate_lat]
        out.append({"id": zone_id, "status": z.status if z is not None else "sealed", "gate": gate})
    return out


def solve(
    problem: RoutesProblem,
    *,
    time_limit: float,
    seed: int,
    stop: Any = None,
    on_progress: Any = None,
) -> RoutePlan:
    """The routing library with the executor's solver signature: a cancelled routes run
    stops its searches and keeps the routes they had."""
    return solve_routes(
        problem, time_limit=time_limit, seed=seed, stop=stop, on_progress=on_progress
    )


def plan_body(plan: RoutePlan, loaded: Loaded) -> dict[str, Any]:
    """The stored plan of a routes run: the keys an assignment plan has (one assignment per
    served delivery, the unassigned with reasons) plus ``kind`` and ``routes``."""
    origin = loaded.origin

    def at(minute: int) -> str:
        return (origin + timedelta(minutes=minute)).isoformat()

    bases = {v.id: v.base for v in loaded.problem.vehicles}
    deliveries = {d.id: d for d in loaded.problem.deliveries}
    legs: dict[str, list[tuple[str, Any, int, int]]] = defaultdict(list)
    pickup_of: dict[str, str] = {}
    routes = []
    for route in plan.routes:
        here, left = bases[route.responder_id], route.start
        stops = []
        for s in route.stops:
            travel = s.arrival - left
            metres = int(geo.distance_m(here[0], here[1], s.location[0], s.location[1]))
            stops.append(
                {
                    "kind": s.kind,
                    "place_id": s.place_id,
                    "lon": s.location[0],
                    "lat": s.location[1],
                    "arrival": at(s.arrival),
                    "start": at(s.start),
                    "departure": at(s.departure),
                    "request_ids": list(s.orders),
                    "items": dict(s.items),
                    "load_after": s.load_after,
                }
            )
            if s.kind == "pickup":
                pickup_of.update({o: s.place_id for o in s.orders})
            elif s.kind in ("gate_drop", "deliver"):
                for o in s.orders:
                    legs[o].append((route.responder_id, s, travel, metres))
            here, left = s.location, s.departure
        routes.append(
            {
                "responder_id": route.responder_id,
                "start": at(route.start),
                "end": at(route.end),
                "distance_m": route.distance_m,
                "duration_min": route.duration_min,
                "stops": stops,
            }
        )
    assignments = []
    for rid, rows in legs.items():
        door = [s for _, s, _, _ in rows if s.kind == "deliver"]
        if not door:
            continue  # a first leg without its second is never in a finished plan
        rows.sort(key=lambda leg: leg[1].kind != "gate_drop")  # the leg to the gate first
        assignments.append(
            {
                "request_id": rid,
                "responder_ids": [j for j, _, _, _ in rows],
                "roles": [loaded.roles.get(j, "volunteer") for j, _, _, _ in rows],
                "start": door[0].start,
                "travel_minutes": [t for _, _, t, _ in rows],
                "distance_m": [m for _, _, _, m in rows],
                "fund_id": None,
                "fixed": False,
                "pickup_point_id": pickup_of.get(rid),
                "item": deliveries[rid].item,
                "boxes": deliveries[rid].boxes,
            }
        )
    assignments.sort(key=lambda a: (a["start"], a["request_id"]))
    distance = float(sum(r.distance_m for r in plan.routes))
    return {
        "kind": "routes",
        "status": plan.status,
        "method": "routes",
        # Total distance in metres; the routing search proves no lower bound.
        "objective": distance,
        "bound": 0.0,
        "gap": 1.0 if distance > 0 else 0.0,
        "time_s": plan.time_s,
        "origin": origin.isoformat(),
        "assignments": assignments,
        "unassigned": loaded.reported
        + [_report(u.delivery_id, u.reason, u.message, u.remedy) for u in plan.unserved],
        "routes": routes,
        "figures": dict(plan.figures),
    }
