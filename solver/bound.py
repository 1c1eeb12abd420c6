"""An upper bound on the served weight P that holds for every feasible plan.

Relaxation: drop time, minute, load and fund coupling; keep task caps. Single-responder
requests then form a transversal matroid whose best weight the flow finds exactly; a team
request is counted in full whenever each of its slots has enough candidates at all.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from solver.candidates import Candidates
from solver.index import Index, distinct


def served_upper_bound(ix: Index, cand: Candidates) -> int:
    from solver.flow import solve_flow

    single = cand.u_slot[cand.p_unit] < 0
    sub = cand.take(np.flatnonzero(single))
    sub = replace(sub, p_sec=np.zeros(len(sub.p_sec), dtype=np.int64))
    quiet = replace(ix, problem=replace(ix.problem, params=replace(ix.problem.params,
                                                                   fairness_weight=0.0)))
    total = solve_flow(quiet, sub).served_bound
    per_unit = np.bincount(cand.p_unit[~single], minlength=len(cand.u_req))
    for ri in sorted(set(cand.u_req[cand.u_slot >= 0].tolist())):
        first, n = cand.r_units[ri]
        if all(per_unit[u] >= cand.u_count[u] for u in range(first, first + n)):
            total += ix.r_weight[ri]
    return total


def capacity_bound(ix: Index, cand: Candidates) -> int:
    """A cheaper, looser bound: as if every responder could serve every request and a team
    needed one slot, the heaviest requests with candidates up to the task slots left."""
    js = distinct(cand.p_resp)
    slots = int(np.minimum(ix.j_tasks_left[js], len(cand.u_req)).sum())
    return heaviest(ix, cand.p_req.tolist(), slots)


def heaviest(ix: Index, requests: list[int], slots: int) -> int:
    """The summed weight of the `slots` heaviest of `requests` (each counted once)."""
    weights = sorted((ix.r_weight[r] for r in set(requests)), reverse=True)
    return sum(weights[:slots])
