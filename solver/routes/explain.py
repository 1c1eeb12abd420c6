"""Why an order is unserved, in a dispatcher's words, and what would change it.

The checks run in the order a dispatcher would fix things: stock, zone clearance, vehicle
capacity, the deadline against everyone's shift (the earliest anyone eligible could reach
the pickup point while it is open and then the door), whether any single responder could
make the delivery at all from an empty route (`reach.py`: fetch, door window, back within
shift and route limit, with the boxes aboard), and last "everyone who could was already
booked". The first that fails is the reason; the remedy is computed from the data.

Reasons fall in two classes. INFEASIBLE: the order could not be delivered even if it were
the only one (no stock anywhere, nobody cleared, too heavy, too early, out of reach).
NOT_FITTED: it could be, alone, but the plan gave what it needs to other orders (the stock
went to more urgent or earlier orders, or every responder who could was booked).
"""

from __future__ import annotations

import numpy as np

from solver.routes.plan import Unserved
from solver.routes.prepare import Prepared
from solver.routes.problem import RESTRICTED
from solver.routes.reach import Fleet

INF = 10**9
INFEASIBLE = ("no_stock", "no_cleared_responder", "capacity", "deadline_too_early",
              "out_of_reach")
NOT_FITTED = ("stock_taken", "no_time_left")


def clock(minute: int) -> str:
    return f"{(minute // 60) % 24:02d}:{minute % 60:02d}"


def km(metres: float) -> str:
    return f"{int(round(metres))} m" if metres < 1000 else f"{metres / 1000:.1f} km"


def explain(prep: Prepared, served: set[str]) -> list[Unserved]:
    pb = prep.problem
    prep.from_base = {}  # point -> minutes from every base (shared by many orders)
    dl = pb.deliveries
    task_of = {i: t for t in prep.tasks for i in t.orders}
    earliest: dict[int, int] = {}  # task id -> earliest door arrival
    zone_at = {z.id: i for i, z in enumerate(pb.zones)}
    speed = np.array([v.speed_kmh for v in pb.vehicles], dtype=np.float64)
    shift = np.array([v.shift for v in pb.vehicles], dtype=np.int64).reshape(-1, 2)
    cap = np.array([v.capacity for v in pb.vehicles], dtype=np.int64)
    fleet = Fleet(prep)
    out = []
    for i, d in enumerate(dl):
        if d.id in served:
            continue
        out.append(_one(prep, i, task_of.get(i), zone_at, speed, shift, cap, earliest, fleet))
    return sorted(out, key=lambda u: u.delivery_id)


def _minutes(prep, a, b, speed):
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    return prep.places.minutes(a, b, speed)


def _from_base(prep, point, speed):
    if point not in prep.from_base:
        prep.from_base[point] = _minutes(prep, prep.base, point, speed)
    return prep.from_base[point]


def _out_of_reach(d, pickup_ids: str) -> Unserved:
    return Unserved(d.id, "out_of_reach",
                    f"No single responder who may carry it can fetch it at {pickup_ids}, "
                    f"reach the door by {clock(d.window[1])} and be back within their shift "
                    "and route limit, even with nothing else to do.",
                    "extend the deadline or a shift or route limit, or add a responder "
                    f"based nearer {d.building_id or d.id}")


