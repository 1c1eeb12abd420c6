"""One part's routing model (OR-Tools routing library), in the usual order: data -> model ->
dimensions -> constraints -> objective -> search.

A part is a list of jobs and the responders that may do them. A job is one pickup and
delivery pair: a direct task (pickup point -> door), a handoff's first leg (pickup point ->
the zone's gate, anyone, drop by a given minute) or its second leg (gate -> door, cleared
responders only, pickup from a given minute). Every pair is optional behind a disjunction
whose penalty is tiered by urgency, so that one order of a tier outweighs every order of
the tiers below (and any distance); the arc cost is metres.
"""

from __future__ import annotations

import time as _clock
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from solver.routes.prepare import Prepared

PICKUP, DELIVER, GATE_DROP, GATE_PICKUP, START, END = range(6)
DIRECT, LEG_TO_GATE, LEG_FROM_GATE = range(3)  # a job is (task id, leg, gate lo, gate hi)
FIRST_SOLUTION = "PARALLEL_CHEAPEST_INSERTION"
# relocate_pair tries every pair of positions for a pickup-and-delivery pair: measured on
# 40-job parts it took two thirds of a descent and its local optima were no better (2-3%
# longer routes at 10,000 and 50,000 deliveries), and guided search made twice the steps
# a second without it; light_relocate_pair and the pair exchanges still move pairs
OPERATORS_OFF: tuple[str, ...] = ("use_relocate_pair",)
# moves left out of a descent that is short of time: from a good start (polishing) they
# cost about a third of the descent's time for a small part of what it finds
COSTLY_MOVES: tuple[str, ...] = (
    "use_global_cheapest_insertion_path_lns", "use_local_cheapest_insertion_path_lns",
    "use_global_cheapest_insertion_visit_types_lns",
    "use_local_cheapest_insertion_visit_types_lns",
    "use_relocate_path_global_cheapest_insertion_insert_unperformed",
    "use_relocate_expensive_chain", "use_exchange_subtrip", "use_relocate_subtrip",
    "use_swap_active_chain", "use_shortest_path_swap_active", "use_shortest_path_two_opt",
    "use_make_chain_inactive")
DROP_UNIT = 10_000_000  # metres: dropping the lightest order costs more than any detour


@dataclass
class Visit:
    kind: int
    task: int          # task id (-1 for start and end)
    time: int          # service start (start: departure; end: arrival)


def tier_weights(tasks) -> list[int]:
    """Penalty per order of each urgency tier: more than all lower tiers' orders together."""
    units = [0, 0, 0]
    for t in tasks:
        for k in range(3):
            units[k] += t.counts[k]
    w = []
    for k in range(3):
        w.append(DROP_UNIT + sum(w[s] * units[s] for s in range(k)))
    return w


