"""Independent checker for route plans: every hard constraint of the "Delivery routes"
contract (solver/README.md).

Written apart from the model: it shares no code with `solver.routes` (not even the
distance function), reads the problem and the plan as JSON-shaped dicts, and replays each
route from its responder's base: travel, arrival, service start, departure, load, stock,
zones, handoffs. `check(problem, plan) -> list[Violation]` is empty for a valid plan.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from typing import Any

EARTH_RADIUS_M = 6_371_000.0
RESTRICTED = {"sealed", "controlled"}
REASONS = {"no_stock", "stock_taken", "no_cleared_responder", "capacity",
           "deadline_too_early", "out_of_reach", "no_time_left"}


@dataclasses.dataclass(frozen=True)
class Violation:
    rule: str      # e.g. "capacity", "window", "stock"
    where: str     # e.g. "routes[2].stops[5]"
    detail: str


def _as_dict(x: Any) -> dict:
    return x.to_dict() if hasattr(x, "to_dict") else x


def _metres(a, b) -> int:
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(h, 1.0))))


class _Travel:
    def __init__(self, travel: dict | None):
        self.at = None
        if travel:
            self.at = {tuple(p): i for i, p in enumerate(travel["points"])}
            self.metres_m = travel["metres"]
            self.minutes_m = travel.get("minutes")

    def metres(self, a, b) -> int:
        if self.at is not None:
            return self.metres_m[self.at[tuple(a)]][self.at[tuple(b)]]
        return _metres(a, b)

    def minutes(self, a, b, speed_kmh: float) -> int:
        if self.at is not None and self.minutes_m is not None:
            return self.minutes_m[self.at[tuple(a)]][self.at[tuple(b)]]
        return max(0, math.ceil(self.metres(a, b) * 60 / (speed_kmh * 1000) - 1e-9))


def check(problem: Any, plan: Any) -> list[Violation]:
    pb, pl = _as_dict(problem), _as_dict(plan)
    out: list[Violation] = []

    def bad(rule, where, detail):
        out.append(Violation(rule, where, detail))

    travel = _Travel(pb.get("travel"))
    vehicles = {v["id"]: v for v in pb["responders"]}
    points = {p["id"]: p for p in pb["pickup_points"]}
    zones = {z["id"]: z for z in pb.get("zones") or []}
    orders = {d["id"]: d for d in pb["deliveries"]}
    building_at = defaultdict(set)
    for d in pb["deliveries"]:
        if d.get("building_id"):
            building_at[d["building_id"]].add(tuple(d["location"]))
    taken = defaultdict(int)             # (pickup point, item) -> boxes
    delivered: dict[str, str] = {}
    gate_drops: dict[str, tuple[str, int]] = {}    # order -> (zone, service end)
    gate_pickups: dict[str, tuple[str, int, str]] = {}
    used = set()

    for ri, r in enumerate(pl["routes"]):
        w = f"routes[{ri}]"
        v = vehicles.get(r["responder_id"])
        if v is None:
            bad("unknown", w, f"unknown responder {r['responder_id']!r}")
            continue
        if v["id"] in used:
            bad("one_route", w, f"responder {v['id']} has two routes")
        used.add(v["id"])
        speed = v.get("speed_kmh", 15.0)
        shift = v["shift"]
        here = v["base"]
        clock = r["start"]
        if clock < shift[0]:
            bad("shift", w, f"leaves at {clock}, shift starts {shift[0]}")
        load = 0
        on_board: dict[str, str] = {}    # order -> how it came aboard ("point"/"gate")
        distance = 0
        for si, s in enumerate(r["stops"]):
            ws = f"{w}.stops[{si}]"
            loc = s["location"]
            distance += travel.metres(here, loc)
            arrive = clock + travel.minutes(here, loc, speed)
            if s["arrival"] != arrive:
                bad("travel", ws, f"arrival {s['arrival']}, travel gives {arrive}")
            if s["start"] < arrive:
                bad("travel", ws, f"service starts {s['start']} before arrival {arrive}")
            boxes = defaultdict(int)
            for o in s["orders"]:
                d = orders.get(o)
                if d is None:
                    bad("unknown", ws, f"unknown delivery {o!r}")
                    continue
                boxes[d["item"]] += d["boxes"]
            if dict(boxes) != {k: n for k, n in s["items"].items()}:
                bad("items", ws, f"items {s['items']} but orders carry {dict(boxes)}")
            n_boxes = sum(boxes.values())
            kind = s["kind"]
            known = [o for o in s["orders"] if o in orders]
            if kind == "pickup":
                p = points.get(s["place_id"])
                if p is None or list(loc) != list(p["location"]):
                    bad("place", ws, f"not at pickup point {s['place_id']!r}")
                    service = 0
                else:
                    service = p.get("service_minutes", 1)
                    if not p["hours"][0] <= s["start"] <= p["hours"][1]:
                        bad("opening_hours", ws, f"{p['id']} visited at {s['start']}, open "
                            f"{p['hours']}")
                    for o in known:
                        item = orders[o]["item"]
                        taken[(p["id"], item)] += orders[o]["boxes"]
                for o in known:
                    if o in on_board:
                        bad("pickup_delivery", ws, f"{o} picked up twice")
                    on_board[o] = "point"
                load += n_boxes
            elif kind == "gate_pickup":
                z = zones.get(s["place_id"])
                service = 0
                if z is None or z.get("gate") is None or list(loc) != list(z["gate"]):
                    bad("place", ws, f"not at the gate of zone {s['place_id']!r}")
                for o in known:
                    gate_pickups[o] = (s["place_id"], s["start"], v["id"])
                    on_board[o] = "gate"
                load += n_boxes
            elif kind == "gate_drop":
                z = zones.get(s["place_id"])
                if z is None or z.get("gate") is None or list(loc) != list(z["gate"]):
                    bad("place", ws, f"not at the gate of zone {s['place_id']!r}")
                    service = 0
                else:
                    service = z.get("gate_service_minutes", 2)
                for o in known:
                    if on_board.pop(o, None) != "point":
                        bad("pickup_delivery", ws, f"{o} dropped at a gate, not on board")
                    if orders[o].get("zone_id") != s["place_id"]:
                        bad("handoff", ws, f"{o} is not in zone {s['place_id']}")
                    gate_drops[o] = (s["place_id"], s["start"] + service)
                load -= n_boxes
            elif kind == "deliver":
                service = max((orders[o].get("service_minutes", 2) for o in known), default=0)
                for o in known:
                    d = orders[o]
                    if on_board.pop(o, None) is None:
                        bad("pickup_delivery", ws, f"{o} delivered without a pickup on "
                            "this route before it")
                    here_ok = (tuple(loc) == tuple(d["location"])
                               or tuple(loc) in building_at.get(d.get("building_id"), ()))
                    if not here_ok:
                        bad("place", ws, f"{o} delivered away from its building")
                    a, b = d["window"]
                    if not a <= s["start"] <= b:
                        bad("window", ws, f"{o} delivered at {s['start']}, window {[a, b]}")
                    z = zones.get(d.get("zone_id"))
                    if z and z["status"] in RESTRICTED and z["id"] not in v.get(
                            "zone_clearances", []):
                        bad("zone", ws, f"{v['id']} not cleared for {z['status']} zone "
                            f"{z['id']}")
                    if o in delivered:
                        bad("once", ws, f"{o} delivered twice")
                    delivered[o] = v["id"]
                load -= n_boxes
            else:
                bad("kind", ws, f"unknown stop kind {kind!r}")
                service = 0
            if s["departure"] != s["start"] + service:
                bad("service", ws, f"departure {s['departure']}, expected "
                    f"{s['start'] + service}")
            if s["load_after"] != load:
                bad("load", ws, f"load_after {s['load_after']}, replay gives {load}")
            if load < 0 or load > v["capacity"]:
                bad("capacity", ws, f"load {load} outside [0, {v['capacity']}]")
            clock = s["departure"]
            here = loc
        end_at = clock + travel.minutes(here, v.get("end") or v["base"], speed)
        distance += travel.metres(here, v.get("end") or v["base"])
        if r["end"] != end_at:
            bad("travel", w, f"end {r['end']}, travel gives {end_at}")
        if end_at > shift[1]:
            bad("shift", w, f"back at {end_at}, shift ends {shift[1]}")
        if r["duration_min"] != r["end"] - r["start"]:
            bad("figures", w, "duration_min is not end - start")
        mrm = v.get("max_route_minutes")
        if mrm is not None and end_at - r["start"] > mrm:
            bad("max_route", w, f"route takes {end_at - r['start']} > {mrm} minutes")
        if r["distance_m"] != distance:
            bad("figures", w, f"distance_m {r['distance_m']}, replay gives {distance}")
        for o in on_board:
            bad("pickup_delivery", w, f"{o} still on board at the end")

    for (pid, item), n in taken.items():
        have = points[pid]["stock"].get(item, 0)
        if n > have:
            bad("stock", f"pickup_points[{pid}]", f"{n} boxes of {item!r} taken, {have} held")
    for o, (zone, pick_at, _) in gate_pickups.items():
        drop = gate_drops.get(o)
        if drop is None or drop[0] != zone:
            bad("handoff", o, f"{o} picked up at the gate of {zone} but never dropped there")
        elif pick_at < drop[1]:
            bad("handoff", o, f"{o} leaves the gate at {pick_at}, before it is handed over "
                f"at {drop[1]}")
    for o in gate_drops:
        if o not in gate_pickups or o not in delivered:
            bad("handoff", o, f"{o} dropped at a gate but its second leg is not planned")
    listed = defaultdict(int)
    for u in pl["unserved"]:
        listed[u["delivery_id"]] += 1
        if u["reason"] not in REASONS or not u.get("message") or not u.get("remedy"):
            bad("unserved", u["delivery_id"], f"bad reason row {u}")
    for o in orders:
        if (o in delivered) + listed[o] != 1:
            bad("accounted", o, f"{o} delivered {int(o in delivered)}x and listed "
                f"unserved {listed[o]}x")
    return out
