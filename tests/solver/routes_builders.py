"""Small builders for delivery-route tests: places by metres east/north of a base point."""

from __future__ import annotations

import math

from solver.routes import RoutesProblem, solve_routes
from solver.routes.check import check

BASE = (121.0, 30.7)


def at(east: float = 0.0, north: float = 0.0) -> list[float]:
    """A [lon, lat] point `east` and `north` metres from BASE."""
    dlat = math.degrees(north / 6_371_000.0)
    dlon = math.degrees(east / (6_371_000.0 * math.cos(math.radians(BASE[1]))))
    return [round(BASE[0] + dlon, 7), round(BASE[1] + dlat, 7)]


def responder(id: str, east: float = 0.0, north: float = 0.0, **kw) -> dict:
    d = {"id": id, "base": at(east, north), "shift": [480, 1080], "capacity": 10,
         "speed_kmh": 12.0}
    d.update(kw)
    return d


def pickup(id: str, east: float = 0.0, north: float = 0.0, **kw) -> dict:
    d = {"id": id, "location": at(east, north), "hours": [480, 1200],
         "stock": {"insulin": 50, "general": 50}}
    d.update(kw)
    return d


def order(id: str, east: float = 0.0, north: float = 0.0, **kw) -> dict:
    d = {"id": id, "location": at(east, north), "window": [480, 1080], "boxes": 1,
         "item": "general"}
    d.update(kw)
    return d


def problem(responders, pickups, deliveries, zones=None, **kw) -> dict:
    d = {"responders": responders, "pickup_points": pickups, "deliveries": deliveries,
         "zones": zones or []}
    d.update(kw)
    return d


def solved(d: dict, time_limit: float = 2.0) -> dict:
    """Solve with one process; the plan must pass the independent checker."""
    plan = solve_routes(RoutesProblem.from_dict(d), time_limit=time_limit, workers=1)
    out = plan.to_dict()
    assert check(d, out) == []
    return out


def stops(plan: dict, responder_id: str | None = None) -> list[dict]:
    return [s for r in plan["routes"] if responder_id in (None, r["responder_id"])
            for s in r["stops"]]


def served(plan: dict) -> set[str]:
    return {o for s in stops(plan) if s["kind"] == "deliver" for o in s["orders"]}


def reasons(plan: dict) -> dict[str, str]:
    return {u["delivery_id"]: u["reason"] for u in plan["unserved"]}
