"""More requests served by a count plan on the same pairs: augmenting paths.

A plan of the count variant is a b-matching of requests to responders (each responder up to
its tasks left). A request left out can still be served, without leaving out anyone served,
when an alternating path leads from it to a responder with room: the request takes a
responder on the path, whose request moves to the next responder on the path, and so on,
until the last one takes the room. A breadth-first search back from every responder with
room at once finds the shortest such paths; those that share no request are applied, the
heaviest request's first. Tiers are taken most urgent first, each until no path is left:
nobody served is ever left out, so an urgent request never gives way to a normal one. Travel
is not looked at: this is the count plans' fallback when there is no time for a flow.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from solver.candidates import Candidates
from solver.index import Index

S_PER_PAIR = 4.0e-8  # a search, per pair it looks at (quiet machine)


def augment(ix: Index, cand: Candidates, chosen: np.ndarray, used: np.ndarray,
            spend: Callable[[float], bool]) -> int:
    """Serve more units of `cand` along augmenting paths, updating `chosen` (the pair of
    each unit, -1 if unserved) and `used` (tasks placed per responder) in place; how many
    more were served. `spend(quiet seconds)` says whether the next search fits the budget
    (and charges it): a search that does not fit is not started, and the plan stays valid
    after every search."""
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
    has_pairs = np.bincount(cand.p_unit, minlength=n_units) > 0
    added = 0
    touched = len(cand.p_unit)  # a search's cost is foreseen from the last one's
    for t in np.unique(tier)[::-1]:
        wanted = (tier == t) & has_pairs
        while (wanted & (chosen < 0)).any() and spend(S_PER_PAIR * touched):
            found, touched = _search(ix, cand, chosen, used, wanted, rank, by_resp, first)
            added += found
            if found == 0:
                break
    return added


def _search(ix: Index, cand: Candidates, chosen: np.ndarray, used: np.ndarray,
            wanted: np.ndarray, rank: np.ndarray, by_resp: np.ndarray,
            first: np.ndarray) -> tuple[int, int]:
    """One breadth-first search back from the responders with room, layer by layer, until
    a layer holds pairs of `wanted` units left out: those pairs end paths. A responder is
    reached by the first pair of a served unit that could move to a responder already
    reached (freeing the unit's place). The paths are applied, shortest first, each unless
    it shares a unit with one applied before or its responder with room has none left.
    Returns (how many units it served, 0 when no path leads to a unit wanted; how many pairs
    it looked at)."""
    n_units, nj = len(cand.u_req), len(ix.j_lon)
    room = ix.j_tasks_left - used
    at = np.full(n_units, -1, dtype=np.int64)  # each unit's responder
    served = np.flatnonzero(chosen >= 0)
    at[served] = cand.p_resp[chosen[served]]
    open_ = wanted & (at < 0)
    seen_unit = np.zeros(n_units, dtype=bool)
    reached_by = np.full(nj, -2, dtype=np.int64)  # the pair that frees a place; -1: room
    frontier = np.flatnonzero(room > 0)
    reached_by[frontier] = -1
    touched = 0
    while len(frontier):
        pairs = by_resp[_ranges(first[frontier], first[frontier + 1])]
        touched += len(pairs)
        pu = cand.p_unit[pairs]
        ends = pairs[open_[pu]]
        if len(ends):
            ends = ends[np.argsort(rank[cand.p_unit[ends]], kind="stable")]
            return _apply(cand, chosen, used, room, at, reached_by, ends), touched
        keep = (at[pu] >= 0) & ~seen_unit[pu]
        pairs, pu = pairs[keep], pu[keep]
        seen_unit[pu] = True
        # each responder not yet reached is freed by the first of these pairs that frees it
        fresh = reached_by[at[pu]] == -2
        pairs, pj = pairs[fresh], at[pu[fresh]]
        where = np.full(nj, len(pairs), dtype=np.int64)
        np.minimum.at(where, pj, np.arange(len(pairs)))
        frontier = np.flatnonzero(where < len(pairs))
        reached_by[frontier] = pairs[where[frontier]]
    return 0, touched


def _apply(cand: Candidates, chosen: np.ndarray, used: np.ndarray, room: np.ndarray,
           at: np.ndarray, reached_by: np.ndarray, ends: np.ndarray) -> int:
    """Apply the paths the pairs `ends` start (each on through the search tree to a
    responder with room), in order, skipping one whose responder has no room left or that
    shares a unit with one applied before."""
    moved = np.zeros(len(chosen), dtype=bool)
    room = room.copy()
    done = 0
    for end in ends.tolist():
        path, pair = [], end
        while pair >= 0:
            path.append(pair)
            pair = int(reached_by[cand.p_resp[pair]])
        last = int(cand.p_resp[path[-1]])
        units = [int(cand.p_unit[q]) for q in path]
        if room[last] <= 0 or any(moved[u] for u in units):
            continue
        for unit, q in zip(units, path, strict=True):
            moved[unit] = True
            chosen[unit] = q
        room[last] -= 1
        used[last] += 1
        done += 1
    return done


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The integers of every [start, end), concatenated."""
    counts = ends - starts
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
    return offsets + np.arange(total)
