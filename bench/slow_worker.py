"""A `wushe worker` whose solves first wait SLOW_SOLVE_S seconds (unless the run is stopped),
so a fault test or bench knows what the worker is doing when it strikes: still solving, or
done solving while the database is away. Run as: python -m bench.slow_worker"""

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