def solve_part(prep: Prepared, jobs: list[tuple[int, int, int, int]], vehicle_ids: list[int],
               gls_solutions: int, time_cap_s: float,
               initial: list[list[tuple[int, bool]]] | None = None,
               gls_cap_s: float | None = None,
               moves_off: tuple[str, ...] = (),
               stop: Callable[[], bool] | None = None) -> list[list[Visit]]:
    """Routes (one visit list per vehicle of `vehicle_ids`, start and end included): cheapest
    insertion (or the `initial` routes: per vehicle, its visits in order as (index into
    `jobs`, is the drop)), descent to a local optimum, then `gls_solutions` steps of guided
    local search (0: none). Counts, not the clock, end each phase; `time_cap_s` is a safety
    net, and the search starts no guided steps after `gls_cap_s` (default: the cap);
    `moves_off` names move operators left out. From `initial` the result is never worse
    than it (the search keeps the best). When `stop()` turns true the search ends at its
    next solution with the best it has, no guided search following; once it is true from
    the start, the result is the insertion alone."""
    started = _clock.perf_counter()
    pb = prep.problem
    tasks = [prep.tasks[j[0]] for j in jobs]
    vehicles = [pb.vehicles[v] for v in vehicle_ids]
    nv = len(vehicles)
    if nv == 0:
        return []
    # --- data: nodes -------------------------------------------------------------------
    point, service, lo, hi, demand, kind, owner = [], [], [], [], [], [], []

    def node(p, s, w, q, k, t):
        point.append(p)
        service.append(s)
        lo.append(w[0])
        hi.append(w[1])
        demand.append(q)
        kind.append(k)
        owner.append(t)
        return len(point) - 1

    for k, v in enumerate(vehicles):
        node(int(prep.base[vehicle_ids[k]]), 0, v.shift, 0, START, -1)
    for k, v in enumerate(vehicles):
        node(int(prep.end[vehicle_ids[k]]), 0, v.shift, 0, END, -1)
    weights = tier_weights(tasks)
    pairs = []  # (pickup node, drop node, penalty, allowed vehicles or None)
    job_nodes = {}  # index into jobs -> (pickup node, drop node)
    for j, (t, (_, leg, gate_lo, gate_hi)) in enumerate(zip(tasks, jobs, strict=True)):
        pp = pb.pickup_points[t.pickup]
        penalty = sum(c * w for c, w in zip(t.counts, weights, strict=True))
        cleared = None
        if t.zone is not None and leg != LEG_TO_GATE:
            cleared = [k for k, v in enumerate(vehicle_ids) if t.zone in prep.clear[v]]
            if not cleared:
                continue
        if leg == LEG_FROM_GATE:
            p = node(int(prep.gate_point[t.zone]), 0, (gate_lo, gate_hi), t.boxes,
                     GATE_PICKUP, t.id)
        else:
            p = node(int(prep.pickup_point[t.pickup]), pp.service_minutes, pp.hours, t.boxes,
                     PICKUP, t.id)
        if leg == LEG_TO_GATE:
            d = node(int(prep.gate_point[t.zone]), pb.zones[t.zone].gate_service_minutes,
                     (gate_lo, gate_hi), -t.boxes, GATE_DROP, t.id)
        else:
            d = node(int(t.door), t.service, t.window, -t.boxes, DELIVER, t.id)
        pairs.append((p, d, penalty, cleared))
        job_nodes[j] = (p, d)
    n = len(point)
    pts = np.asarray(point, dtype=np.int64)
    uniq, pos = np.unique(pts, return_inverse=True)
    metres_u = prep.places.metres(uniq[:, None], uniq[None, :])
    metres = metres_u[pos[:, None], pos[None, :]]
    svc = np.asarray(service, dtype=np.int64)

    # --- model -------------------------------------------------------------------------
    manager = pywrapcp.RoutingIndexManager(n, nv, list(range(nv)), list(range(nv, 2 * nv)))
    routing = pywrapcp.RoutingModel(manager)
    dist_cb = routing.RegisterTransitMatrix(metres.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
    time_cb = {}
    for v in vehicles:
        if v.speed_kmh not in time_cb:
            mins_u = prep.places.minutes(uniq[:, None], uniq[None, :], v.speed_kmh)
            mins = mins_u[pos[:, None], pos[None, :]] + svc[:, None]
            time_cb[v.speed_kmh] = routing.RegisterTransitMatrix(mins.tolist())
    horizon = max(max(hi), max(v.shift[1] for v in vehicles)) + 1
    routing.AddDimensionWithVehicleTransits([time_cb[v.speed_kmh] for v in vehicles],
                                            horizon, horizon, False, "time")
    time = routing.GetDimensionOrDie("time")
    load_cb = routing.RegisterUnaryTransitVector(demand)
    routing.AddDimensionWithVehicleCapacity(load_cb, 0, [v.capacity for v in vehicles], True,
                                            "load")

    # --- constraints ---------------------------------------------------------------------
    solver = routing.solver()
    for k, v in enumerate(vehicles):
        for idx in (routing.Start(k), routing.End(k)):
            time.CumulVar(idx).SetRange(v.shift[0], v.shift[1])
        if v.max_route_minutes is not None:
            time.SetSpanUpperBoundForVehicle(v.max_route_minutes, k)
    # times: finish each route as early as possible (medicine early), then leave as late
    # as that allows (no idle minutes at the start)
    for k in range(nv):
        routing.AddVariableMinimizedByFinalizer(time.CumulVar(routing.End(k)))
    for k in range(nv):
        routing.AddVariableMaximizedByFinalizer(time.CumulVar(routing.Start(k)))
    for i in range(2 * nv, n):
        time.CumulVar(manager.NodeToIndex(i)).SetRange(lo[i], hi[i])
    for p, d, penalty, allowed in pairs:
        pi, di = manager.NodeToIndex(p), manager.NodeToIndex(d)
        routing.AddPickupAndDelivery(pi, di)
        solver.Add(routing.VehicleVar(pi) == routing.VehicleVar(di))
        solver.Add(routing.ActiveVar(pi) == routing.ActiveVar(di))
        solver.Add(time.CumulVar(pi) <= time.CumulVar(di))
        if allowed is not None:
            barred = sorted(set(range(nv)) - set(allowed))
            if barred:  # (SetAllowedVehiclesForIndex's Span binding refuses Python lists)
                routing.VehicleVar(pi).RemoveValues(barred)
                routing.VehicleVar(di).RemoveValues(barred)
        # the objective: a dropped pair pays its penalty (split over its two nodes)
        routing.AddDisjunction([pi], penalty - penalty // 2)
        routing.AddDisjunction([di], penalty // 2)

    # --- search ------------------------------------------------------------------------
    if stop is not None:
        def at_solution() -> None:
            if stop():
                routing.solver().FinishCurrentSearch()
        routing.AddAtSolutionCallback(at_solution)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(
        routing_enums_pb2.FirstSolutionStrategy, FIRST_SOLUTION)
    for name in OPERATORS_OFF + moves_off:
        setattr(params.local_search_operators, name, pywrapcp.BOOL_FALSE)
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT)
    params.time_limit.FromMilliseconds(max(50, int(time_cap_s * 1000)))
    if stop is not None and stop():
        params.solution_limit = 1  # stopped already: the first solution only
    if initial is None:
        solution = routing.SolveWithParameters(params)
    else:
        routing.CloseModelWithParameters(params)
        start = routing.ReadAssignmentFromRoutes(
            [[manager.NodeToIndex(job_nodes[j][drop]) for j, drop in r] for r in initial],
            True)
        solution = None if start is None else routing.SolveFromAssignmentWithParameters(
            start, params)
    left = min(time_cap_s, time_cap_s if gls_cap_s is None else gls_cap_s) - (
        _clock.perf_counter() - started)
    if solution is not None and gls_solutions > 0 and left > 0.05 and not (stop and stop()):
        params.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
        params.solution_limit = gls_solutions
        params.time_limit.FromMilliseconds(int(left * 1000))
        better = routing.SolveFromAssignmentWithParameters(solution, params)
        if better is not None:
            solution = better
    routes: list[list[Visit]] = [[] for _ in range(nv)]
    if solution is None:
        return routes
    for k in range(nv):
        idx = routing.Start(k)
        while True:
            i = manager.IndexToNode(idx)
            routes[k].append(Visit(kind[i], owner[i], solution.Value(time.CumulVar(idx))))
            if routing.IsEnd(idx):
                break
            idx = solution.Value(routing.NextVar(idx))
    return routes
