"""Delivery-route problems: immutable data and its validated construction from JSON.

`RoutesProblem.from_dict` is the only way in from untrusted data; it raises
`solver.problem.ProblemError(path, message)` naming the first offending field, e.g.
`deliveries[3].window: end 600 before start 700`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from solver.problem import ProblemError

URGENCIES = ("normal", "urgent", "emergency")  # tier order, lowest first
ZONE_STATUSES = ("sealed", "controlled", "precaution")
RESTRICTED = ("sealed", "controlled")  # only cleared responders enter
HORIZON = 7 * 24 * 60  # a problem covers at most a week of minutes


@dataclass(frozen=True)
class Vehicle:
    id: str
    base: tuple[float, float]
    end: tuple[float, float]
    shift: tuple[int, int]
    capacity: int
    speed_kmh: float = 15.0
    zone_clearances: tuple[str, ...] = ()
    max_route_minutes: int | None = None


@dataclass(frozen=True)
class PickupPoint:
    id: str
    location: tuple[float, float]
    hours: tuple[int, int]
    stock: dict[str, int]
    service_minutes: int = 1


@dataclass(frozen=True)
class Zone:
    id: str
    status: str
    gate: tuple[float, float] | None = None
    gate_service_minutes: int = 2


@dataclass(frozen=True)
class Delivery:
    id: str
    location: tuple[float, float]
    window: tuple[int, int]
    boxes: int
    item: str
    urgency: str = "normal"
    building_id: str | None = None
    zone_id: str | None = None
    service_minutes: int = 2


@dataclass(frozen=True)
class Travel:
    """A client-supplied matrix over `points`; it replaces great-circle figures."""

    points: tuple[tuple[float, float], ...]
    metres: tuple[tuple[int, ...], ...]
    minutes: tuple[tuple[int, ...], ...] | None = None


@dataclass(frozen=True)
class RoutesProblem:
    vehicles: tuple[Vehicle, ...]
    pickup_points: tuple[PickupPoint, ...]
    deliveries: tuple[Delivery, ...]
    zones: tuple[Zone, ...] = ()
    travel: Travel | None = None
    origin: str | None = None

    @classmethod
    def from_dict(cls, d: Any) -> RoutesProblem:
        return _parse(d)

    def to_dict(self) -> dict:
        out = {"origin": self.origin,
               "responders": [_plain(asdict(v)) for v in self.vehicles],
               "pickup_points": [_plain(asdict(p)) for p in self.pickup_points],
               "zones": [_plain(asdict(z)) for z in self.zones],
               "deliveries": [_plain(asdict(x)) for x in self.deliveries],
               "travel": _plain(asdict(self.travel)) if self.travel else None}
        for v in out["responders"]:
            v["zone_clearances"] = list(v["zone_clearances"])
        return out


def _plain(x):
    if isinstance(x, tuple | list):
        return [_plain(v) for v in x]
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    return x


# --- field readers: each names the path of what it rejects ---------------------------------

def _obj(x, path):
    if not isinstance(x, dict):
        raise ProblemError(path, "must be an object")
    return x


def _list(x, path, optional=False):
    if x is None and optional:
        return []
    if not isinstance(x, list):
        raise ProblemError(path, "must be a list")
    return x


def _str(d, key, path, optional=False):
    x = d.get(key)
    if x is None and optional:
        return None
    if not isinstance(x, str) or not x:
        raise ProblemError(f"{path}.{key}", "must be a non-empty string")
    return x


def _int(d, key, path, default=None, lo=0, hi=10**9):
    x = d.get(key, default)
    if x is None and default is None:
        raise ProblemError(f"{path}.{key}", "is required")
    if isinstance(x, bool) or not isinstance(x, int | float) or x != int(x):
        raise ProblemError(f"{path}.{key}", "must be an integer")
    if not lo <= x <= hi:
        raise ProblemError(f"{path}.{key}", f"must be between {lo} and {hi}")
    return int(x)


def _point(x, path):
    if (not isinstance(x, list | tuple) or len(x) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in x)
            or not all(math.isfinite(v) for v in x)):
        raise ProblemError(path, "must be [lon, lat]")
    lon, lat = float(x[0]), float(x[1])
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ProblemError(path, "lon must be in [-180, 180] and lat in [-90, 90]")
    return (lon, lat)


def _window(x, path):
    if (not isinstance(x, list | tuple) or len(x) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in x)):
        raise ProblemError(path, "must be [start, end] in whole minutes")
    a, b = x
    if not 0 <= a <= HORIZON or not 0 <= b <= HORIZON:
        raise ProblemError(path, f"minutes must be in [0, {HORIZON}]")
    if b < a:
        raise ProblemError(path, f"end {b} before start {a}")
    return (a, b)


def _unique(items, path):
    seen = set()
    for i, it in enumerate(items):
        if it.id in seen:
            raise ProblemError(f"{path}[{i}].id", f"duplicate id '{it.id}'")
        seen.add(it.id)


def _vehicle(d, path) -> Vehicle:
    _obj(d, path)
    base = _point(d.get("base"), f"{path}.base")
    end = _point(d["end"], f"{path}.end") if d.get("end") is not None else base
    speed = d.get("speed_kmh", 15.0)
    if (isinstance(speed, bool) or not isinstance(speed, int | float)
            or not math.isfinite(speed) or not 0 < speed <= 200):
        raise ProblemError(f"{path}.speed_kmh", "must be a number in (0, 200]")
    clear = _list(d.get("zone_clearances"), f"{path}.zone_clearances", optional=True)
    for i, z in enumerate(clear):
        if not isinstance(z, str) or not z:
            raise ProblemError(f"{path}.zone_clearances[{i}]", "must be a non-empty string")
    mrm = d.get("max_route_minutes")
    return Vehicle(id=_str(d, "id", path), base=base, end=end,
                   shift=_window(d.get("shift"), f"{path}.shift"),
                   capacity=_int(d, "capacity", path, lo=1, hi=10**6),
                   speed_kmh=float(speed), zone_clearances=tuple(clear),
                   max_route_minutes=None if mrm is None
                   else _int(d, "max_route_minutes", path, lo=0, hi=HORIZON))


def _pickup(d, path) -> PickupPoint:
    _obj(d, path)
    stock = _obj(d.get("stock"), f"{path}.stock")
    clean = {}
    for item in stock:
        clean[item] = _int(stock, item, f"{path}.stock", lo=0, hi=10**9)
    return PickupPoint(id=_str(d, "id", path), location=_point(d.get("location"),
                                                                f"{path}.location"),
                       hours=_window(d.get("hours"), f"{path}.hours"), stock=clean,
                       service_minutes=_int(d, "service_minutes", path, default=1, hi=600))


def _zone(d, path) -> Zone:
    _obj(d, path)
    status = d.get("status")
    if status not in ZONE_STATUSES:
        raise ProblemError(f"{path}.status", f"must be one of {', '.join(ZONE_STATUSES)}")
    gate = d.get("gate")
    return Zone(id=_str(d, "id", path), status=status,
                gate=None if gate is None else _point(gate, f"{path}.gate"),
                gate_service_minutes=_int(d, "gate_service_minutes", path, default=2, hi=600))


def _delivery(d, path, zones) -> Delivery:
    _obj(d, path)
    urgency = d.get("urgency", "normal")
    if urgency not in URGENCIES:
        raise ProblemError(f"{path}.urgency", f"must be one of {', '.join(URGENCIES)}")
    zone_id = _str(d, "zone_id", path, optional=True)
    if zone_id is not None and zone_id not in zones:
        raise ProblemError(f"{path}.zone_id", f"unknown zone '{zone_id}'")
    return Delivery(id=_str(d, "id", path),
                    location=_point(d.get("location"), f"{path}.location"),
                    window=_window(d.get("window"), f"{path}.window"),
                    boxes=_int(d, "boxes", path, lo=1, hi=10**6),
                    item=_str(d, "item", path), urgency=urgency,
                    building_id=_str(d, "building_id", path, optional=True), zone_id=zone_id,
                    service_minutes=_int(d, "service_minutes", path, default=2, hi=600))


def _travel(d, path) -> Travel | None:
    if d is None:
        return None
    _obj(d, path)
    pts = tuple(_point(p, f"{path}.points[{i}]")
                for i, p in enumerate(_list(d.get("points"), f"{path}.points")))
    n = len(pts)

    def matrix(key):
        rows = _list(d.get(key), f"{path}.{key}")
        if len(rows) != n:
            raise ProblemError(f"{path}.{key}", f"must have {n} rows, one per point")
        out = []
        for i, row in enumerate(rows):
            row = _list(row, f"{path}.{key}[{i}]")
            if len(row) != n:
                raise ProblemError(f"{path}.{key}[{i}]", f"must have {n} entries")
            for j, x in enumerate(row):
                if isinstance(x, bool) or not isinstance(x, int) or x < 0:
                    raise ProblemError(f"{path}.{key}[{i}][{j}]",
                                       "must be a non-negative integer")
            out.append(tuple(row))
        return tuple(out)

    return Travel(points=pts, metres=matrix("metres"),
                  minutes=matrix("minutes") if d.get("minutes") is not None else None)


def _parse(d) -> RoutesProblem:
    _obj(d, "problem")
    vehicles = tuple(_vehicle(x, f"responders[{i}]")
                     for i, x in enumerate(_list(d.get("responders"), "responders")))
    pickups = tuple(_pickup(x, f"pickup_points[{i}]")
                    for i, x in enumerate(_list(d.get("pickup_points"), "pickup_points")))
    zones = tuple(_zone(x, f"zones[{i}]")
                  for i, x in enumerate(_list(d.get("zones"), "zones", optional=True)))
    _unique(vehicles, "responders")
    _unique(pickups, "pickup_points")
    _unique(zones, "zones")
    zone_ids = {z.id for z in zones}
    deliveries = tuple(_delivery(x, f"deliveries[{i}]", zone_ids)
                       for i, x in enumerate(_list(d.get("deliveries"), "deliveries")))
    _unique(deliveries, "deliveries")
    travel = _travel(d.get("travel"), "travel")
    if travel is not None:
        known = set(travel.points)
        places = ([(f"responders[{i}].base", v.base) for i, v in enumerate(vehicles)]
                  + [(f"responders[{i}].end", v.end) for i, v in enumerate(vehicles)]
                  + [(f"pickup_points[{i}].location", p.location)
                     for i, p in enumerate(pickups)]
                  + [(f"zones[{i}].gate", z.gate) for i, z in enumerate(zones) if z.gate]
                  + [(f"deliveries[{i}].location", x.location)
                     for i, x in enumerate(deliveries)])
        for where, p in places:
            if p not in known:
                raise ProblemError(where, "not among travel.points")
    origin = d.get("origin")
    if origin is not None and not isinstance(origin, str):
        raise ProblemError("origin", "must be a string")
    return RoutesProblem(vehicles=vehicles, pickup_points=pickups, deliveries=deliveries,
                         zones=zones, travel=travel, origin=origin)
