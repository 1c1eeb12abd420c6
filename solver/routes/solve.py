"""`solve_routes(problem, time_limit, seed) -> RoutePlan`: prepare, decompose, route each
part (in parallel processes), cut back one-legged handoffs, re-time, repair (insert what
the parts left, `repair.py`), explain, assemble.

Handoffs are planned in two stages. Stage A routes the second legs (gate -> door) on the
responders cleared for gated zones, each leg picking up at the gate no earlier than the
earliest anyone could bring the boxes there plus HANDOFF_SLACK minutes. Stage B routes the
direct tasks and the first legs (pickup point -> gate) on everyone else, each first leg due
at the gate by its second leg's planned pickup minus the gate's service time, so the
precedence holds by construction. A first leg stage B drops takes its second leg with it
(`_finish`), so both legs or neither are in the plan.

When stage B needs more than POLISH_MIN_PARTS parts, its parts stop at their first local
optimum and the rest of the time goes to polishing their routes across the cuts between
parts (`polish.py`): neighbouring routes regrouped and solved again from where they are,
which shortens the routes far more than guided search inside the small parts did (about
12% at 10,000 and 50,000 deliveries).

Determinism: a problem of at most POLISH_MIN_PARTS parts is planned the same run after
run: each part's search stops on a solution count sized from the nominal budget and the
part's size, never on the clock; the wall-clock limit (twice the nominal share) is only a
safety net for a machine more than about twice slower than a quiet one. Polishing (bigger
problems) shares the time left among its groups by the clock, and a big problem's
descents are cut by it, so two runs may differ in length by a percent or so (never in
feasibility; a polished group never serves less). Stage B's parts keep at most
1 - POLISH_SHARE of the time left, so polishing always has some. The repair has at least
REPAIR_SHARE of the limit on the clock (the parts' clock stops that much earlier) and is
deterministic unless it runs out of time.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time as _time
from collections.abc import Callable

import numpy as np

from solver.routes import model, polish
from solver.routes.decompose import decompose
from solver.routes.explain import NOT_FITTED, explain
from solver.routes.plan import Route, RoutePlan, Stop
from solver.routes.prepare import Prepared, prepare
from solver.routes.problem import RoutesProblem
from solver.routes.repair import repair

PART_SIZE = 40            # jobs per routing model, at least ...
PART_SIZE_MAX = 160       # ... and at most, growing with the time per job:
PART_SIZE_PER_CORE_S = 600  # jobs per part per nominal core-second per job
DESCENT_S_PER_TASK = 0.004  # insertion + descent, seconds of one core per task (quiet; measured
#                             on 40-job parts at 10,000 x 1,000: 0.15 s a part)
GLS_RATE = 110_000         # GLS steps per second on a model of n tasks: GLS_RATE / n**2
#                            (measured as DESCENT_S_PER_TASK: 600 steps in 8.7 s)
LOAD_ALLOWANCE = 2.0      # wall-clock safety net: this many times the nominal share
PREPARE_S_PER_DELIVERY = 1.5e-4  # stock pre-pass and parts: nominal seconds
HANDOFF_SLACK = 30        # minutes between the earliest possible gate arrival and a 2nd leg
REPAIR_SHARE = 0.06       # of the time limit, kept for serving what the parts left
POLISH_SIZE = 120         # jobs per polish group (at most)
POLISH_MIN_PARTS = 4      # stage B is polished when it needs more parts than this
POLISH_SHARE = 0.2        # of the time left after stage A, kept for polishing
POLISH_STRETCH = 1.5      # a polish group's descent may take this many times its share
POLISH_FULL_S_PER_JOB = 0.01  # core-seconds per job below which costly moves are left out
KINDS = {model.PICKUP: "pickup", model.DELIVER: "deliver", model.GATE_DROP: "gate_drop",
         model.GATE_PICKUP: "gate_pickup"}

# The state below serves one solve at a time (solves in threads of one process, as the
# service's runs may be, take turns: each uses every core anyway).
_ONE_AT_A_TIME = threading.Lock()
_PREP: Prepared | None = None  # shared with forked workers
_LEFT = None  # polish: a shared Value, the cost of the groups not yet started
_LEFT_WORKERS = 1
_MOVES_OFF: tuple[str, ...] = ()  # polish: move operators left out this time
_ASKED = None  # the caller's stop event, seen in this process only ...
_STOP = None   # ... passed on to this fork-shared one, which the workers read


def _stopped() -> bool:
    """Whether the caller asked to stop (passed on to the workers when asked here)."""
    if _ASKED is not None and _ASKED.is_set():
        if _STOP is not None:
            _STOP.set()
        return True
    return _STOP is not None and _STOP.is_set()


def _work(job):
    jobs, vehicle_ids, steps, cap, initial, deadline, cost = job
    gls_cap, off = None, ()
    if cost is not None:  # a polish group: its share of the time left, as it starts
        with _LEFT.get_lock():
            share = (deadline - _time.perf_counter()) * _LEFT_WORKERS * cost / _LEFT.value
            _LEFT.value -= cost
        cap, gls_cap, off = POLISH_STRETCH * share, share, _MOVES_OFF
    cap = min(cap, deadline - _time.perf_counter())
    if initial is not None and (cap < 0.05 or _stopped()):
        return None  # out of time (or stopped) before this group's turn: its routes stay
    return model.solve_part(_PREP, jobs, vehicle_ids, steps, max(0.05, cap), initial, gls_cap,
                            off, _stopped if _STOP is not None else None)


def _pool(prep: Prepared, work: list, workers: int) -> list:
    """`_work` over `work`, in `workers` forked processes (in this one if a single); a stop
    asked meanwhile reaches the workers."""
    global _PREP
    _PREP = prep
    try:
        if workers <= 1 or len(work) <= 1:
            return [_work(w) for w in work]
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(workers) as pool:
            pending = pool.map_async(_work, work, chunksize=1)
            while not pending.ready():
                pending.wait(0.1)
                _stopped()
            return pending.get()
    finally:
        _PREP = None


def _run(prep: Prepared, jobs: list, parts, budget_s: float, workers: int,
         cap_s: float | None = None, gls: bool = True) -> dict:
    """Routes per vehicle index, solving parts in `workers` processes; `budget_s` sizes
    the search (nominal), `cap_s` (default LOAD_ALLOWANCE x budget) only bounds the clock;
    without `gls` each part stops at its first local optimum."""
    cap_s = LOAD_ALLOWANCE * budget_s if cap_s is None else cap_s
    sizes = [len(j) for j, _ in parts]
    total = max(1, sum(sizes))
    work = []
    for (js, v), n in zip(parts, sizes, strict=True):
        # seconds of one core for this part: its size's part of all cores, but no more than
        # the whole window (one part runs on one core; the others may be far smaller)
        part_of = min(1.0, workers * n / total)
        share = budget_s * part_of
        # nominal costs are charged LOAD_ALLOWANCE times over, so a loaded machine still
        # finishes every phase on its count (same plan) before the clock stops it
        descent = DESCENT_S_PER_TASK * n * LOAD_ALLOWANCE
        steps = int(max(0.0, share - descent) / LOAD_ALLOWANCE * GLS_RATE / max(n, 1) ** 2)
        work.append(([jobs[j] for j in js], v, steps if gls else 0,
                     max(0.05, cap_s * part_of), None, float("inf"), None))
    out = {}
    for (_, vids), routes in zip(parts, _pool(prep, work, workers), strict=True):
        for v, visits in zip(vids, routes, strict=True):
            if len(visits) > 2:
                out[v] = visits
    return out


def _polish(prep: Prepared, routes: dict, jobs: list, vehicles: list[int], workers: int,
            size: int, nominal_s: float, deadline: float) -> dict:
    """`routes` with each polish group's new routes where they serve every job the old
    ones did over fewer metres (`polish.py`). The groups share the time left before
    `deadline`, in proportion to the square of their size (what a descent costs), biggest
    first, each group's share taken from the time left as it starts; a group's descent may
    run over its share by POLISH_STRETCH (never past the deadline). Guided local search
    follows for a count of steps sized, as the parts' are, from the group's part of the
    nominal `nominal_s`, so a group whose descent ends in time ends the same way run
    after run; it too stops at the end of the group's share of the clock."""
    grp = polish.groups(prep, routes, jobs, vehicles, size)
    window = deadline - _time.perf_counter()
    if not grp or window < 0.1:
        return routes
    global _LEFT, _LEFT_WORKERS, _MOVES_OFF
    _LEFT_WORKERS = workers = min(workers, len(grp))
    # with too little time for every group's descent, the cheaper move set reaches more
    per_job = window * workers / sum(len(js) for js, _, _ in grp)
    _MOVES_OFF = model.COSTLY_MOVES if per_job < POLISH_FULL_S_PER_JOB else ()
    cost = [float(len(js) ** 2) for js, _, _ in grp]
    order = sorted(range(len(grp)), key=lambda k: (-cost[k], k))
    _LEFT = multiprocessing.get_context("fork").Value("d", sum(cost))
    work = []
    for k in order:
        js, vids, initial = grp[k]
        nominal = nominal_s * workers * cost[k] / sum(cost)
        steps = int(nominal / LOAD_ALLOWANCE * GLS_RATE / len(js) ** 2)
        work.append(([jobs[j] for j in js], vids, steps, window, initial, deadline, cost[k]))
    results = dict(zip(order, _pool(prep, work, workers), strict=True))
    out = dict(routes)
    for k, (_, vids, _) in enumerate(grp):
        new = results[k]
        if new is None:
            continue
        old = {v: routes[v] for v in vids if v in routes}
        fresh = {v: r for v, r in zip(vids, new, strict=True) if len(r) > 2}
        if _drops(fresh) >= _drops(old) and polish.length(prep, fresh) < polish.length(prep, old):
            for v in old:
                del out[v]
            out.update(fresh)
    return out


