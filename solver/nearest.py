"""Problems with more pairs in reach than memory holds: each request's nearest, then wider.

At 100,000 requests x 20,000 responders some 1.4e8 pairs lie within the responders' radii.
Each request then keeps only its nearest responders of its class (NEAREST_K for urgent and
emergency requests, a quarter of that for normal ones), and the plan is built like the
reference greedy, heaviest first, in chunks of CHUNK requests (never across an urgency
tier):

1. the chunk's requests are placed on their pairs, each on its cheapest pair that still
   fits (the greedy pass, on loads kept from chunk to chunk);
2. those left out that had responders beyond their nearest get every responder in their
   reach that still has a task, minutes and load to spare (the reference greedy's last
   resort), and are placed on them.

A chunk is done before the next starts, so a lighter request never takes the responder a
heavier one's widening would have found. After the last emergency chunk, the emergencies
left out are served where moving others allows (repair.py, on the emergencies' pairs).
The widening and the repair are started only if their quiet-machine estimates fit the
budget (charged like every other step, so the same input gives the same plan on a slower
machine); the deadline and stop are safety nets: a request not reached by then is left
out, and the plan stays valid.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from solver import geo
from solver.candidates import Candidates, build_candidates, expected_pairs, join_candidates
from solver.certify import Budget
from solver.greedy import Choice, commit, pairs_by_chunk, sec_order, solve_greedy, weight_chunks
from solver.index import Index
from solver.loads import Loads
from solver.problem import URGENCIES
from solver.repair import repair

NEAREST_K = 32  # responders of its class an urgent request keeps at first (normal: 8)
CHUNK = 2500  # requests placed before the next, heaviest first
# quiet-machine costs (bench cities, 100,000 x 20,000), to size the steps from a budget
FIRST_S = 8.5e-7  # the first pairs, per request and neighbour
PLACE_S = 6.0e-7  # placing every request on them, per request and neighbour
REACH_S = 2.0e-7  # a widening, per pair in reach of a responder with room, placing included
TREES_S = 2.5e-6  # a widening, per responder with room (their KD-trees)
REPAIR_EFFORT = 20_000  # moves tried to serve the emergencies the chunks left out
REPAIR_S = 1.5e-5  # that repair, per emergency request


def _first(ix: Index) -> list[tuple[np.ndarray, int]]:
    """(open requests, nearest each keeps at first): NEAREST_K for the urgent and emergency
    tiers, a quarter of that for normal requests."""
    normal = ix.r_tier == URGENCIES.index("normal")
    return [(np.flatnonzero(~ix.r_fixed & ~normal), NEAREST_K),
            (np.flatnonzero(~ix.r_fixed & normal), max(1, NEAREST_K // 4))]


def first_pairs_s(ix: Index) -> float:
    """The quiet-machine cost of the first pairs and of placing every request on them."""
    return (FIRST_S + PLACE_S) * sum(k * len(reqs) for reqs, k in _first(ix))


def first_candidates(ix: Index) -> Candidates:
    """Each open request's nearest responders of its class (see _first). Normal requests
    are most of a city, come last, and find their nearest mostly full by then: they widen
    to every responder with room anyway (solve_in_chunks), so more first pairs would only
    spend the budget their widening needs."""
    return join_candidates(*(build_candidates(ix, knn=k, only=reqs) for reqs, k in _first(ix)))


def solve_in_chunks(ix: Index, cand: Candidates, budget: Budget, in_reach: float
                    ) -> tuple[Candidates, dict[int, Choice]]:
    """(the pairs, with those the widening added; the plan, as choices of their ids), from
    `cand` built with knn=NEAREST_K (whose cost, first_pairs_s, the caller has charged).
    `in_reach` is the pairs in reach per open request (candidates.pairs_in_reach), from
    which the last step's pairs are estimated."""
    loads = Loads(ix)
    choices: dict[int, Choice] = {}
    chunk_of = weight_chunks(ix, CHUNK)
    by_chunk, bounds = pairs_by_chunk(cand, chunk_of)

    def place(pairs: Candidates) -> None:
        ordered = pairs.take(sec_order(pairs))
        found = solve_greedy(ix, ordered, presorted=True, deadline=budget.deadline,
                             loads=loads)
        choices.update((ri, Choice(tuple(int(ordered.p_id[p]) for p in c.pairs), c.start,
                                   c.fund)) for ri, c in found.items())

    extra: list[Candidates] = []  # the widenings' pairs, joined to `cand` at the end
    total = len(cand.p_id)

    def widen(more: Candidates) -> None:
        nonlocal total
        more = replace(more, p_id=np.arange(total, total + len(more.p_id), dtype=np.int64))
        total += len(more.p_id)
        extra.append(more)
        place(more)

    # the open emergencies, whose chunks come first (weight_chunks: most urgent first)
    emergency = (chunk_of >= 0) & (ix.r_tier == URGENCIES.index("emergency"))
    last_emergency = int(chunk_of[emergency].max(initial=-1))
    for c in range(len(bounds) - 1):
        if budget.halted():
            break
        place(cand.take(by_chunk[bounds[c]:bounds[c + 1]]))
        todo = _left_out(ix, cand, choices, chunk_of == c)
        if len(todo):
            roomy = (loads.tasks >= 1) & (loads.minutes > 0) & (loads.load >= 0)
            expected = expected_pairs(in_reach, len(todo), roomy)
            if budget.spend(REACH_S * expected + TREES_S * int(roomy.sum())):
                widen(build_candidates(_room(ix, loads), only=todo, among=roomy))
        if c == last_emergency and budget.spend(REPAIR_S * int(emergency.sum())):
            loads = _repair(ix, [cand, *extra], choices, emergency, budget)
    return join_candidates(cand, *extra), choices


