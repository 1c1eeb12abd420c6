"""More requests served by a count plan on the same pairs: augmenting paths.

A plan of the count variant is a b-matching of requests to responders (each responder up to
its tasks left). A request left out can still be served, without leaving out anyone served,
when an alternating path leads from it to a responder with room: the request takes a
responder on the path, whose request moves to the next responder on the path, and so on,
until the last one takes the room.

The search goes in phases (Hopcroft and Karp's idea). A breadth-first search back from
every responder with room gives each responder its layer: the fewest moves that free a
place there. Then, heaviest left-out request first, a depth-first search looks for a path
down the layers (each step to a lower one, so it ends at some room); the moves are made at
once, every request moves at most once a phase, and a responder from which no path led down
is not tried again in the phase. One phase so serves a whole set of disjoint paths, where a
single search tree serves only the few that share nothing of it. Tiers are taken most
urgent first, each until a phase finds nothing: nobody served is ever left out, so an urgent
request never gives way to a normal one. Travel is not looked at: this is the count plans'
fallback when there is no time for a flow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from solver.candidates import Candidates
from solver.index import Index, distinct

S_PER_PAIR = 1.2e-7  # a phase, per pair its layering looks at, its paths included (quiet)
MAX_LAYERS = 500  # paths of more moves are not looked for (and recursion stays shallow)


def augment(ix: Index, cand: Candidates, chosen: np.ndarray, used: np.ndarray,
            spend: Callable[[float], bool]) -> int:
    """Serve more units of `cand` along augmenting paths, updating `chosen` (the pair of
    each unit, -1 if unserved) and `used` (tasks placed per responder) in place; how many
    more were served. `spend(quiet seconds)` says whether the next search fits the budget
    (and charges it): a phase that does not fit is not started, and the plan stays valid
    after every phase."""
    n_units = len(cand.u_req)
    if n_units == 0 or len(cand.p_unit) == 0:
        return 0
    by_resp = np.argsort(cand.p_resp, kind="stable")
    first = np.searchsorted(cand.p_resp[by_resp], np.arange(len(ix.j_lon) + 1))
    tier = ix.r_tier[cand.u_req]
    # within a tier, the heavier of two paths' requests goes first
    rank = np.empty(n_units, dtype=np.int64)
    rank[sorted(range(n_units), key=lambda u: -ix.r_weight[int(cand.u_req[u])])] = np.arange(
        n_units)
    by_unit = np.argsort(cand.p_unit, kind="stable")
    start = np.searchsorted(cand.p_unit[by_unit], np.arange(n_units + 1))
    unit_resp = cand.p_resp[by_unit]  # each unit's responders, unit by unit
    has_pairs = start[1:] > start[:-1]
    added = 0
    touched = len(cand.p_unit)  # a phase's cost is foreseen from the last one's
    for t in np.unique(tier)[::-1]:
        wanted = (tier == t) & has_pairs
        while (wanted & (chosen < 0)).any() and spend(S_PER_PAIR * touched):
            found, touched = _phase(ix, cand, chosen, used, wanted, rank, by_resp, first,
                                    by_unit, start, unit_resp)
            added += found
            if found == 0:
                break
    return added


def _phase(ix: Index, cand: Candidates, chosen: np.ndarray, used: np.ndarray,
           wanted: np.ndarray, rank: np.ndarray, by_resp: np.ndarray, first: np.ndarray,
           by_unit: np.ndarray, start: np.ndarray, unit_resp: np.ndarray) -> tuple[int, int]:
    """One phase: layers back from the responders with room, then paths down them from
    the units of `wanted` left out, heaviest first (`rank`). `by_unit`, `start` and
    `unit_resp` list the pairs (and their responders) unit by unit. Updates `chosen` and
    `used`; returns (how many units it served, how many pairs the layering looked at)."""
    n_units, nj = len(cand.u_req), len(ix.j_lon)
    room = ix.j_tasks_left - used
    at = np.full(n_units, -1, dtype=np.int64)  # each unit's responder
    served = np.flatnonzero(chosen >= 0)
    at[served] = cand.p_resp[chosen[served]]
    layer = np.full(nj, -1, dtype=np.int64)
    frontier = np.flatnonzero(room > 0)
    layer[frontier] = 0
    seen_unit = np.zeros(n_units, dtype=bool)
    touched, depth = 0, 0
    while len(frontier) and depth < MAX_LAYERS:
        pairs = by_resp[_ranges(first[frontier], first[frontier + 1])]
        touched += len(pairs)
        pu = cand.p_unit[pairs]
        pu = pu[(at[pu] >= 0) & ~seen_unit[pu]]
        seen_unit[pu] = True
        frontier = distinct(at[pu])
        frontier = frontier[layer[frontier] < 0]
        depth += 1
        layer[frontier] = depth
    holders: dict[int, list[int]] = {}
    for u in served[np.argsort(at[served], kind="stable")].tolist():
        holders.setdefault(int(at[u]), []).append(u)
    moved = np.zeros(n_units, dtype=bool)
    dead = np.zeros(nj, dtype=bool)

    def steps(u: int, below: int) -> Iterator[tuple[int, int]]:
        """(pair, responder) of unit u into layers under `below`, in the pairs' order."""
        lo = int(start[u])
        js = unit_resp[lo:start[u + 1]]
        lj = layer[js]
        for i in np.flatnonzero((lj >= 0) & (lj < below)).tolist():
            yield int(by_unit[lo + i]), int(js[i])

    def move(u: int, pair: int, j: int) -> None:
        if at[u] >= 0:
            holders[int(at[u])].remove(u)
        holders.setdefault(j, []).append(u)
        at[u], chosen[u], moved[u] = j, pair, True

    def free(j: int) -> bool:
        """A place at j: its room, or one of its units moved down a path (made at once)."""
        if room[j] > 0:
            room[j] -= 1
            used[j] += 1
            return True
        for u in list(holders.get(j, ())):
            if moved[u]:
                continue
            for pair, k in steps(u, int(layer[j])):
                if not dead[k] and free(k):
                    move(u, pair, k)
                    return True
        dead[j] = True
        return False

    done = 0
    for u in sorted(np.flatnonzero(wanted & (at < 0)).tolist(), key=lambda x: rank[x]):
        for pair, k in steps(u, MAX_LAYERS + 1):
            if not dead[k] and free(k):
                move(u, pair, k)
                done += 1
                break
    return done, touched


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The integers of every [start, end), concatenated."""
    counts = ends - starts
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
    return offsets + np.arange(total)
