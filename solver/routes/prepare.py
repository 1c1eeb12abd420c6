"""From orders to tasks: which pickup point serves each order, and which orders share a stop.

Pickup points are fixed before routing by a stock pre-pass: buildings in priority order
(most urgent order, then earliest deadline) take the nearest pickup point that still holds
every item they ordered, open early enough to reach the door (or the zone's gate) by the
deadline; a building no single point can serve is split per order. Stock is reserved as it
is assigned, so no plan can ever take more than a point holds.

A task is one pickup-and-drop: orders of one building from one pickup point, whose windows
overlap (the stop's window is their intersection) and whose boxes fit the largest vehicle.
A task into a sealed zone with a gate has two legs: pickup point -> gate (anyone), gate ->
door (a responder cleared for the zone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from solver.routes.problem import RESTRICTED, URGENCIES, RoutesProblem
from solver.routes.travel import Places

TIER = {u: i for i, u in enumerate(URGENCIES)}


@dataclass
class Task:
    id: int
    orders: list[int]            # delivery indices
    pickup: int                  # pickup point index
    boxes: int
    window: tuple[int, int]      # the door stop's window
    service: int                 # minutes at the door
    tier: int                    # highest urgency rank among its orders
    counts: tuple[int, int, int]  # orders per urgency tier
    door: int                    # point index
    zone: int | None             # restricted zone index (cleared responders only) or None
    handoff: bool                # two legs through the zone's gate


@dataclass
class Prepared:
    problem: RoutesProblem
    places: Places
    tasks: list[Task]
    no_stock: list[int]          # orders no pickup point can supply in time
    base: np.ndarray             # per vehicle, point index
    end: np.ndarray
    pickup_point: np.ndarray     # per pickup point, point index
    gate_point: np.ndarray       # per zone, point index or -1
    clear: list[frozenset[int]]  # per vehicle, zone indices it may enter
    from_base: dict | None = None  # explain's cache: point -> minutes from every base


def prepare(problem: RoutesProblem) -> Prepared:
    places = Places(problem)
    base = np.array([places.add(v.base) for v in problem.vehicles], dtype=np.int64)
    end = np.array([places.add(v.end) for v in problem.vehicles], dtype=np.int64)
    ppt = np.array([places.add(p.location) for p in problem.pickup_points], dtype=np.int64)
    gpt = np.array([places.add(z.gate) if z.gate else -1 for z in problem.zones],
                   dtype=np.int64)
    zone_at = {z.id: i for i, z in enumerate(problem.zones)}
    door = np.array([places.add(d.location) for d in problem.deliveries], dtype=np.int64)
    places.freeze()
    clear = [frozenset(zone_at[z] for z in v.zone_clearances if z in zone_at)
             for v in problem.vehicles]
    fastest = max((v.speed_kmh for v in problem.vehicles), default=15.0)
    first_shift = min((v.shift[0] for v in problem.vehicles), default=0)

    # buildings: orders sharing building_id (and zone) form one group; others stand alone
    groups: dict[tuple, list[int]] = {}
    for i, d in enumerate(problem.deliveries):
        key = ("b", d.building_id, d.zone_id) if d.building_id else ("o", d.id)
        groups.setdefault(key, []).append(i)
    dl = problem.deliveries

    def priority(g):
        return (-max(TIER[dl[i].urgency] for i in g), min(dl[i].window[1] for i in g),
                dl[g[0]].id)

    ordered = sorted(groups.values(), key=priority)
    stock = [dict(p.stock) for p in problem.pickup_points]
    hours = np.array([p.hours for p in problem.pickup_points], dtype=np.int64).reshape(-1, 2)
    svc = np.array([p.service_minutes for p in problem.pickup_points], dtype=np.int64)

    def target(i):
        """Where the pickup leg ends: the gate for a handoff, else the door."""
        z = dl[i].zone_id
        if z is not None:
            zone = problem.zones[zone_at[z]]
            if zone.status == "sealed" and zone.gate is not None:
                return int(gpt[zone_at[z]])
        return int(door[i])

    def candidates(g):
        """Pickup points by distance to the group's target, that can reach it in time."""
        if len(ppt) == 0:
            return []
        t = target(g[0])
        metres = places.metres(ppt, np.full(len(ppt), t))
        mins = places.minutes(ppt, np.full(len(ppt), t), fastest)
        deadline = min(dl[i].window[1] for i in g)
        opens = np.maximum(hours[:, 0], first_shift)  # nobody comes before the first shift
        ok = (opens <= hours[:, 1]) & (opens + svc + mins <= deadline)
        return [int(p) for p in np.argsort(metres, kind="stable") if ok[p]]

    chosen: dict[int, int] = {}
    no_stock: list[int] = []
    for g in ordered:
        need: dict[str, int] = {}
        for i in g:
            need[dl[i].item] = need.get(dl[i].item, 0) + dl[i].boxes
        cands = candidates(g)
        whole = next((p for p in cands
                      if all(stock[p].get(k, 0) >= n for k, n in need.items())), None)
        if whole is not None:
            for k, n in need.items():
                stock[whole][k] -= n
            for i in g:
                chosen[i] = whole
            continue
        for i in sorted(g, key=lambda i: (-TIER[dl[i].urgency], dl[i].window[1], dl[i].id)):
            p = next((p for p in candidates([i])
                      if stock[p].get(dl[i].item, 0) >= dl[i].boxes), None)
            if p is None:
                no_stock.append(i)
                continue
            stock[p][dl[i].item] -= dl[i].boxes
            chosen[i] = p

    cap = max((v.capacity for v in problem.vehicles), default=0)
    tasks: list[Task] = []
    for g in ordered:
        by_pickup: dict[int, list[int]] = {}
        for i in g:
            if i in chosen:
                by_pickup.setdefault(chosen[i], []).append(i)
        for p, orders in sorted(by_pickup.items()):
            orders.sort(key=lambda i: (dl[i].window[1], dl[i].id))
            current: list[int] = []
            win = None
            for i in orders:
                w = dl[i].window
                merged = None if win is None else (max(win[0], w[0]), min(win[1], w[1]))
                boxes = sum(dl[j].boxes for j in current) + dl[i].boxes
                if current and merged[0] <= merged[1] and boxes <= cap:
                    current.append(i)
                    win = merged
                    continue
                if current:
                    tasks.append(_task(len(tasks), current, p, win, door, dl, zone_at,
                                       problem))
                current, win = [i], w
            if current:
                tasks.append(_task(len(tasks), current, p, win, door, dl, zone_at, problem))
    return Prepared(problem=problem, places=places, tasks=tasks, no_stock=no_stock,
                    base=base, end=end, pickup_point=ppt, gate_point=gpt, clear=clear)


def _task(tid, orders, pickup, window, door, dl, zone_at, problem) -> Task:
    counts = [0, 0, 0]
    for i in orders:
        counts[TIER[dl[i].urgency]] += 1
    zone = None
    handoff = False
    z = dl[orders[0]].zone_id
    if z is not None and problem.zones[zone_at[z]].status in RESTRICTED:
        zone = zone_at[z]
        handoff = (problem.zones[zone].status == "sealed"
                   and problem.zones[zone].gate is not None)
    return Task(id=tid, orders=list(orders), pickup=pickup,
                boxes=sum(dl[i].boxes for i in orders), window=window,
                service=max(dl[i].service_minutes for i in orders),
                tier=max(TIER[dl[i].urgency] for i in orders), counts=tuple(counts),
                door=int(door[orders[0]]), zone=zone, handoff=handoff)