def _one(prep, i, task, zone_at, speed, shift, cap, earliest, fleet) -> Unserved:
    pb = prep.problem
    d = pb.deliveries[i]
    nv = len(pb.vehicles)
    zone = pb.zones[zone_at[d.zone_id]] if d.zone_id is not None else None
    restricted = zone is not None and zone.status in RESTRICTED
    handoff = restricted and zone.status == "sealed" and zone.gate is not None
    if task is None:  # the stock pre-pass found no pickup point for it
        holders = [p for p in pb.pickup_points if p.stock.get(d.item, 0) >= d.boxes]
        if not holders:
            return Unserved(d.id, "no_stock",
                            f"No pickup point holds {d.boxes} boxes of '{d.item}'.",
                            f"stock {d.boxes} boxes of '{d.item}' at a pickup point")
        soonest = _soonest_from(prep, i, holders)
        if soonest > d.window[1]:
            when = "never" if soonest >= INF else clock(soonest)
            return Unserved(d.id, "deadline_too_early",
                            f"The deadline {clock(d.window[1])} is too early for anyone's "
                            f"shift: the earliest arrival with '{d.item}' is {when}.",
                            "no change of deadline helps: no pickup point holding it is open "
                            "during a shift" if soonest >= INF
                            else f"move the deadline to {clock(soonest)} or later")
        zi = zone_at[d.zone_id] if restricted else None
        door = prep.places.add(d.location)  # already known: returns its index
        pids = {p.id: k for k, p in enumerate(pb.pickup_points)}
        if restricted and not fleet.cleared(zi).any():
            return Unserved(d.id, "no_cleared_responder",
                            f"No responder is cleared for {zone.status} zone {zone.id}.",
                            f"clear a responder for zone {zone.id}")
        if not any(fleet.can_deliver(pids[p.id], door, d.window, d.service_minutes, d.boxes,
                                     zi, handoff) for p in holders):
            return _out_of_reach(d, " or ".join(p.id for p in holders[:3]))
        return Unserved(d.id, "stock_taken",
                        f"The '{d.item}' at pickup points that could reach the door by "
                        f"{clock(d.window[1])} went to more urgent or earlier orders.",
                        f"restock '{d.item}' at {holders[0].id} or extend the deadline")
    key = ("cleared", None if zone is None else zone.id)
    if key not in prep.from_base:
        prep.from_base[key] = np.array([zone is not None and zone.id in v.zone_clearances
                                        for v in pb.vehicles], dtype=bool)
    cleared = prep.from_base[key]
    if restricted and not cleared.any():
        return Unserved(d.id, "no_cleared_responder",
                        f"No responder is cleared for {zone.status} zone {zone.id}.",
                        f"clear a responder for zone {zone.id}")
    last = cleared if restricted else np.ones(nv, dtype=bool)
    if not (cap[last] >= d.boxes).any():
        return Unserved(d.id, "capacity",
                        f"The order's {d.boxes} boxes are more than any responder who may "
                        f"carry them holds (largest: {int(cap[last].max())}).",
                        f"send a responder carrying {d.boxes} boxes, or split the order")
    key = (task.id, d.window[0], d.service_minutes)
    if key not in earliest:
        earliest[key] = _earliest(prep, task, d, handoff, cleared, last, speed, shift)
    door_at = earliest[key]
    if door_at > d.window[1]:
        when = "never" if door_at >= INF else clock(door_at)
        return Unserved(d.id, "deadline_too_early",
                        f"The deadline {clock(d.window[1])} is too early for anyone's "
                        f"shift: the earliest arrival is {when}.",
                        "no change of deadline helps: no shift reaches the door" if
                        door_at >= INF else f"move the deadline to {clock(door_at)} or later")
    if not fleet.can_deliver(task.pickup, task.door, d.window, d.service_minutes, d.boxes,
                             task.zone, task.handoff):
        return _out_of_reach(d, pb.pickup_points[task.pickup].id)
    near = prep.places.metres(prep.base, np.full(nv, task.door))
    near = np.where(last, near, np.inf)
    return Unserved(d.id, "no_time_left",
                    "Every responder who could make it in time was already booked by more "
                    "urgent or better-placed orders.",
                    f"add a responder near {d.building_id or d.id} (nearest eligible base "
                    f"{km(float(near.min()))} away) or extend the deadline")


def _soonest_from(prep, i, holders) -> int:
    """The stock pre-pass's own test: the earliest door (or gate) arrival from any holder,
    opening no earlier than the first shift, at the fastest responder's speed."""
    pb = prep.problem
    d = pb.deliveries[i]
    first = min((v.shift[0] for v in pb.vehicles), default=0)
    fastest = max((v.speed_kmh for v in pb.vehicles), default=15.0)
    target = d.location
    if d.zone_id is not None:
        z = next(z for z in pb.zones if z.id == d.zone_id)
        if z.status == "sealed" and z.gate is not None:
            target = z.gate
    best = INF
    for p in holders:
        opens = max(p.hours[0], first)
        if opens <= p.hours[1]:
            a = prep.places.points.index(p.location)
            b = prep.places.points.index(target)
            best = min(best, opens + p.service_minutes + int(prep.places.minutes(a, b,
                                                                                fastest)))
    return best


def _earliest(prep, task, d, handoff, cleared, last, speed, shift) -> int:
    """Earliest door arrival by anyone allowed, each starting at their shift start and
    back at their route end by its close; INF when nobody can."""
    pb = prep.problem
    pp = pb.pickup_points[task.pickup]
    pick = int(prep.pickup_point[task.pickup])
    at_pick = np.maximum(shift[:, 0] + _from_base(prep, pick, speed), pp.hours[0])
    at_pick = np.where(at_pick <= pp.hours[1], at_pick, INF)
    leave = at_pick + pp.service_minutes
    if handoff:
        zone = pb.zones[task.zone]
        gate = int(prep.gate_point[task.zone])
        at_gate = leave + _minutes(prep, pick, gate, speed)
        ready = int(at_gate.min()) + zone.gate_service_minutes
        start = np.maximum(shift[:, 0] + _from_base(prep, gate, speed), ready)
        door = start + _minutes(prep, gate, task.door, speed)
    else:
        door = leave + _minutes(prep, pick, task.door, speed)
    door = np.maximum(door, d.window[0])
    home = door + d.service_minutes + _minutes(prep, task.door, prep.end, speed)
    door = np.where(last & (home <= shift[:, 1]) & (door < INF), door, INF)
    return int(door.min()) if len(door) else INF
