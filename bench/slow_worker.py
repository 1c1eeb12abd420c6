"""A `wushe worker` for tests whose solves take SLOW_SOLVE_S seconds first (unless stopped),
so a test can kill it mid-run. Run as: python -m tests.service.runs.worker_harness"""

import os

import solver
from service.runs import jobs

real_solve = solver.solve


def slow_solve(problem, time_limit=10.0, seed=0, *, stop=None, on_progress=None):  # type: ignore[no-untyped-def]
    if stop is not None:
        stop.wait(float(os.environ.get("SLOW_SOLVE_S", "0")))
    return real_solve(problem, time_limit=time_limit, seed=seed, stop=stop, on_progress=on_progress)


if __name__ == "__main__":
    solver.solve = slow_solve
    jobs.run_worker()
