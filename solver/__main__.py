"""CLI: `python -m solver solve problem.json --time-limit 10 [--seed 0] > plan.json`, and
`python -m solver routes problem.json --time-limit 60 [--seed 0] > routes.json` (delivery
routes, solver/README.md "Delivery routes").

Exit codes: 0 plan written; 2 malformed input (the message names the field). The time limit
covers the whole command, reading and writing included.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    # imported here so their loading time counts against --time-limit
    from solver.engine import solve
    from solver.problem import Problem, ProblemError

    parser = argparse.ArgumentParser(prog="python -m solver")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("solve", help="solve a problem JSON file ('-' for stdin)")
    cmd.add_argument("problem")
    cmd.add_argument("--time-limit", type=float, default=10.0)
    cmd.add_argument("--seed", type=int, default=0)
    cmd = sub.add_parser("routes", help="plan delivery routes for a routes problem JSON file")
    cmd.add_argument("problem")
    cmd.add_argument("--time-limit", type=float, default=60.0)
    cmd.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "routes":
        from solver.routes import RoutesProblem, solve_routes
        Problem, solve = RoutesProblem, solve_routes  # noqa: N806 - same steps, other solver
    try:
        if args.problem == "-":
            data = json.load(sys.stdin)
        else:
            with open(args.problem, encoding="utf-8") as fh:
                data = json.load(fh)
    except OSError as exc:
        sys.stderr.write(f"error: cannot read {args.problem}: {exc.strerror}\n")
        return 2
    except json.JSONDecodeError as exc:
        sys.stderr.write(f"error: {args.problem} is not JSON: {exc}\n")
        return 2
    try:
        problem = Problem.from_dict(data)
    except ProblemError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    if args.time_limit <= 0:
        sys.stderr.write("error: --time-limit must be positive\n")
        return 2
    # the limit is for the whole command: reading and writing JSON come out of it
    spent = time.perf_counter() - started
    rows = problem.deliveries if args.command == "routes" else problem.requests
    writing = 0.25 + 3e-5 * len(rows)
    plan = solve(problem, time_limit=max(0.1, args.time_limit - spent - writing), seed=args.seed)
    json.dump(plan.to_dict(), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