def _tell(prep: Prepared, routes: dict, on_progress, phase: str) -> None:
    if on_progress is not None:
        on_progress({"phase": phase, "best_objective": float(polish.length(prep, routes))})


def _drops(routes: dict) -> set:
    return {(x.task, x.kind) for r in routes.values() for x in r if x.kind in (
        model.DELIVER, model.GATE_DROP)}


def _stage(prep, jobs, vehicles, budget_s, workers, part_size, deadline, gls=True) -> dict:
    """Route `jobs` on `vehicles`; a second round gives what the first left to the
    vehicles it left idle."""
    parts = decompose(prep, jobs, part_size, vehicles)
    cap = max(0.05, min(LOAD_ALLOWANCE * 0.8 * budget_s,
                        0.9 * (deadline - _time.perf_counter())))
    routes = _run(prep, jobs, parts, 0.8 * budget_s, min(workers, max(1, len(parts))), cap,
                  gls)
    done = {(x.task, x.kind) for r in routes.values() for x in r}
    kind = {model.DIRECT: model.DELIVER, model.LEG_TO_GATE: model.GATE_DROP,
            model.LEG_FROM_GATE: model.DELIVER}
    left = [j for j in jobs if (j[0], kind[j[1]]) not in done]
    idle = [v for v in vehicles if v not in routes]
    if left and idle:
        extra = decompose(prep, left, part_size, idle)
        cap = max(0.05, min(0.2 * budget_s, deadline - _time.perf_counter()))
        routes.update(_run(prep, left, extra, 0.2 * budget_s, min(workers, max(1, len(extra))),
                           cap, gls))
    return routes


