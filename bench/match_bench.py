"""Full-variant deadline and match_one latency: `python -m bench.match_bench [--only full|match]`.

The two rows of bench/RESULTS.md "## Solver" that issue 3's deadline, re-fill, determinism
and latency targets are about, without the rest of `bench.solver_bench`:

- **full**: `solve(time_limit=10)` on the all-constraints 10,000 x 2,000 city-like instance,
  twice in two fresh processes (the same seed must give the same plan), next to the
  independent nearest-available greedy (`bench.references`) run in the same session. Each
  plan is judged by `solver.check`; *solve s* is the `solve()` call, *process s* the whole
  child (interpreter, instance, parsing, solve, checking excluded).
- **match**: a MatchState over 10,000 responders (full variant), 1,000 requests matched in
  turn (best committed), latency of `match_one` alone; in the same process, as a reference
  for the machine's state at that moment, one vectorised haversine over all 10,000
  responders (`ref` columns) timed the same way, interleaved with the matches. The whole
  run is repeated on fresh states (the matches must be the same); the per-request minimum
  over the repeats shows the code's own cost with most of the machine's noise removed.

Load average is printed with each row: the machine is shared, so figures move with it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

REPEATS = 3  # match runs over fresh states (same answers); the first one is the headline

def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def child_full(seed: int, time_limit: float) -> dict:
    t_process = time.perf_counter()
    from bench.instances import generate
    from solver import Problem, solve
    from solver.check import check, objective

    problem = generate(10_000, 2_000, "full", seed)
    parsed = Problem.from_dict(problem)
    t0 = time.perf_counter()
    plan = solve(parsed, time_limit=time_limit, seed=seed)
    elapsed = time.perf_counter() - t0
    process = time.perf_counter() - t_process
    d = plan.to_dict()
    value = objective(problem, d)
    tiers: dict[str, int] = {}
    urgency = {r["id"]: r["urgency"] for r in problem["requests"]}
    for a in d["assignments"]:
        tiers[urgency[a["request_id"]]] = tiers.get(urgency[a["request_id"]], 0) + 1
    return {"solve_s": elapsed, "process_s": process, "method": d["method"],
            "status": d["status"], "served": len(d["assignments"]), "tiers": tiers,
            "objective": value, "gap": (d["bound"] - value) / max(abs(value), 1.0),
            "violations": len(check(problem, d)),
            "plan_key": json.dumps([d["assignments"], d["unassigned"]], sort_keys=True)}


def child_greedy(seed: int) -> dict:
    from bench.instances import generate
    from bench.references import greedy_reference
    from solver.check import check, objective

    problem = generate(10_000, 2_000, "full", seed)
    t0 = time.perf_counter()
    plan = greedy_reference(problem)
    return {"time_s": time.perf_counter() - t0, "served": len(plan["assignments"]),
            "objective": objective(problem, plan), "violations": len(check(problem, plan))}


def child_match(seed: int, n_queries: int = 1_000, n_responders: int = 10_000) -> dict:
    import numpy as np

    from bench.instances import generate
    from solver import MatchState, Problem, match_one
    from solver.check import check

    problem = generate(5 * n_responders, n_responders, "full", seed)
    problem["requests"] = problem["requests"][:n_queries]
    t0 = time.perf_counter()
    state = MatchState(Problem.from_dict(problem))
    build = time.perf_counter() - t0
    lon = np.radians([j["location"][0] for j in problem["responders"]])
    lat = np.radians([j["location"][1] for j in problem["responders"]])

    def haversine_all(lon0: float, lat0: float):
        lon0, lat0 = np.radians(lon0), np.radians(lat0)
        h = np.sin((lat - lat0) / 2) ** 2 + np.cos(lat) * np.cos(lat0) * np.sin(
            (lon - lon0) / 2) ** 2
        return 2 * 6_371_000.0 * np.arcsin(np.minimum(1.0, np.sqrt(h)))

    parsed = state.problem
    runs = []
    for rep in range(REPEATS):
        if rep:
            state = MatchState(parsed)
        lat_ms, ref_ms, done, left = [], [], [], []
        for r in problem["requests"]:
            t = time.perf_counter()
            m = match_one(r, state)
            lat_ms.append(1000 * (time.perf_counter() - t))
            t = time.perf_counter()
            haversine_all(r["location"][0], r["location"][1])
            ref_ms.append(1000 * (time.perf_counter() - t))
            if m.best is None:
                left.append({"request_id": r["id"], "reason": m.unassigned.reason})
            else:
                state.commit(m.best)
                done.append(m.best.to_dict())
        runs.append((lat_ms, ref_ms, done))
    lat_ms, ref_ms, done = runs[0]
    same = all(d == done for _, _, d in runs)
    least = [min(x) for x in zip(*(lat for lat, _, _ in runs), strict=True)]
    violations = check(problem, {"assignments": done, "unassigned": left})

    def pct(xs: list[float], q: float) -> float:
        return sorted(xs)[min(len(xs) - 1, int(len(xs) * q))]

    return {"build_s": build, "p50_ms": pct(lat_ms, 0.5), "p99_ms": pct(lat_ms, 0.99),
            "max_ms": max(lat_ms), "ref_p50_ms": pct(ref_ms, 0.5),
            "ref_p99_ms": pct(ref_ms, 0.99), "matched": len(done), "queries": len(lat_ms),
            "violations": len(violations), "min_p50_ms": pct(least, 0.5),
            "min_p99_ms": pct(least, 0.99), "same_matches": same}


def _run(args: list[str], timeout: float) -> dict:
    cmd = [sys.executable, "-m", "bench.match_bench", "--child", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["?"])[-1][:160]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=["full", "match"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        kind, *rest = a.child
        out = {"full": lambda: child_full(int(rest[0]), float(rest[1])),
               "greedy": lambda: child_greedy(int(rest[0])),
               "match": lambda: child_match(int(rest[0]))}[kind]()
        print(json.dumps(out))
        return 0
    if a.only in (None, "full"):
        print(f"full 10000x2000, time_limit={a.time_limit}, seed={a.seed}; load {_load()}")
        runs = [_run(["full", str(a.seed), str(a.time_limit)], 120) for _ in range(2)]
        greedy = _run(["greedy", str(a.seed)], 600)
        print("| run | method/status | solve s | process s | served | by tier (E/U/N) | "
              "greedy served | served / greedy | objective - greedy objective | gap | "
              "violations (ours/greedy) |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for i, s in enumerate(runs, 1):
            if "error" in s:
                print(f"| {i} | {s['error']} |")
                continue
            t = s["tiers"]
            print(f"| {i} | {s['method']}/{s['status']} | {s['solve_s']:.2f} | "
                  f"{s['process_s']:.2f} | {s['served']} | {t.get('emergency', 0)}/"
                  f"{t.get('urgent', 0)}/{t.get('normal', 0)} | {greedy.get('served', '-')} | "
                  f"{s['served'] / greedy['served'] if 'served' in greedy else float('nan'):.3f}"
                  f" | {s['objective'] - greedy.get('objective', float('nan')):.3e} | "
                  f"{s['gap']:.2e} | {s['violations']}/{greedy.get('violations', '-')} |")
        if all("plan_key" in s for s in runs):
            same = runs[0]["plan_key"] == runs[1]["plan_key"]
            print(f"\nsame plan in both runs: {'yes' if same else 'NO'}; load {_load()}")
    if a.only in (None, "match"):
        print(f"\nmatch_one, 1,000 requests, 10,000 responders; load {_load()}")
        m = _run(["match", str(a.seed)], 600)
        if "error" in m:
            print(m["error"])
            return 1
        print("| p50 ms | p99 ms | max ms | ref p50 ms | ref p99 ms | p99 / ref p99 | "
              f"per-request min of {REPEATS} runs: p50 / p99 ms | matched | state build s | "
              "violations |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        print(f"| {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | {m['max_ms']:.2f} | "
              f"{m['ref_p50_ms']:.3f} | {m['ref_p99_ms']:.3f} | "
              f"{m['p99_ms'] / m['ref_p99_ms']:.1f} | {m['min_p50_ms']:.2f} / "
              f"{m['min_p99_ms']:.2f} | {m['matched']}/{m['queries']} | "
              f"{m['build_s']:.2f} | {m['violations']} |")
        print(f"same matches in every repeat: {'yes' if m['same_matches'] else 'NO'}; "
              f"load {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
