"""The route plan: per responder an ordered list of stops, and unserved orders with reasons."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

STOP_KINDS = ("pickup", "deliver", "gate_drop", "gate_pickup")


@dataclass(frozen=True)
class Stop:
    kind: str                    # one of STOP_KINDS
    place_id: str                # pickup point id, zone id (gate) or building/delivery id
    location: tuple[float, float]
    arrival: int                 # minutes; previous departure + travel
    start: int                   # service start (>= arrival, inside the window)
    departure: int               # start + service minutes
    orders: tuple[str, ...]      # delivery ids picked up or dropped here
    items: dict[str, int]        # item -> boxes picked up or dropped here
    load_after: int              # boxes on board after the stop


@dataclass(frozen=True)
class Route:
    responder_id: str
    start: int                   # departure from base
    end: int                     # arrival at the route's end
    distance_m: int
    duration_min: int
    stops: tuple[Stop, ...]


@dataclass(frozen=True)
class Unserved:
    delivery_id: str
    reason: str
    message: str
    remedy: str


@dataclass(frozen=True)
class RoutePlan:
    status: str                  # "feasible" (every hard constraint holds) or "empty"
    time_s: float
    routes: tuple[Route, ...]
    unserved: tuple[Unserved, ...]
    figures: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        for r in d["routes"]:
            for s in r["stops"]:
                s["location"] = list(s["location"])
                s["orders"] = list(s["orders"])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> RoutePlan:
        routes = tuple(
            Route(**{**r, "stops": tuple(Stop(**{**s, "location": tuple(s["location"]),
                                                  "orders": tuple(s["orders"])})
                                         for s in r["stops"])})
            for r in d["routes"])
        return cls(status=d["status"], time_s=d["time_s"], routes=routes,
                   unserved=tuple(Unserved(**u) for u in d["unserved"]),
                   figures=dict(d.get("figures", {})))