def _gate_ready(prep: Prepared, task, pool: list[int]) -> int:
    """Earliest minute a responder of `pool` could bring a handoff task's boxes to the
    gate."""
    pb = prep.problem
    pp = pb.pickup_points[task.pickup]
    pick = int(prep.pickup_point[task.pickup])
    gate = int(prep.gate_point[task.zone])
    best = None
    for speed in sorted({pb.vehicles[i].speed_kmh for i in pool}):
        vs = [i for i in pool if pb.vehicles[i].speed_kmh == speed]
        if not vs:
            continue
        start = np.array([pb.vehicles[i].shift[0] for i in vs])
        at = np.maximum(start + prep.places.minutes(prep.base[vs], np.full(len(vs), pick),
                                                    speed), pp.hours[0])
        at = at[at <= pp.hours[1]]
        if len(at):
            arrive = int(at.min()) + pp.service_minutes + int(
                prep.places.minutes(pick, gate, speed))
            best = arrive if best is None else min(best, arrive)
    return best if best is not None else 10**9


def solve_routes(problem: RoutesProblem, time_limit: float = 60.0, seed: int = 0, *,
                 workers: int | None = None, part_size: int | None = None,
                 stop: threading.Event | None = None,
                 on_progress: Callable[[dict], None] | None = None) -> RoutePlan:
    """A feasible route plan; never raises on a timeout. `seed` is accepted for the common
    solver signature: the search has no random choices, so it does not change the plan
    (see the module's note on determinism). Once `stop` is set the searches under way end
    at their next solution and the parts not yet routed get their insertion only (no
    search); nothing is polished or repaired (what is left is reported `no_time_left`).
    `on_progress` hears {"phase", "best_objective"} (the routes' metres) after the parts
    and the polish. Solves in threads of one process take turns; the time limit counts
    from a solve's turn."""
    del seed
    global _ASKED, _STOP
    with _ONE_AT_A_TIME:
        if stop is not None:
            _ASKED, _STOP = stop, multiprocessing.get_context("fork").Event()
        try:
            return _solve(problem, time_limit, workers, part_size, on_progress)
        finally:
            _ASKED = _STOP = None


