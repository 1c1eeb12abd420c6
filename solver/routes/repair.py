"""Last stage: serve what the parts left, by cheapest insertion into any route.

The parts are solved apart, so a delivery can be left over while a responder of another
part (or one no part used) could still fit it in: the parts split stranded it. After the
parts merge, each leftover task, most urgent and earliest deadline first, goes into the
cheapest position (added metres) of the nearest routes that may take it, or into a new
route of a responder no part used; what that leaves is tried again on every route that may
take it. Only responders that could do the task alone are tried (`reach.py`). A handoff's
two legs go in together (pickup point -> gate on anyone, then gate -> door on another,
cleared responder, leaving the gate after the handover) or not at all. A task that fits
nowhere whole is tried order by order. Last, a direct stop still left may go into a nearby
route once one direct stop of that route (one without handovers) moves to another route;
a leftover that would need more than that one move stays unserved (`no_time_left`).

Every position is tested against the hard constraints: opening hours and windows (each
route re-timed from its shift start, earliest starts, with the latest start each visit can
take without making a later one late), load at every stop, shift end, gate handovers (a
drop's latest start is its second leg's pickup minus the gate service); the cheapest
candidates are then re-timed in full, including `max_route_minutes` (the departure is put
off as long as that shortens the route, as the model's finalizer does), and the first that
holds is kept. Nothing here reads the clock except to stop at `deadline`; the order of
leftovers and of candidates is fixed, so the result is the same run after run.
"""

from __future__ import annotations

import dataclasses
import itertools
import time as _clock

import numpy as np

from solver.routes import model
from solver.routes.model import Visit
from solver.routes.prepare import TIER, Prepared, Task
from solver.routes.reach import INF, Fleet, Leg

NEAR_ROUTES = 24     # busy routes tried per leftover pair, nearest to its drop first
NEAR_IDLE = 8        # unused responders tried per leftover pair, nearest first
FULL_CHECKS = 16     # candidates re-timed in full per pair, cheapest first
WIDE_CHECKS = 64     # the same on the second pass, over every route that may take the pair
FIRST_LEGS = 4       # a handoff's first-leg places tried for a second leg, cheapest first


@dataclasses.dataclass(frozen=True)
class _Node:
    kind: int
    task: int
    point: int
    service: int
    lo: int
    hi: int
    load: int        # boxes on board change


