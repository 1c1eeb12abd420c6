"""Problems with more pairs in reach than memory holds: each request's nearest, tier by tier.

At 100,000 requests x 20,000 responders some 1.4e8 pairs lie within the responders' radii.
Each request then keeps only its NEAREST_K nearest responders of its class, and the plan is
built like the reference greedy, most urgent tier first: the tier's requests are placed on
their pairs (heaviest first, each on its cheapest pair that still fits, repair's re-fill),
then those left out get their nearest responders that still have room, twice, wider the
second time, as far as the budget allows (each round's quiet-machine estimate is charged
like every other step, so the same input gives the same plan on a slower machine). A tier
is done before the next starts, so a normal request never takes the place an urgent one's
widening would have found.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from solver import geo
from solver.candidates import Candidates, build_candidates, join_candidates, request_arrays
from solver.certify import Budget
from solver.greedy import Choice, sec_order
from solver.index import Index
from solver.repair import repair

NEAREST_K = 64  # responders of its class a request keeps at first
WIDEN_K = (64, 512)  # per round, the nearest responders with room a request left out gets
# quiet-machine costs (bench cities, 100,000 x 20,000), to size the rounds from a budget
FIRST_S = 1.2e-6  # the first pairs and every request placed on them, per neighbour
KNN_S = 5.0e-7  # a widening round: per request and neighbour asked for
HELD_S = 2.0e-5  # a widening round: per pair the plan holds (placing re-commits the plan)


def first_pairs_s(ix: Index) -> float:
    """The quiet-machine cost of the first pairs and of placing every request on them."""
    return FIRST_S * NEAREST_K * int((~ix.r_fixed).sum())


def solve_by_tier(ix: Index, cand: Candidates, budget: Budget
                  ) -> tuple[Candidates, dict[int, Choice]]:
    """(the pairs, with those the widening added; the plan, as choices of their ids), from
    `cand` built with knn=NEAREST_K (whose cost, first_pairs_s, the caller has charged). A
    widening round is started only if its estimate fits the `budget`; its deadline and
    stop are safety nets: a request not reached by then is left out, the plan stays
    valid."""
    choices: dict[int, Choice] = {}
    deadline = budget.deadline
    for tier in sorted(set(ix.r_tier[~ix.r_fixed].tolist()), reverse=True):
        if budget.halted():
            break
        choices = _place(ix, cand, choices, (ix.r_tier == tier) & ~ix.r_fixed, deadline)
        for k in WIDEN_K:
            cand, choices = _widen(ix, cand, choices, k, ix.r_tier == tier, budget)
    return cand, choices


def _place(ix: Index, cand: Candidates, choices: dict[int, Choice], todo: np.ndarray,
           deadline: float, usable: np.ndarray | None = None) -> dict[int, Choice]:
    """The plan with the requests `todo` (a mask) that it leaves out placed, heaviest first,
    each on its cheapest pair that still fits (repair's re-fill: nobody served moves). Only
    the plan's pairs and those of the requests to place (of the pairs `usable`, a mask, if
    given) are looked at. A pair's id is its index in `cand`."""
    held = _held(choices)
    keep = todo[cand.p_req] if usable is None else todo[cand.p_req] & usable
    keep[held] = True
    ordered = cand.take(np.flatnonzero(keep))
    ordered = ordered.take(sec_order(ordered))
    position = np.full(len(cand.p_id), -1, dtype=np.int64)
    position[ordered.p_id] = np.arange(len(ordered.p_id))
    local = {ri: Choice(tuple(int(position[p]) for p in c.pairs), c.start, c.fund)
             for ri, c in choices.items()}
    placed = repair(ix, ordered, local, effort=0, deadline=deadline)
    return {ri: Choice(tuple(int(ordered.p_id[p]) for p in c.pairs), c.start, c.fund)
            for ri, c in placed.items()}


def _widen(ix: Index, cand: Candidates, choices: dict[int, Choice], k: int, tier: np.ndarray,
           budget: Budget) -> tuple[Candidates, dict[int, Choice]]:
    """The nearest of a crowded neighbourhood fill up while responders farther out keep
    their room. The requests of `tier` left out that had more responders in reach get their
    k nearest among those with a task, the minutes and the load to spare (whether the visit
    fits their day is left to `_place`), and are placed on them."""
    pairs = _held(choices)
    arrays = request_arrays(ix)
    nj = len(ix.j_lon)
    pj, pr = cand.p_resp[pairs], cand.p_req[pairs]
    used = np.bincount(pj, minlength=nj)
    minutes = np.bincount(pj, arrays["dur"][pr] + 2 * cand.p_minutes[pairs], minlength=nj)
    load = np.bincount(pj, arrays["qty"][pr], minlength=nj)
    out = np.ones(len(ix.problem.requests), dtype=bool)
    out[list(choices)] = False
    todo = out & tier & ~ix.r_fixed & (cand.r_unexplored < geo.BIG_M)
    n_todo = int(todo.sum())
    if n_todo == 0 or not budget.spend(KNN_S * k * n_todo + HELD_S * len(pairs)):
        return cand, choices
    room = replace(ix, j_tasks_left=ix.j_tasks_left - used,
                   j_minutes_left=ix.j_minutes_left - minutes.astype(np.int64),
                   j_load_left=ix.j_load_left - load.astype(np.int64))
    more = build_candidates(room, knn=k, only=np.flatnonzero(todo))
    joined = join_candidates(cand, more)
    # only the new pairs of the requests to place: their old ones were tried already
    fresh = np.zeros(len(joined.p_id), dtype=bool)
    fresh[len(cand.p_id):] = True
    return joined, _place(ix, joined, choices, todo, budget.deadline, usable=fresh)


def _held(choices: dict[int, Choice]) -> np.ndarray:
    """The ids of every pair the plan uses."""
    return np.array([p for c in choices.values() for p in c.pairs], dtype=np.int64)