def _solve(problem: RoutesProblem, time_limit: float, workers: int | None,
           part_size: int | None, on_progress: Callable[[dict], None] | None) -> RoutePlan:
    started = _time.perf_counter()
    workers = workers or os.cpu_count() or 1
    pb = problem
    prep = prepare(problem)
    reserve = 0.2 + 1.2e-4 * len(problem.deliveries)  # re-timing, explaining, the plan
    # the parts stop on the clock REPAIR_SHARE early, so the repair has time left even when
    # a loaded machine stopped them (when the parts leave the most); their nominal budget
    # keeps it, as on a quiet machine they finish well before the clock
    deadline = started + time_limit - reserve - REPAIR_SHARE * time_limit
    # nominal: what the search may do follows from the limit and the size, not the clock
    budget = max(0.1, time_limit - reserve - PREPARE_S_PER_DELIVERY * len(problem.deliveries))
    handoff = [t for t in prep.tasks if t.handoff]
    n_jobs = len(prep.tasks) + len(handoff)
    if part_size is None:
        # bigger models plan better but their descent grows with the square of their size:
        # as big as the nominal core-seconds per job pay for
        per_job = budget * workers / max(1, n_jobs)
        part_size = int(min(PART_SIZE_MAX, max(PART_SIZE, PART_SIZE_PER_CORE_S * per_job)))
    # stage A: second legs (gate -> door) on cleared responders, from a ready time
    gated = {i for i, z in enumerate(pb.zones) if z.gate is not None and z.status == "sealed"}
    cleared = [v for v in range(len(pb.vehicles)) if prep.clear[v] & gated]
    # first legs are for those stage A cannot use (all responders if everyone is cleared)
    pool = [v for v in range(len(pb.vehicles)) if not prep.clear[v] & gated] or list(
        range(len(pb.vehicles)))
    jobs_a = []
    for t in handoff:
        ready = _gate_ready(prep, t, pool) + pb.zones[t.zone].gate_service_minutes + HANDOFF_SLACK
        if ready <= t.window[1]:
            jobs_a.append((t.id, model.LEG_FROM_GATE, ready, t.window[1]))
    budget_a = budget * len(jobs_a) / max(1, n_jobs)
    routes = _stage(prep, jobs_a, cleared, budget_a, workers, part_size,
                    min(deadline, _time.perf_counter() + LOAD_ALLOWANCE * budget_a)
                    ) if jobs_a else {}
    # stage B: direct tasks and first legs (pickup point -> gate, by the second leg's start)
    gate_pickup = {x.task: x.time for r in routes.values() for x in r
                   if x.kind == model.GATE_PICKUP}
    jobs_b = [(t.id, model.DIRECT, 0, 0) for t in prep.tasks if not t.handoff]
    for t in handoff:
        if t.id in gate_pickup:
            latest = gate_pickup[t.id] - pb.zones[t.zone].gate_service_minutes
            jobs_b.append((t.id, model.LEG_TO_GATE, 0, latest))
    free = [v for v in range(len(pb.vehicles)) if v not in routes]
    # with many parts, stage B's parts stop at their first local optimum and polishing
    # across their cuts takes the time guided search would have had
    polishing = len(jobs_b) > POLISH_MIN_PARTS * part_size
    now = _time.perf_counter()
    routes.update(_stage(prep, jobs_b, free, max(0.1, budget - budget_a), workers,
                         part_size, now + (1 - POLISH_SHARE * polishing) * (deadline - now),
                         gls=not polishing))
    _tell(prep, routes, on_progress, "parts")
    if polishing and not _stopped():
        routes = _polish(prep, routes, jobs_b, free, workers, POLISH_SIZE,
                         POLISH_SHARE * (budget - budget_a), deadline)
        _tell(prep, routes, on_progress, "polish")
    # repair: what the parts left goes into the cheapest place of any route that holds it
    settled = _settle(prep, routes)
    n_tasks = len(prep.tasks)  # the repair may add single-order tasks split off a stop
    placed = sum(len(prep.tasks[x.task].orders) for r in settled.values() for x in r
                 if x.kind == model.DELIVER)
    routes = repair(prep, settled,
                    _time.perf_counter() if _stopped() else started + time_limit - reserve)
    plan_routes = _finish(prep, routes)
    served = {o for r in plan_routes for s in r.stops if s.kind == "deliver" for o in s.orders}
    unserved = explain(prep, served)
    not_fitted = sum(u.reason in NOT_FITTED for u in unserved)
    dist = [r.distance_m for r in plan_routes]
    figures = {"deliveries": len(problem.deliveries), "served": len(served),
               "on_time": len(served), "total_distance_m": int(sum(dist)),
               "longest_route_m": int(max(dist, default=0)),
               "longest_route_min": int(max((r.duration_min for r in plan_routes),
                                            default=0)),
               "routes": len(plan_routes), "tasks": n_tasks,
               "handoff_tasks": len(handoff), "feasible": len(served) + not_fitted,
               "repaired": len(served) - placed}
    return RoutePlan(status="feasible", time_s=round(_time.perf_counter() - started, 3),
                     routes=tuple(plan_routes), unserved=tuple(unserved), figures=figures)


