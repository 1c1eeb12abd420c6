"""Delivery-route benchmark: `solver.routes` against VROOM (pyvroom) on lockdown scenarios.

    python -m bench.routes_bench [--sizes small,medium,large] [--json FILE] [--render FILE]
                                 [--vroom-from FILE]

Sizes: small 1,000 deliveries x 100 responders, medium 10,000 x 1,000, large 50,000 x
5,000 (`bench/routes_instances.py`, seed 0). Each measurement runs in a fresh subprocess:
VROOM first (exploration level 5, 2 threads, with a timeout), then ours given VROOM's
measured time (large: a fixed 115 s for both). Our plan is judged by the independent
checker (`solver/routes/check.py`). *feasible made / feasible*: of the orders some responder
could deliver from an empty route (the plan's `figures.feasible`: served, or unserved only
for want of room or stock), how many ours delivered; `repaired` in our row counts those the
repair stage placed after the parts.

VROOM gets the same tasks as ours (same pickup point per order from the stock pre-pass,
same merged building stops) as shipments: pickup (opening hours) -> door (window), boxes
as amount, zone clearances as skills, urgency as priority, one duration matrix per speed,
metres as costs. A handoff is two shipments (pickup point -> gate; gate -> door with the
zone's skill) without the precedence or both-or-none link, which VROOM cannot express, and
`max_route_minutes` is not passed (VROOM bounds travel time, not route duration): VROOM
solves a relaxation of our problem, so its distance is a generous reference. Whole
instances above about 2,000 shipments do not fit VROOM's dense matrices in memory here, so
from medium on VROOM solves the same parts as a decomposition (`solver.routes.decompose`,
300 shipments each), one after another, each with its share of the timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

SIZES = {"small": (1000, 100), "medium": (10_000, 1000), "large": (50_000, 5000)}
VROOM_PART = 300
VROOM_TIMEOUT = {"small": 60.0, "medium": 115.0, "large": 115.0}


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, kids) / 1024, 1)


def run_ours(size: str, time_limit: float) -> dict:
    from bench.routes_instances import generate
    from solver.routes import RoutesProblem, solve_routes
    from solver.routes.check import check
    n, m = SIZES[size]
    d = generate(n, m, seed=0)
    problem = RoutesProblem.from_dict(d)
    t0 = time.perf_counter()
    plan = solve_routes(problem, time_limit=time_limit, seed=0)
    wall = time.perf_counter() - t0
    out = plan.to_dict()
    violations = check(d, out)
    reasons: dict[str, int] = {}
    for u in out["unserved"]:
        reasons[u["reason"]] = reasons.get(u["reason"], 0) + 1
    f = plan.figures
    return {"solver": "ours", "size": size, "time_s": round(wall, 2), "time_limit": time_limit,
            "on_time": f["on_time"], "deliveries": n, "feasible": f["feasible"],
            "distance_m": f["total_distance_m"],
            "repaired": f["repaired"], "longest_m": f["longest_route_m"], "routes": f["routes"],
            "violations": len(violations), "unserved": reasons, "peak_mb": _peak_mb()}


def _vroom_part(prep, jobs, vehicle_ids, timeout_s):
    """Solve one part with VROOM; (distance per route, served order ids)."""
    import numpy as np
    import vroom

    from solver.routes import model
    pb = prep.problem
    tasks = prep.tasks
    places = []
    for v in vehicle_ids:
        places += [int(prep.base[v]), int(prep.end[v])]
    for t, leg, _, _ in jobs:
        task = tasks[t]
        a = prep.gate_point[task.zone] if leg == model.LEG_FROM_GATE else prep.pickup_point[
            task.pickup]
        b = prep.gate_point[task.zone] if leg == model.LEG_TO_GATE else task.door
        places += [int(a), int(b)]
    uniq = np.unique(np.array(places, dtype=np.int64))
    col = {int(p): i for i, p in enumerate(uniq)}
    metres = prep.places.metres(uniq[:, None], uniq[None, :]).astype(np.uint32)
    inp = vroom.Input()
    for speed in sorted({pb.vehicles[v].speed_kmh for v in vehicle_ids}):
        name = f"s{speed:g}"
        mins = prep.places.minutes(uniq[:, None], uniq[None, :], speed).astype(np.uint32)
        inp.set_durations_matrix(name, mins)
        inp.set_distances_matrix(name, metres)
        inp.set_costs_matrix(name, metres)
    for k, v in enumerate(vehicle_ids):
        veh = pb.vehicles[v]
        inp.add_vehicle(vroom.Vehicle(
            k, start=col[int(prep.base[v])], end=col[int(prep.end[v])],
            profile=f"s{veh.speed_kmh:g}", capacity=[veh.capacity],
            skills={z + 1 for z in prep.clear[v]},
            time_window=vroom.TimeWindow(*veh.shift)))
    for j, (t, leg, _, _) in enumerate(jobs):
        task = tasks[t]
        pp = pb.pickup_points[task.pickup]
        if leg == model.LEG_FROM_GATE:
            pick = vroom.ShipmentStep(j, location=col[int(prep.gate_point[task.zone])],
                                      default_service=0,
                                      time_windows=[vroom.TimeWindow(0, task.window[1])])
        else:
            pick = vroom.ShipmentStep(j, location=col[int(prep.pickup_point[task.pickup])],
                                      default_service=pp.service_minutes,
                                      time_windows=[vroom.TimeWindow(*pp.hours)])
        if leg == model.LEG_TO_GATE:
            drop = vroom.ShipmentStep(j, location=col[int(prep.gate_point[task.zone])],
                                      default_service=pb.zones[task.zone].gate_service_minutes,
                                      time_windows=[vroom.TimeWindow(0, task.window[1])])
        else:
            drop = vroom.ShipmentStep(j, location=col[int(task.door)],
                                      default_service=task.service,
                                      time_windows=[vroom.TimeWindow(*task.window)])
        skills = {task.zone + 1} if task.zone is not None and leg != model.LEG_TO_GATE else set()
        inp.add_shipment(pick, drop, amount=vroom.Amount([task.boxes]), skills=skills,
                         priority=[0, 50, 100][task.tier])
    sol = inp.solve(exploration_level=5, nb_threads=2,
                    timeout=timedelta(seconds=max(0.1, timeout_s))).to_dict()
    done: dict[int, set] = {}
    for r in sol["routes"]:
        for s in r["steps"]:
            if s["type"] == "delivery":
                t, leg = jobs[s["id"]][:2]
                done.setdefault(t, set()).add(leg)
    served = set()
    for t, legs in done.items():
        if legs in ({model.DIRECT}, {model.LEG_TO_GATE, model.LEG_FROM_GATE}):
            served.update(tasks[t].orders)
    return [r["distance"] for r in sol["routes"]], served


def run_vroom(size: str, timeout_s: float) -> dict:
    from bench.routes_instances import generate
    from solver.routes import RoutesProblem, model
    from solver.routes.decompose import decompose
    from solver.routes.prepare import prepare
    n, m = SIZES[size]
    problem = RoutesProblem.from_dict(generate(n, m, seed=0))
    t0 = time.perf_counter()
    prep = prepare(problem)
    jobs = []
    for t in prep.tasks:
        if t.handoff:
            jobs += [(t.id, model.LEG_TO_GATE, 0, 0), (t.id, model.LEG_FROM_GATE, 0, 0)]
        else:
            jobs.append((t.id, model.DIRECT, 0, 0))
    if size == "small":
        parts = [(list(range(len(jobs))), list(range(m)))]
    else:
        parts = decompose(prep, jobs, VROOM_PART)
    total = sum(len(p) for p, _ in parts)
    dist, served = [], set()
    for p, vids in parts:
        share = timeout_s * len(p) / total
        left = timeout_s - (time.perf_counter() - t0)
        d, s = _vroom_part(prep, [jobs[j] for j in p], vids, min(share, max(0.1, left)))
        dist += d
        served |= s
    wall = time.perf_counter() - t0
    return {"solver": "vroom", "size": size, "time_s": round(wall, 2), "on_time": len(served),
            "deliveries": n, "distance_m": int(sum(dist)), "longest_m": int(max(dist, default=0)),
            "routes": len(dist), "parts": len(parts), "peak_mb": _peak_mb()}


def _child(kind: str, size: str, seconds: float) -> dict:
    cmd = [sys.executable, "-m", "bench.routes_bench", "--one", kind, size, str(seconds)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def render(rows: list[dict]) -> str:
    lines = ["| size | solver | time s | on time / deliveries | feasible made / feasible "
             "| total km | longest km | routes | peak MB | violations | unserved (reasons) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    by = {}
    for r in rows:
        by.setdefault(r["size"], {})[r["solver"]] = r
        # served orders among those some responder could deliver (`figures.feasible`: the
        # served ones and those unserved only for want of room or stock, solver/README.md)
        feasible = f"{r['on_time']} / {r['feasible']}" if "feasible" in r else "-"
        lines.append(
            f"| {r['size']} | {r['solver']} | {r['time_s']:.1f} | {r['on_time']} / "
            f"{r['deliveries']} | {feasible} | {r['distance_m'] / 1000:.1f} | "
            f"{r['longest_m'] / 1000:.1f} | "
            f"{r['routes']} | {r['peak_mb']:.0f} | {r.get('violations', '-')} | "
            f"{r.get('unserved', '-')} |")
    lines += ["", "| size | time ours/VROOM | distance ours/VROOM | on time ours - VROOM |",
              "|---|---|---|---|"]
    for size, pair in by.items():
        if "ours" in pair and "vroom" in pair:
            o, v = pair["ours"], pair["vroom"]
            lines.append(f"| {size} | {o['time_s'] / max(v['time_s'], 1e-9):.2f} | "
                         f"{o['distance_m'] / max(v['distance_m'], 1):.3f} | "
                         f"{o['on_time'] - v['on_time']:+d} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.routes_bench")
    ap.add_argument("--sizes", default="small")
    ap.add_argument("--json")
    ap.add_argument("--render")
    ap.add_argument("--vroom-from", help="reuse VROOM rows of an earlier --json file "
                    "(same instances; VROOM's large row takes a quarter of an hour here)")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        kind, size, seconds = args.one
        row = (run_ours if kind == "ours" else run_vroom)(size, float(seconds))
        print(json.dumps(row))
        return 0
    if args.render:
        with open(args.render) as fh:
            print(render(json.load(fh)["rows"]))
        return 0
    rows = []
    earlier = {}
    if args.vroom_from:
        with open(args.vroom_from) as fh:
            earlier = {r["size"]: r for r in json.load(fh)["rows"] if r["solver"] == "vroom"}
    for size in args.sizes.split(","):
        v = earlier.get(size) or _child("vroom", size, VROOM_TIMEOUT[size])
        rows.append(v)
        limit = 115.0 if size == "large" else max(1.0, v["time_s"])
        rows.append(_child("ours", size, limit))
        print(f"{size}: done (load {os.getloadavg()[0]:.1f})", file=sys.stderr)
    meta = {"date": datetime.now(UTC).isoformat(timespec="minutes"),
            "machine": f"{platform.machine()} nproc={os.cpu_count()}",
            "python": platform.python_version(), "load": os.getloadavg(),
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                                     capture_output=True, text=True).stdout.strip()}
    print(json.dumps(meta))
    print(render(rows))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"meta": meta, "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
