"""Solver benchmark: `python -m bench.solver_bench [--sizes small,medium,large]`.

Per (variant, size) it runs, each in a fresh subprocess so timings and memory do not mix:
the solver (`solver.solve`), the independent nearest-available greedy, and for the count
variant the plain all-pairs OR-Tools min-cost flow.  Every plan is judged by the
independent checker (violations must be 0) and scored by its objective recomputation.
It then measures `match_one` latency against a MatchState of 10,000 responders.

Peak memory is the child process's `ru_maxrss` (whole process: interpreter, instance
generation, parsing and the solve), so it over- rather than under-states the solver's own
footprint.  Output is a markdown table, ready for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import time

SIZES = {"small": (1_000, 200), "medium": (10_000, 2_000), "large": (100_000, 20_000)}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _judge(problem: dict, plan: dict) -> dict:
    from solver.check import check, objective

    return {"served": len(plan["assignments"]), "objective": objective(problem, plan),
            "violations": len(check(problem, plan))}


def child_solve(variant: str, size: str, seed: int, time_limit: float) -> dict:
    from bench.instances import generate
    from solver import Problem, solve

    problem = generate(*SIZES[size], variant, seed)
    parsed = Problem.from_dict(problem)
    t0 = time.perf_counter()
    plan = solve(parsed, time_limit=time_limit, seed=seed)
    elapsed = time.perf_counter() - t0
    d = plan.to_dict()
    out = {"time_s": elapsed, "status": d["status"], "method": d["method"],
           "bound": d["bound"], "reported_gap": d["gap"], "reported_objective": d["objective"]}
    out.update(_judge(problem, d))
    obj = out["objective"]
    out["gap"] = (d["bound"] - obj) / max(abs(obj), 1.0)
    return out


def child_greedy(variant: str, size: str, seed: int) -> dict:
    from bench.instances import generate
    from bench.references import greedy_reference

    problem = generate(*SIZES[size], variant, seed)
    t0 = time.perf_counter()
    plan = greedy_reference(problem)
    out = {"time_s": time.perf_counter() - t0}
    out.update(_judge(problem, plan))
    return out


def child_mcf(variant: str, size: str, seed: int) -> dict:
    from bench.instances import generate
    from bench.references import min_cost_flow_reference

    problem = generate(*SIZES[size], variant, seed)
    plan, stats = min_cost_flow_reference(problem)
    out = dict(stats)
    out.update(_judge(problem, plan))
    return out


def child_match(seed: int, n_queries: int = 1_000, n_responders: int = 10_000) -> dict:
    from bench.instances import generate
    from solver import MatchState, Problem, match_one
    from solver.check import check

    problem = generate(5 * n_responders, n_responders, "full", seed)
    problem["requests"] = problem["requests"][:n_queries]
    t0 = time.perf_counter()
    state = MatchState(Problem.from_dict(problem))
    build = time.perf_counter() - t0
    lat, done, left = [], [], []
    for r in problem["requests"]:
        t = time.perf_counter()
        m = match_one(r, state)
        lat.append(time.perf_counter() - t)
        if m.best is None:
            left.append({"request_id": r["id"], "reason": m.unassigned.reason})
        else:
            state.commit(m.best)
            done.append(m.best.to_dict())
    lat.sort()
    violations = check(problem, {"assignments": done, "unassigned": left})
    return {"build_s": build, "p50_ms": 1000 * lat[len(lat) // 2],
            "p99_ms": 1000 * lat[int(len(lat) * 0.99) - 1], "max_ms": 1000 * lat[-1],
            "matched": len(done), "queries": len(lat), "violations": len(violations)}


def run_child(args: list[str], timeout: float, memory_gb: float = 8.0) -> dict:
    """One measurement in a fresh interpreter; {'error': ...} on failure or timeout."""
    cmd = [sys.executable, "-m", "bench.solver_bench", "--child", *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=lambda: _cap_memory(memory_gb))
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return {"error": tail[:120]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cap_memory(gb: float) -> None:
    """Address-space cap for a measured process: the machine is shared, so a runaway solve
    fails with MemoryError instead of pushing everyone into the OOM killer."""
    cap = int(gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def _fmt(x, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


HEADER = (
    "| variant | size | method/status | solve s | peak MB | served | greedy served | "
    "served / greedy | objective - greedy objective | gap | violations (ours/greedy/MCF) | "
    "greedy s | MCF s (build) | solve / MCF | objective - MCF objective |\n|" + "---|" * 15)


def _row(variant: str, size: str, s: dict, g: dict, m: dict) -> str:
    n = "{}×{}".format(*SIZES[size])
    mcf_t = m.get("time_s")
    mcf = f"{mcf_t:.2f} ({m['build_s']:.2f})" if mcf_t is not None else m.get("error", "-")
    greedy = g.get("served", g.get("error", "-"))
    viol = f"{s.get('violations', '-')}/{g.get('violations', '-')}/{m.get('violations', '-')}"
    if "error" in s:
        return (f"| {variant} | {n} | solver: {s['error']} | - | - | - | {greedy} | - | - | - | "
                f"{viol} | {_fmt(g.get('time_s'))} | {mcf} | - | - |")
    ratio = s["served"] / g["served"] if g.get("served") else None
    speed = s["time_s"] / mcf_t if mcf_t else None
    delta = s["objective"] - m["objective"] if "objective" in m else None
    over_greedy = s["objective"] - g["objective"] if "objective" in g else None
    return (f"| {variant} | {n} | {s['method']}/{s['status']} | {s['time_s']:.2f} | "
            f"{s['peak_mb']:.0f} | {s['served']} | {greedy} | {_fmt(ratio, '.3f')} | "
            f"{_fmt(over_greedy, '.3g')} | {s['gap']:.2e} | {viol} | {_fmt(g.get('time_s'))} | "
            f"{mcf} | {_fmt(speed, '.3f')} | {_fmt(delta, '.3g')} |")


def _measure(a: argparse.Namespace, variant: str, size: str) -> tuple[dict, dict, dict]:
    """(solver, greedy, min-cost flow) measurements of one instance, each in its own process.

    With `--repeat N` (count variant), the solver and the min-cost flow run one after the
    other N times: the machine's speed drifts by tens of percent from one minute to the
    next, and a pair run back to back shares most of it. The pair with the median ratio is
    reported; every pair's ratio is kept in the solver's row (`ratios`)."""
    limit = (a.large_time_limit if size == "large"
             else a.count_time_limit if variant == "count" else a.time_limit)

    def solver() -> dict:
        return run_child(["solve", variant, size, str(a.seed), str(limit)],
                         a.solver_timeout or limit * 3 + 120, a.memory_limit_gb)

    def mcf() -> dict:
        return run_child(["mcf", variant, size, str(a.seed)], a.reference_timeout,
                         a.memory_limit_gb)

    g = m = {}
    if not a.no_references:  # first, so that each solve is followed by its reference
        g = run_child(["greedy", variant, size, str(a.seed)], a.reference_timeout,
                      a.memory_limit_gb)
    s = solver()
    if not a.no_references:
        if variant == "count" and not a.no_mcf:
            m = mcf()
            pairs = [(s, m)] + [(solver(), mcf()) for _ in range(a.repeat - 1)]
            timed = [(ps["time_s"] / pm["time_s"], ps, pm) for ps, pm in pairs
                     if "time_s" in ps and "time_s" in pm]
            if len(timed) > 1:
                timed.sort(key=lambda t: t[0])
                _, s, m = timed[len(timed) // 2]  # of two middle ones, the higher
                s = {**s, "ratios": [round(t[0], 3) for t in timed]}
    return s, g, m


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="small,medium")
    ap.add_argument("--variants", default="count,full")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=10.0, help="solver limit, small/medium")
    ap.add_argument("--count-time-limit", type=float, default=60.0,
                    help="solver limit, count variant small/medium: room to prove optimality "
                         "(solve time is what the proof takes, not the limit)")
    ap.add_argument("--large-time-limit", type=float, default=30.0)
    ap.add_argument("--solver-timeout", type=float, default=None,
                    help="kill a solve after this many seconds (default 3x limit + 120)")
    ap.add_argument("--reference-timeout", type=float, default=900.0)
    ap.add_argument("--json", help="append each row's raw measurements to this file")
    ap.add_argument("--render", help="print the table of a --json file instead of running")
    ap.add_argument("--memory-limit-gb", type=float, default=8.0,
                    help="address-space cap of each measured process (MemoryError beyond)")
    ap.add_argument("--no-references", action="store_true")
    ap.add_argument("--no-mcf", action="store_true",
                    help="skip the all-pairs min-cost flow (it cannot hold 100k x 20k in memory)")
    ap.add_argument("--no-match", action="store_true")
    ap.add_argument("--repeat", type=int, default=1,
                    help="count variant: run the solver and the min-cost flow this many times "
                         "in turn and report the pair with the median ratio")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        kind, *rest = a.child
        fn = {"solve": child_solve, "greedy": child_greedy, "mcf": child_mcf,
              "match": child_match}[kind]
        conv = [str, str, int, float][: len(rest)] if kind != "match" else [int]
        out = fn(*(c(x) for c, x in zip(conv, rest, strict=True)))
        out["peak_mb"] = _peak_mb()
        print(json.dumps(out))
        return 0

    print(HEADER)
    if a.render:
        with open(a.render) as f:
            for line in f:
                r = json.loads(line)
                print(_row(r["variant"], r["size"], r["solve"], r["greedy"], r["mcf"]))
        return 0
    notes = []
    with open(a.json, "a") if a.json else contextlib.nullcontext() as raw:
        for variant in a.variants.split(","):
            for size in a.sizes.split(","):
                s, g, m = _measure(a, variant, size)
                if raw:
                    raw.write(json.dumps({"variant": variant, "size": size, "solve": s,
                                          "greedy": g, "mcf": m}) + "\n")
                    raw.flush()
                print(_row(variant, size, s, g, m), flush=True)
                if "ratios" in s:
                    notes.append(f"{variant} {size}: solve / MCF in {len(s['ratios'])} pairs "
                                 f"run in turn: {', '.join(map(str, s['ratios']))}")
    for note in notes:
        print(f"\n{note}")
    if not a.no_match:
        r = run_child(["match", str(a.seed)], 900, a.memory_limit_gb)
        print()
        if "error" in r:
            print(f"match_one: failed: {r['error']}")
        else:
            print("| match_one (1,000 requests, 10,000 responders) | p50 ms | p99 ms | max ms | "
                  "matched | state build s | peak MB | violations |")
            print("|---|---|---|---|---|---|---|---|")
            print(f"| full variant, commit after each | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
                  f"{r['max_ms']:.2f} | {r['matched']}/{r['queries']} | {r['build_s']:.2f} | "
                  f"{r['peak_mb']:.0f} | {r['violations']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