def _finish(prep: Prepared, routes: dict) -> list[Route]:
    timed = _timed(prep, routes)
    return [_route(prep, v, timed[v]) for v in sorted(timed)]


def _settle(prep: Prepared, routes: dict) -> dict[int, list[model.Visit]]:
    """`routes` as `_finish` keeps them, each visit's time its service start (START: the
    departure, END: the arrival)."""
    return {v: [model.Visit(x.kind, x.task, int(start)) for x, start, _ in r]
            for v, r in _timed(prep, routes).items()}


def _timed(prep: Prepared, routes: dict) -> dict[int, list]:
    """Cut one-legged handoffs, re-time every route (earliest starts, never before the
    model's), drop whatever a re-timing would break (rare: rounding): per vehicle
    [(visit, service start, arrival)]."""
    pb = prep.problem
    tasks = prep.tasks
    routes = {v: list(r) for v, r in routes.items() if len(r) > 2}
    while True:
        legs: dict[int, set[int]] = {}
        for r in routes.values():
            for x in r:
                if x.task >= 0:
                    legs.setdefault(x.task, set()).add(x.kind)
        bad = {t for t, kinds in legs.items() if tasks[t].handoff and len(kinds) != 4}
        timed: dict[int, list] = {}
        drop_at: dict[tuple[int, int], int] = {}
        for v, r in routes.items():
            timed[v] = _retime(prep, v, r, bad)
            for x, start, _ in timed[v]:
                if x.kind == model.GATE_DROP:
                    drop_at[x.task] = start
        for v in routes:
            for x, start, _ in timed[v]:
                if x.kind == model.GATE_PICKUP:
                    need = drop_at.get(x.task)
                    if need is None or start < need + pb.zones[tasks[x.task].zone]\
                            .gate_service_minutes:
                        bad.add(x.task)
        if not bad:
            break
        routes = {v: [x for x in r if x.task not in bad] for v, r in routes.items()}
        routes = {v: r for v, r in routes.items() if len(r) > 2}
    return timed