class _Repair:
    def __init__(self, prep: Prepared, routes: dict[int, list[Visit]]):
        self.prep = prep
        self.fleet = Fleet(prep)
        self.routes = {v: list(r) for v, r in routes.items() if len(r) > 2}
        self.wide = False                      # second pass: every route, not the nearest
        self.served_orders: set[int] = set()   # orders placed here
        self.drop_end: dict[int, int] = {}     # handoff task -> drop start + gate service
        self.pick_start: dict[int, int] = {}   # handoff task -> gate pickup start
        self._tables: dict[int, tuple] = {}    # vehicle -> its route's `_table`
        self.gate_v: dict[int, set[int]] = {}  # handoff task -> vehicles with its gate visits
        for v, r in self.routes.items():
            self._note_gates(v, r[1:-1])
        # where routes pass, for "nearest routes": points and their vehicle, appended to
        self.near_pt: list[int] = []
        self.near_v: list[int] = []
        for v in sorted(self.routes):
            for x in self.routes[v][1:-1]:
                self.near_pt.append(self._node(x).point)
                self.near_v.append(v)

    # --- nodes and timing ----------------------------------------------------------------
    def _note_gates(self, v: int, visits: list[Visit]) -> None:
        for x in visits:
            if x.kind in (model.GATE_DROP, model.GATE_PICKUP):
                self.gate_v.setdefault(x.task, set()).add(v)
            if x.kind == model.GATE_DROP:
                t = self.prep.tasks[x.task]
                self.drop_end[x.task] = x.time + self.prep.problem.zones[t.zone]\
                    .gate_service_minutes
            elif x.kind == model.GATE_PICKUP:
                self.pick_start[x.task] = x.time

    def _node(self, x: Visit) -> _Node:
        prep = self.prep
        pb = prep.problem
        t = prep.tasks[x.task]
        if x.kind == model.PICKUP:
            pp = pb.pickup_points[t.pickup]
            return _Node(x.kind, x.task, int(prep.pickup_point[t.pickup]), pp.service_minutes,
                         pp.hours[0], pp.hours[1], t.boxes)
        if x.kind == model.DELIVER:
            return _Node(x.kind, x.task, int(t.door), t.service, t.window[0], t.window[1],
                         -t.boxes)
        gs = pb.zones[t.zone].gate_service_minutes
        gate = int(prep.gate_point[t.zone])
        if x.kind == model.GATE_DROP:
            hi = min(t.window[1], self.pick_start.get(x.task, INF) - gs)
            return _Node(x.kind, x.task, gate, gs, 0, hi, -t.boxes)
        return _Node(x.kind, x.task, gate, 0, self.drop_end.get(x.task, INF), t.window[1],
                     t.boxes)

    def _table(self, v: int, nodes: list[_Node]):
        """Earliest starts from the shift start (node 0: departure, n+1: arrival at the
        end), latest starts that keep every later node in time, loads after each node."""
        prep = self.prep
        veh = prep.problem.vehicles[v]
        pts = np.array([int(prep.base[v])] + [x.point for x in nodes] + [int(prep.end[v])],
                       dtype=np.int64)
        m_hop, hop = prep.places.both(pts[:-1], pts[1:], veh.speed_kmh)
        hop, m_hop = hop.tolist(), m_hop.tolist()
        svc = [0] + [x.service for x in nodes] + [0]
        lo = [veh.shift[0]] + [x.lo for x in nodes] + [0]
        hi = [veh.shift[1]] + [x.hi for x in nodes] + [veh.shift[1]]
        n = len(nodes)
        early = [veh.shift[0]]
        for k in range(1, n + 2):
            early.append(max(early[-1] + svc[k - 1] + hop[k - 1], lo[k]))
        late = [0] * (n + 2)
        late[n + 1] = hi[n + 1]
        for k in range(n, -1, -1):
            late[k] = min(hi[k], late[k + 1] - hop[k] - svc[k])
        load = [0]
        for x in nodes:
            load.append(load[-1] + x.load)
        load.append(0)
        return pts, hop, m_hop, svc, lo, early, late, load

    def _route_table(self, v: int):
        """`_table` of v's current route, kept until the route or a linked gate changes."""
        if v not in self._tables:
            nodes = [self._node(x) for x in self.routes[v][1:-1]] if v in self.routes else []
            self._tables[v] = self._table(v, nodes)
        return self._tables[v]

    def _schedule(self, v: int, visits: list[Visit], earliest: bool = False
                  ) -> list[Visit] | None:
        """The route re-timed in full (START and END included), or None if it breaks a
        hard constraint. Every visit as early as it can be if `earliest`, else the
        departure put off as long as that only cuts waiting."""
        veh = self.prep.problem.vehicles[v]
        nodes = [self._node(x) for x in visits]
        pts, hop, _, svc, lo, early, late, load = self._table(v, nodes)
        n = len(nodes)
        if any(early[k] > late[k] for k in range(n + 2)):
            return None
        if any(q > veh.capacity or q < 0 for q in load):
            return None
        # put the departure off while it only cuts waiting and keeps every node in time
        waited, delay = 0, INF
        for k in range(1, n + 2):
            waited += early[k] - (early[k - 1] + svc[k - 1] + hop[k - 1])
            delay = min(delay, waited + late[k] - early[k])
        delay = 0 if earliest else max(0, min(delay, waited))
        clock = veh.shift[0] + delay
        out = [Visit(model.START, -1, clock)]
        for k in range(1, n + 2):
            clock = max(clock + svc[k - 1] + hop[k - 1], lo[k])
            out.append(Visit(visits[k - 1].kind, visits[k - 1].task, clock) if k <= n
                       else Visit(model.END, -1, clock))
        if out[-1].time > veh.shift[1]:
            return None
        if veh.max_route_minutes is not None and \
                out[-1].time - out[0].time > veh.max_route_minutes:
            return None
        return out

    # --- insertion -----------------------------------------------------------------------
    def _nearest(self, point: int, ok: np.ndarray) -> list[int]:
        """The vehicles of `ok` with a route, by how near their route passes `point`."""
        near = np.asarray(self.near_pt, dtype=np.int64)
        owner = np.asarray(self.near_v, dtype=np.int64)
        closest = np.full(len(self.prep.problem.vehicles), np.inf)
        np.minimum.at(closest, owner, self.prep.places.metres(near, np.full(len(near), point)))
        busy = ok[np.isfinite(closest[ok])]
        return [int(v) for v in busy[np.lexsort((busy, closest[busy]))]]

    def _candidates(self, p: _Node, d: _Node, allowed: np.ndarray, skip: int | None):
        """(added metres, vehicle, gap of p, gap of d) for every position that keeps
        windows, loads and the shift end, on the nearest routes and unused responders."""
        prep = self.prep
        ok = np.flatnonzero(allowed)
        if skip is not None:
            ok = ok[ok != skip]
        if not len(ok):
            return []
        ranked = self._nearest(d.point, ok)[:None if self.wide else NEAR_ROUTES]
        idle = [int(v) for v in ok if v not in self.routes]
        if idle:
            dist = prep.places.metres(prep.base[idle], np.full(len(idle), d.point))
            ranked += [idle[k] for k in np.lexsort((idle, dist))[:NEAR_IDLE]]
        out = []
        for v in ranked:
            out += self._positions(v, p, d)
        out.sort()
        return out

    def _positions(self, v: int, p: _Node, d: _Node) -> list:
        prep = self.prep
        veh = prep.problem.vehicles[v]
        pts, hop, m_hop, svc, lo, early, late, load = self._route_table(v)
        n = len(pts) - 2
        k = len(pts)
        pp, dd = np.full(k, p.point), np.full(k, d.point)
        metres, mins = prep.places.both(np.concatenate([pts, pp, pts, dd, pp[:1]]),
                                        np.concatenate([pp, pts, dd, pts, dd[:1]]),
                                        veh.speed_kmh)
        to_p, from_p, to_d, from_d = (mins[s * k:(s + 1) * k].tolist() for s in range(4))
        m_to_p, m_from_p, m_to_d, m_from_d = (metres[s * k:(s + 1) * k].tolist()
                                              for s in range(4))
        t_pd, m_pd = int(mins[-1]), int(metres[-1])
        cap = veh.capacity
        out = []
        for i in range(1, n + 2):           # p goes between node i-1 and node i
            if load[i - 1] + p.load > cap:
                continue
            at_p = max(early[i - 1] + svc[i - 1] + to_p[i - 1], p.lo)
            if at_p > p.hi:
                continue
            leave_p = at_p + p.service
            at_d = max(leave_p + t_pd, d.lo)   # d right after p
            if at_d <= d.hi and at_d + d.service + from_d[i] <= late[i]:
                out.append((m_to_p[i - 1] + m_pd + m_from_d[i] - m_hop[i - 1], v, i, i))
            added_p = m_to_p[i - 1] + m_from_p[i] - m_hop[i - 1]
            clock = leave_p + from_p[i]        # arrival at node i, p aboard
            for k in range(i, n + 1):         # node k carries p's boxes, d after it
                start = max(clock, lo[k])
                if start > late[k] or load[k] + p.load > cap:
                    break
                at_d = max(start + svc[k] + to_d[k], d.lo)
                if at_d <= d.hi and at_d + d.service + from_d[k + 1] <= late[k + 1]:
                    out.append((added_p + m_to_d[k] + m_from_d[k + 1] - m_hop[k], v, i, k + 1))
                clock = start + svc[k] + hop[k]
        return out

    def _options(self, p: Visit, d: Visit, allowed: np.ndarray, skip: int | None = None):
        """(vehicle, re-timed route) taking pair p -> d, cheapest first."""
        pn, dn = self._node(p), self._node(d)
        alone = Leg(pn.point, (pn.lo, pn.hi), pn.service, dn.point, (dn.lo, dn.hi), dn.service,
                    pn.load)
        allowed = allowed & self.fleet.leg_ok(alone, allowed)
        checks = WIDE_CHECKS if self.wide else FULL_CHECKS
        for _, v, i, j in self._candidates(pn, dn, allowed, skip)[:checks]:
            r = list(self.routes[v][1:-1]) if v in self.routes else []
            r.insert(j - 1, d)
            r.insert(i - 1, p)
            timed = self._schedule(v, r)
            if timed is not None:
                yield v, timed

    def _commit(self, v: int, timed: list[Visit]) -> None:
        old = {(x.task, x.kind) for x in self.routes.get(v, [])}
        new = [x for x in timed[1:-1] if (x.task, x.kind) not in old]
        self.routes[v] = timed
        self._note_gates(v, timed[1:-1])
        self._tables.pop(v, None)
        for x in timed[1:-1]:   # a moved gate visit moves its partner's bounds
            if x.kind in (model.GATE_DROP, model.GATE_PICKUP):
                for u in self.gate_v[x.task]:
                    self._tables.pop(u, None)
        for x in new:
            self.near_pt.append(self._node(x).point)
            self.near_v.append(v)

    def serve(self, task: Task) -> bool:
        """Put `task` into the plan (both legs of a handoff), or leave the plan as it was."""
        if self._serve(task):
            self.served_orders.update(task.orders)
            return True
        return False

    def _serve(self, task: Task) -> bool:
        fleet = self.fleet
        pb = self.prep.problem
        everyone = np.ones(len(pb.vehicles), dtype=bool)
        allowed = everyone if task.zone is None else fleet.cleared(task.zone)
        if not task.handoff:
            got = next(self._options(Visit(model.PICKUP, task.id, 0),
                                     Visit(model.DELIVER, task.id, 0), allowed), None)
            if got is None:
                return False
            self._commit(*got)
            return True
        firsts = self._options(Visit(model.PICKUP, task.id, 0),
                               Visit(model.GATE_DROP, task.id, 0), everyone)
        for v1, timed1 in itertools.islice(firsts, FIRST_LEGS):
            if self._second_leg(task, allowed, v1, timed1):
                return True
        return False

    def _second_leg(self, task: Task, allowed: np.ndarray, v1: int, timed1: list[Visit]
                    ) -> bool:
        """Given the first leg's route `timed1` on v1, put the second leg on another
        cleared responder, leaving the gate after the handover, and commit both."""
        gs = self.prep.problem.zones[task.zone].gate_service_minutes
        # the second leg may leave the gate once the boxes could be there at the earliest;
        # the drop is then held to that (its latest start: the second leg's pickup)
        early = self._schedule(v1, timed1[1:-1], earliest=True) or timed1
        drop = next(x for x in early if x.kind == model.GATE_DROP and x.task == task.id)
        self.drop_end[task.id] = drop.time + gs
        second = next(self._options(Visit(model.GATE_PICKUP, task.id, 0),
                                    Visit(model.DELIVER, task.id, 0), allowed, skip=v1), None)
        if second is not None:
            v2, timed2 = second
            pick = next(x for x in timed2 if x.kind == model.GATE_PICKUP and x.task == task.id)
            self.pick_start[task.id] = pick.time
            # the first leg's drop must now stay before the second leg's pickup: re-time it
            # with that bound (met by its earliest schedule, so only the departure moves)
            held = self._schedule(v1, timed1[1:-1])
            if held is not None:
                self._commit(v1, held)
                self._commit(v2, timed2)
                return True
            del self.pick_start[task.id]
        del self.drop_end[task.id]
        return False

    def feasible(self, task: Task) -> bool:
        return self.fleet.can_deliver(task.pickup, task.door, task.window, task.service,
                                      task.boxes, task.zone, task.handoff)

    def make_room(self, task: Task, deadline: float) -> bool:
        """Serve a direct `task` on one of the nearest routes that may take it by moving one
        direct task of that route to another route; the plan unchanged if no such pair of
        moves holds."""
        if task.handoff or _clock.perf_counter() > deadline:
            return False
        prep = self.prep
        everyone = np.ones(len(prep.problem.vehicles), dtype=bool)
        p, d = Visit(model.PICKUP, task.id, 0), Visit(model.DELIVER, task.id, 0)
        pn, dn = self._node(p), self._node(d)
        alone = Leg(pn.point, (pn.lo, pn.hi), pn.service, dn.point, (dn.lo, dn.hi), dn.service,
                    pn.load)
        base = everyone if task.zone is None else self.fleet.cleared(task.zone)
        allowed = base & self.fleet.leg_ok(alone, base)
        for v in self._nearest(dn.point, np.flatnonzero(allowed))[:NEAR_ROUTES]:
            kept = self.routes[v]
            if any(x.kind in (model.GATE_DROP, model.GATE_PICKUP) for x in kept):
                continue   # re-timing it would move a handover another route waits on
            only = np.zeros(len(everyone), dtype=bool)
            only[v] = True
            movable = sorted({x.task for x in kept[1:-1] if x.kind == model.DELIVER
                              and not prep.tasks[x.task].handoff})
            for q in movable:
                if _clock.perf_counter() > deadline:
                    return False
                without = self._schedule(v, [x for x in kept[1:-1] if x.task != q])
                if without is None:
                    continue
                self.routes[v] = without
                self._tables.pop(v, None)
                room = next(self._options(p, d, only), None)
                moved = None
                if room is not None:
                    self.routes[v] = room[1]
                    self._tables.pop(v, None)
                    t = prep.tasks[q]
                    moved = next(self._options(
                        Visit(model.PICKUP, q, 0), Visit(model.DELIVER, q, 0),
                        everyone if t.zone is None else self.fleet.cleared(t.zone), skip=v),
                        None)
                self.routes[v] = kept
                self._tables.pop(v, None)
                if moved is not None:
                    self._commit(*room)
                    self._commit(*moved)
                    self.served_orders.update(task.orders)
                    return True
        return False


