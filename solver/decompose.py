"""Independent parts: requests that share no candidate responder and no fund.

Parts are solved separately (the objective is a sum over parts and no constraint crosses
them), in parallel over two processes when they are big enough to repay the fork, and merged
in a fixed order so the plan does not depend on scheduling.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from solver.candidates import Candidates
from solver.index import Index

PARALLEL_MIN_PAIRS = 200_000  # below this a part solves faster than a process starts
WORKERS = 2

_shared: tuple | None = None  # (ix, parts, budgets, seed, deadline) for forked workers


def parts(ix: Index, cand: Candidates) -> list[np.ndarray]:
    """Unit indices of each part, parts ordered by their first unit."""
    n_units, nj = len(cand.u_req), len(ix.j_lon)
    problem = ix.problem
    rows = [cand.p_unit]
    cols = [n_units + cand.p_resp]
    # paid requests that may share a fund are linked through a node per fund
    paid = [(u, k) for u, ri in enumerate(cand.u_req.tolist())
            if problem.requests[ri].cost > 0
            for k, f in enumerate(problem.funds) if f.eligible(problem.requests[ri])]
    if paid:
        pu, pk = np.array(paid, dtype=np.int64).T
        rows.append(pu)
        cols.append(n_units + nj + pk)
    # units of one team request belong together
    for ri in np.unique(cand.u_req[cand.u_slot >= 0]):
        first, n = cand.r_units[ri]
        rows.append(np.full(n - 1, first, dtype=np.int64))
        cols.append(np.arange(first + 1, first + n, dtype=np.int64))
    size = n_units + nj + len(problem.funds)
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(r), dtype=np.int8), (r, c)), shape=(size, size))
    _, label = connected_components(graph, directed=False)
    # a request is in a part with all its units, even a team slot nobody can fill (the
    # model must see that slot to leave the team unserved)
    req_has = np.zeros(len(problem.requests), dtype=bool)
    req_has[cand.u_req[cand.p_unit]] = True
    has_pairs = req_has[cand.u_req]
    unit_label = label[:n_units]
    out = []
    for lab in np.unique(unit_label[has_pairs]):
        out.append(np.flatnonzero((unit_label == lab) & has_pairs))
    out.sort(key=lambda u: int(u[0]))
    return out


def sub_candidates(cand: Candidates, units: np.ndarray) -> Candidates:
    """The part with units renumbered 0..n-1 (pairs keep their global p_id)."""
    new = np.full(len(cand.u_req), -1, dtype=np.int64)
    new[units] = np.arange(len(units))
    keep = np.flatnonzero(new[cand.p_unit] >= 0)
    sub = cand.take(keep)
    r_units = np.zeros_like(cand.r_units)
    reqs = cand.u_req[units]
    starts = np.flatnonzero(np.r_[True, reqs[1:] != reqs[:-1]])
    r_units[reqs[starts], 0] = starts
    r_units[reqs[starts], 1] = np.diff(np.r_[starts, len(units)])
    return replace(sub, u_req=reqs, u_slot=cand.u_slot[units], u_count=cand.u_count[units],
                   r_units=r_units, p_unit=new[sub.p_unit])


def _solve_shared(i: int):
    from solver.engine import solve_part

    ix, subs, budgets, seed, deadline = _shared
    return solve_part(ix, subs[i], budgets[i], seed, deadline)


def solve_parts(ix: Index, cand: Candidates, units_per_part: list[np.ndarray],
                time_limit: float, seed: int, deadline: float, *,
                stop: threading.Event | None = None,
                on_part: Callable[[object], None] | None = None) -> list:
    """solve_part for every part; results in part order. `stop` is checked between parts
    (and inside CP-SAT when parts run in this process; forked workers cannot see it).
    `on_part(result)` hears of each finished part."""
    global _shared
    from solver.engine import solve_part

    subs = [sub_candidates(cand, u) for u in units_per_part]
    sizes = np.array([max(len(s.p_unit), 1) for s in subs], dtype=np.float64)
    big = int((sizes >= PARALLEL_MIN_PAIRS).sum())
    parallel = big >= 2 and "fork" in multiprocessing.get_all_start_methods()
    share = sizes / sizes.sum() * (WORKERS if parallel else 1)
    budgets = [max(0.2, min(time_limit, time_limit * s)) for s in share]
    if not parallel or (stop is not None and stop.is_set()):
        results = []
        for s, b in zip(subs, budgets, strict=True):
            results.append(solve_part(ix, s, b, seed, deadline, stop=stop))
            if on_part is not None:
                on_part(results[-1])
        return results
    _shared = (ix, subs, budgets, seed, deadline)
    try:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=WORKERS, mp_context=ctx) as pool:
            # biggest parts first so the two workers finish together
            order = sorted(range(len(subs)), key=lambda i: -sizes[i])
            futures = {i: pool.submit(_solve_shared, i) for i in order}
            results = []
            for i in range(len(subs)):
                results.append(futures[i].result())
                if on_part is not None:
                    on_part(results[-1])
            return results
    finally:
        _shared = None