def _service(prep: Prepared, x) -> int:
    t = prep.tasks[x.task]
    if x.kind == model.PICKUP:
        return prep.problem.pickup_points[t.pickup].service_minutes
    if x.kind == model.GATE_DROP:
        return prep.problem.zones[t.zone].gate_service_minutes
    return t.service if x.kind == model.DELIVER else 0


def _window(prep: Prepared, x) -> tuple[int, int]:
    t = prep.tasks[x.task]
    if x.kind == model.PICKUP:
        return prep.problem.pickup_points[t.pickup].hours
    return t.window if x.kind == model.DELIVER else (0, t.window[1])


def _retime(prep: Prepared, v: int, r: list, bad: set) -> list:
    """[(visit, service start, arrival)] for the visits of route r; tasks whose window the
    earliest start misses are added to `bad`."""
    veh = prep.problem.vehicles[v]
    visits = [x for x in r[1:-1] if x.task not in bad]
    pts = np.array([int(prep.base[v])] + [polish.point(prep, x) for x in visits]
                   + [int(prep.end[v])], dtype=np.int64)
    hop = prep.places.minutes(pts[:-1], pts[1:], veh.speed_kmh)  # one call per route

    def travel(i, j):
        return int(hop[i]) if j == i + 1 else int(prep.places.minutes(pts[i], pts[j],
                                                                       veh.speed_kmh))
    out = []
    here = 0
    clock = r[0].time
    for i, x in enumerate(visits, start=1):
        arrival = clock + travel(here, i)
        start = max(arrival, x.time)
        if start > _window(prep, x)[1]:
            bad.add(x.task)
            continue
        out.append((x, start, arrival))
        clock = start + _service(prep, x)
        here = i
    end = clock + travel(here, len(pts) - 1)
    if (end > veh.shift[1] or (veh.max_route_minutes is not None
                               and end - r[0].time > veh.max_route_minutes)) and out:
        bad.add(out[-1][0].task)
    return [(r[0], r[0].time, r[0].time)] + out + [(r[-1], end, end)]


def _route(prep: Prepared, v: int, timed: list) -> Route:
    pb = prep.problem
    veh = pb.vehicles[v]
    dl = pb.deliveries
    stops = []
    load = 0
    pts = np.array([int(prep.base[v])] + [polish.point(prep, x) for x, _, _ in timed[1:-1]]
                   + [int(prep.end[v])], dtype=np.int64)
    distance = int(prep.places.metres(pts[:-1], pts[1:]).sum())
    for k, (x, start, arrival) in enumerate(timed[1:-1], start=1):
        t = prep.tasks[x.task]
        p = int(pts[k])
        items: dict[str, int] = {}
        for i in t.orders:
            items[dl[i].item] = items.get(dl[i].item, 0) + dl[i].boxes
        if x.kind in (model.PICKUP, model.GATE_PICKUP):
            load += t.boxes
        else:
            load -= t.boxes
        if x.kind == model.PICKUP:
            place_id = pb.pickup_points[t.pickup].id
        elif x.kind == model.DELIVER:
            first = dl[t.orders[0]]
            place_id = first.building_id or first.id
        else:
            place_id = pb.zones[t.zone].id
        stops.append(Stop(kind=KINDS[x.kind], place_id=place_id,
                          location=tuple(prep.places.points[p]), arrival=int(arrival),
                          start=int(start), departure=int(start + _service(prep, x)),
                          orders=tuple(dl[i].id for i in t.orders), items=items,
                          load_after=load))
    begin, end = timed[0][1], timed[-1][1]
    return Route(responder_id=veh.id, start=int(begin), end=int(end), distance_m=distance,
                 duration_min=int(end - begin), stops=tuple(stops))