def _repair(ix: Index, parts: list[Candidates], choices: dict[int, Choice],
            mask: np.ndarray, budget: Budget) -> Loads:
    """Emergencies left out by the chunks' greedy choices served by moving others
    (repair.py: eject and relocate, augmenting chains) on every pair they have, first or
    widened; `choices` (only theirs so far) is updated, and the loads of the result are
    returned. The greedy gives each emergency its cheapest pair in turn, so a heavier one
    can take the only responder a lighter one reaches; one emergency outranks any number
    of normal requests, so this is worth its (small) cost where the tiers below are not."""
    tier = [c.take(np.flatnonzero(mask[c.p_req])) for c in parts]
    joined = join_candidates(*tier)
    joined = replace(joined, p_id=np.concatenate([c.p_id for c in tier]))
    sub = joined.take(sec_order(joined))
    at = {pid: i for i, pid in enumerate(sub.p_id.tolist())}
    mine = {ri: Choice(tuple(at[p] for p in c.pairs), c.start, c.fund)
            for ri, c in choices.items()}
    better = repair(ix, sub, mine, effort=REPAIR_EFFORT, deadline=budget.deadline)
    choices.clear()
    loads = Loads(ix)
    for ri, c in better.items():
        commit(ix, sub, loads, ri, c)
        choices[ri] = Choice(tuple(int(sub.p_id[p]) for p in c.pairs), c.start, c.fund)
    return loads


def _left_out(ix: Index, cand: Candidates, choices: dict[int, Choice],
              mask: np.ndarray) -> np.ndarray:
    """The requests of `mask` the plan leaves out that had responders beyond their pairs."""
    out = mask & ~ix.r_fixed & (cand.r_unexplored < geo.BIG_M)
    out[list(choices)] = False
    return np.flatnonzero(out)


def _room(ix: Index, loads: Loads) -> Index:
    """The index with what the responders have left once the plan's work is taken."""
    return replace(ix, j_tasks_left=loads.tasks.copy(), j_minutes_left=loads.minutes.copy(),
                   j_load_left=loads.load.copy())