def repair(prep: Prepared, routes: dict[int, list[Visit]], deadline: float
           ) -> dict[int, list[Visit]]:
    """`routes` (per vehicle, START and END included, times = service starts) with every
    leftover task that fits inserted; tasks split per order may be added to `prep.tasks`.
    A first pass tries the nearest routes; what it cannot place is tried again on every
    route that may take it, and last by moving one stop of a nearby route elsewhere to make
    room. Stops at `deadline` (perf_counter seconds)."""
    rep = _Repair(prep, routes)
    done = {x.task for r in rep.routes.values() for x in r if x.kind == model.DELIVER}
    left = [t for t in prep.tasks if t.id not in done]
    left.sort(key=lambda t: (-t.tier, t.window[1], t.id))
    for wide in (False, True):
        rep.wide = wide
        left = [t for t in left if not _place(rep, t, deadline)]
    # last: a stop nothing can take as the routes stand, placed by moving one other stop
    for t in left:
        if not rep.served_orders.intersection(t.orders):
            rep.make_room(t, deadline)
    return rep.routes


def _place(rep: _Repair, task: Task, deadline: float) -> bool:
    """Serve `task` whole, else as many of its orders as fit one by one; False if some
    order of it is still unserved (or the deadline passed)."""
    prep = rep.prep
    if _clock.perf_counter() > deadline:
        return False
    whole = not rep.served_orders.intersection(task.orders)
    if whole and rep.feasible(task) and rep.serve(task):
        return True
    if len(task.orders) == 1:
        return False
    dl = prep.problem.deliveries
    placed = True
    for i in task.orders:   # the stop fits nowhere whole: its orders one by one
        if i in rep.served_orders:
            continue
        if _clock.perf_counter() > deadline:
            return False
        d = dl[i]
        one = dataclasses.replace(
            task, id=len(prep.tasks), orders=[i], boxes=d.boxes, window=d.window,
            service=d.service_minutes, tier=TIER[d.urgency],
            counts=tuple(int(k == TIER[d.urgency]) for k in range(3)))
        prep.tasks.append(one)
        if not (rep.feasible(one) and rep.serve(one)):
            prep.tasks.pop()
            placed = False
    return placed
