"""Validation of the problem's JSON form; every error names the offending field."""

from __future__ import annotations

import math
from typing import Any

from solver.problem import (
    DEFAULT_TAG_WEIGHT,
    DEFAULT_URGENCY_WEIGHT,
    KINDS,
    LICENCES,
    URGENCIES,
    ZONE_STATUSES,
    Fixed,
    Fund,
    Params,
    Problem,
    ProblemError,
    Request,
    Responder,
    TeamSlot,
    Travel,
    finite,
)

_MISSING = object()


class _Obj:
    """A dict being read, remembering its path for error messages."""

    def __init__(self, data: Any, path: str):
        if not isinstance(data, dict):
            raise ProblemError(path, "must be an object")
        self.data = data
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, default: Any = _MISSING) -> Any:
        if key not in self.data or (self.data[key] is None and default is not _MISSING):
            if default is _MISSING:
                raise ProblemError(self.at(key), "is required")
            return default
        return self.data[key]

    def string(self, key: str, default: Any = _MISSING, optional: bool = False) -> Any:
        value = self.get(key, None if optional else default)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            raise ProblemError(self.at(key), "must be a non-empty string")
        return value

    def integer(self, key: str, default: Any = _MISSING, minimum: int | None = 0,
                optional: bool = False) -> Any:
        value = self.get(key, None if optional else default)
        if value is None and optional:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ProblemError(self.at(key), "must be an integer")
        if minimum is not None and value < minimum:
            raise ProblemError(self.at(key), f"must be >= {minimum}, got {value}")
        return value

    def number(self, key: str, default: Any = _MISSING, positive: bool = False) -> float:
        value = self.get(key, default)
        if not finite(value) or value < 0 or (positive and value == 0):
            raise ProblemError(self.at(key), "must be a " + ("positive" if positive else
                                                                "non-negative") + " number")
        return float(value)

    def choice(self, key: str, options: tuple[str, ...], default: Any = _MISSING,
               optional: bool = False) -> Any:
        value = self.get(key, None if optional else default)
        if value is None and optional:
            return None
        if value not in options:
            raise ProblemError(self.at(key), f"must be one of {', '.join(options)}; got {value!r}")
        return value

    def strings(self, key: str, optional: bool = False) -> Any:
        value = self.get(key, None if optional else [])
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ProblemError(self.at(key), "must be a list of strings")
        return tuple(value)

    def lonlat(self, key: str) -> tuple[float, float]:
        value = self.get(key)
        if (not isinstance(value, list | tuple) or len(value) != 2
                or not all(finite(v) for v in value)):
            raise ProblemError(self.at(key), "must be [longitude, latitude]")
        lon, lat = float(value[0]), float(value[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ProblemError(self.at(key), f"[{lon}, {lat}] is not a WGS-84 [lon, lat]")
        return lon, lat


def _interval(value: Any, path: str) -> tuple[int, int]:
    if (not isinstance(value, list | tuple) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise ProblemError(path, "must be [start, end] in integer minutes")
    if value[1] < value[0]:
        raise ProblemError(path, f"end {value[1]} before start {value[0]}")
    return int(value[0]), int(value[1])


def _objects(data: Any, path: str) -> list[_Obj]:
    if not isinstance(data, list):
        raise ProblemError(path, "must be a list")
    return [_Obj(item, f"{path}[{i}]") for i, item in enumerate(data)]


def _team(o: _Obj) -> tuple[TeamSlot, ...] | None:
    raw = o.get("team", None)
    if raw is None:
        return None
    slots = []
    for s in _objects(raw, o.at("team")):
        slots.append(TeamSlot(
            role=s.choice("role", KINDS), count=s.integer("count", minimum=1),
            qualifications=s.strings("qualifications"),
            min_licence=s.choice("min_licence", LICENCES, "none")))
    if not slots:
        raise ProblemError(o.at("team"), "must list at least one slot (or be null)")
    return tuple(slots)


_PLAIN_KEYS = frozenset(("id", "location", "category", "community_id", "resident_id",
                         "resident_tags", "urgency", "window", "duration", "quantity", "cost",
                         "qualifications", "min_licence", "max_distance_m", "zone_id",
                         "zone_status", "excluded_responders", "previous_responder", "team"))


def _is_int(v: Any) -> bool:
    return type(v) is int and v >= 0


def _is_strs(v: Any) -> bool:
    return type(v) is list and all(type(x) is str for x in v)


def _opt_str(v: Any) -> bool:
    return v is None or (type(v) is str and v != "")


def _request_fast(d: Any) -> Request | None:
    """The common, well-formed single-responder request without the per-field bookkeeping
    (100,000 requests parse in a fraction of the time); None sends it to the checked path,
    which names the field if anything is wrong."""
    if type(d) is not dict or not _PLAIN_KEYS.issuperset(d) or d.get("team") is not None:
        return None
    rid, loc, window = d.get("id"), d.get("location"), d.get("window")
    duration, quantity, cost = d.get("duration", 0), d.get("quantity", 0), d.get("cost", 0)
    tags, quals = d.get("resident_tags", []), d.get("qualifications", [])
    excl, limit = d.get("excluded_responders", []), d.get("max_distance_m")
    category, zone_status = d.get("category", ""), d.get("zone_status")
    if not (type(rid) is str and rid and type(loc) is list and len(loc) == 2
            and all(type(x) in (int, float) and math.isfinite(x) for x in loc)
            and -180 <= loc[0] <= 180 and -90 <= loc[1] <= 90
            and _is_int(duration) and _is_int(quantity) and _is_int(cost)
            and _is_strs(tags) and _is_strs(quals) and _is_strs(excl)
            and (limit is None or _is_int(limit)) and type(category) is str
            and d.get("urgency", "normal") in URGENCIES
            and d.get("min_licence", "none") in LICENCES
            and (zone_status is None or zone_status in ZONE_STATUSES)
            and (zone_status not in ("sealed", "controlled") or d.get("zone_id"))
            and all(_opt_str(d.get(k)) for k in ("community_id", "resident_id", "zone_id",
                                                 "previous_responder"))
            and (window is None or (type(window) is list and len(window) == 2
                                    and type(window[0]) is int and type(window[1]) is int
                                    and window[0] <= window[1]))):
        return None
    return Request(
        id=rid, location=(float(loc[0]), float(loc[1])), category=category,
        community_id=d.get("community_id"), resident_id=d.get("resident_id"),
        resident_tags=tuple(tags), urgency=d.get("urgency") or "normal",
        window=None if window is None else (window[0], window[1]), duration=duration,
        quantity=quantity, cost=cost, qualifications=tuple(quals),
        min_licence=d.get("min_licence") or "none", max_distance_m=limit, team=None,
        zone_id=d.get("zone_id"), zone_status=zone_status, excluded_responders=tuple(excl),
        previous_responder=d.get("previous_responder"))


def _category(o: _Obj) -> str:
    value = o.get("category", "")
    if not isinstance(value, str):
        raise ProblemError(o.at("category"), "must be a string")
    return value


def _request(o: _Obj) -> Request:
    window = o.get("window", None)
    zone_status = o.choice("zone_status", ZONE_STATUSES, optional=True)
    zone_id = o.string("zone_id", optional=True)
    if zone_status in ("sealed", "controlled") and zone_id is None:
        raise ProblemError(o.at("zone_id"), f"is required when zone_status is {zone_status}")
    return Request(
        id=o.string("id"), location=o.lonlat("location"), category=_category(o),
        community_id=o.string("community_id", optional=True),
        resident_id=o.string("resident_id", optional=True),
        resident_tags=o.strings("resident_tags"),
        urgency=o.choice("urgency", URGENCIES, "normal"),
        window=None if window is None else _interval(window, o.at("window")),
        duration=o.integer("duration", 0), quantity=o.integer("quantity", 0),
        cost=o.integer("cost", 0), qualifications=o.strings("qualifications"),
        min_licence=o.choice("min_licence", LICENCES, "none"),
        max_distance_m=o.integer("max_distance_m", optional=True),
        team=_team(o), zone_id=zone_id, zone_status=zone_status,
        excluded_responders=o.strings("excluded_responders"),
        previous_responder=o.string("previous_responder", optional=True))


def _responder(o: _Obj) -> Responder:
    shifts = o.get("shifts", None)
    if shifts is not None:
        if not isinstance(shifts, list):
            raise ProblemError(o.at("shifts"), "must be a list of [start, end] or null")
        shifts = tuple(_interval(s, f"{o.at('shifts')}[{i}]") for i, s in enumerate(shifts))
    return Responder(
        id=o.string("id"), kind=o.choice("kind", KINDS), location=o.lonlat("location"),
        radius_m=o.integer("radius_m"), speed_kmh=o.number("speed_kmh", 15.0, positive=True),
        qualifications=o.strings("qualifications"),
        licence=o.choice("licence", LICENCES, "none"),
        categories=o.strings("categories", optional=True),
        community_ids=o.strings("community_ids"), shifts=shifts,
        max_tasks=o.integer("max_tasks", optional=True),
        max_minutes=o.integer("max_minutes", optional=True),
        load_capacity=o.integer("load_capacity", optional=True),
        zone_clearances=o.strings("zone_clearances"))


def _params(o: _Obj) -> Params:
    weights = {}
    for key, defaults in (("tag_weight", DEFAULT_TAG_WEIGHT),
                          ("urgency_weight", DEFAULT_URGENCY_WEIGHT)):
        raw = _Obj(o.get(key, {}), o.at(key))
        merged = dict(defaults)
        for name in raw.data:
            merged[name] = raw.integer(name, minimum=1 if key == "urgency_weight" else 0)
        if key == "urgency_weight" and set(merged) - set(URGENCIES):
            raise ProblemError(o.at(key), f"keys must be among {', '.join(URGENCIES)}")
        weights[key] = merged
    return Params(
        tag_weight=weights["tag_weight"], urgency_weight=weights["urgency_weight"],
        travel_weight_per_km=o.number("travel_weight_per_km", 10.0),
        fairness_weight=o.number("fairness_weight", 5.0),
        continuity_bonus=o.number("continuity_bonus", 30.0),
        same_community_bonus=o.number("same_community_bonus", 10.0))


def _unique(items: list[Any], path: str) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, item in enumerate(items):
        if item.id in index:
            raise ProblemError(f"{path}[{i}].id", f"duplicate id {item.id!r}")
        index[item.id] = i
    return index


def parse_problem(data: Any) -> Problem:
    root = _Obj(data, "")
    raw = root.get("requests", [])
    if not isinstance(raw, list):
        raise ProblemError("requests", "must be a list")
    requests = [_request_fast(d) or _request(_Obj(d, f"requests[{i}]"))
                for i, d in enumerate(raw)]
    raw = root.get("responders", [])
    if not isinstance(raw, list):
        raise ProblemError("responders", "must be a list")
    # A Responder parsed for an earlier problem passes as it is (frozen, validated then).
    responders = [d if isinstance(d, Responder) else _responder(_Obj(d, f"responders[{i}]"))
                  for i, d in enumerate(raw)]
    funds = [Fund(id=o.string("id"), balance=o.integer("balance"),
                  categories=o.strings("categories", optional=True),
                  community_ids=o.strings("community_ids", optional=True),
                  resident_tags=o.strings("resident_tags", optional=True))
             for o in _objects(root.get("funds", []), "funds")]
    req_index = _unique(requests, "requests")
    resp_index = _unique(responders, "responders")
    fund_index = _unique(funds, "funds")
    fixed = []
    seen: set[str] = set()
    for o in _objects(root.get("fixed", []), "fixed"):
        f = Fixed(request_id=o.string("request_id"), responder_ids=o.strings("responder_ids"),
                  start=o.integer("start", optional=True, minimum=None),
                  fund_id=o.string("fund_id", optional=True))
        if f.request_id not in req_index:
            raise ProblemError(o.at("request_id"), f"unknown request {f.request_id!r}")
        if f.request_id in seen:
            raise ProblemError(o.at("request_id"), f"request {f.request_id!r} fixed twice")
        seen.add(f.request_id)
        if not f.responder_ids:
            raise ProblemError(o.at("responder_ids"), "must name at least one responder")
        for j, rid in enumerate(f.responder_ids):
            if rid not in resp_index:
                raise ProblemError(f"{o.at('responder_ids')}[{j}]", f"unknown responder {rid!r}")
        if f.fund_id is not None and f.fund_id not in fund_index:
            raise ProblemError(o.at("fund_id"), f"unknown fund {f.fund_id!r}")
        fixed.append(f)
    travel = None
    if root.get("travel", None) is not None:
        travel = []
        for o in _objects(root.get("travel"), "travel"):
            t = Travel(responder=o.string("responder"), request=o.string("request"),
                       minutes=o.integer("minutes"), metres=o.integer("metres"))
            if t.responder not in resp_index:
                raise ProblemError(o.at("responder"), f"unknown responder {t.responder!r}")
            if t.request not in req_index:
                raise ProblemError(o.at("request"), f"unknown request {t.request!r}")
            travel.append(t)
        travel = tuple(travel)
    origin = root.get("origin", None)
    if origin is not None and not isinstance(origin, str):
        raise ProblemError("origin", "must be an RFC 3339 string")
    return Problem(requests=tuple(requests), responders=tuple(responders), funds=tuple(funds),
                   fixed=tuple(fixed), travel=travel,
                   params=_params(_Obj(root.get("params", {}), "params")), origin=origin)


def _request_dict(r: Request) -> dict[str, Any]:
    d = {k: getattr(r, k) for k in Request.__dataclass_fields__}
    d["location"] = list(r.location)
    d["window"] = None if r.window is None else list(r.window)
    for k in ("resident_tags", "qualifications", "excluded_responders"):
        d[k] = list(d[k])
    d["team"] = None if r.team is None else [
        {"role": s.role, "count": s.count, "qualifications": list(s.qualifications),
         "min_licence": s.min_licence} for s in r.team]
    return d


def _responder_dict(j: Responder) -> dict[str, Any]:
    d = {k: getattr(j, k) for k in Responder.__dataclass_fields__}
    for k in ("location", "qualifications", "community_ids", "zone_clearances"):
        d[k] = list(d[k])
    d["categories"] = None if j.categories is None else list(j.categories)
    d["shifts"] = None if j.shifts is None else [list(s) for s in j.shifts]
    return d


def _listify(value: Any) -> Any:
    return None if value is None else list(value)


def problem_to_dict(p: Problem) -> dict[str, Any]:
    return {
        "origin": p.origin,
        "requests": [_request_dict(r) for r in p.requests],
        "responders": [_responder_dict(j) for j in p.responders],
        "funds": [{"id": f.id, "balance": f.balance, "categories": _listify(f.categories),
                   "community_ids": _listify(f.community_ids),
                   "resident_tags": _listify(f.resident_tags)} for f in p.funds],
        "fixed": [{"request_id": f.request_id, "responder_ids": list(f.responder_ids),
                   "start": f.start, "fund_id": f.fund_id} for f in p.fixed],
        "travel": None if p.travel is None else [
            {"responder": t.responder, "request": t.request, "minutes": t.minutes,
             "metres": t.metres} for t in p.travel],
        "params": {"tag_weight": dict(p.params.tag_weight),
                   "urgency_weight": dict(p.params.urgency_weight),
                   "travel_weight_per_km": p.params.travel_weight_per_km,
                   "fairness_weight": p.params.fairness_weight,
                   "continuity_bonus": p.params.continuity_bonus,
                   "same_community_bonus": p.params.same_community_bonus},
    }
