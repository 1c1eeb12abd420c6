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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from solver.candidates import Candidates
from solver.index import Index

S_PER_PAIR = 6e-8  # a phase, per pair its layering looks at, its paths included (quiet)
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
    pairs = _Pairs.of(ix, cand)
    tier = ix.r_tier[cand.u_req]
    # within a tier, the heavier of two paths' requests goes first
    rank = np.empty(n_units, dtype=np.int64)
    rank[sorted(range(n_units), key=lambda u: -ix.r_weight[int(cand.u_req[u])])] = np.arange(
        n_units)
    has_pairs = pairs.start[1:] > pairs.start[:-1]
    added = 0
    touched = len(cand.p_unit)  # a phase's cost is foreseen from the last one's
    for t in np.unique(tier)[::-1]:
        wanted = (tier == t) & has_pairs
        while (wanted & (chosen < 0)).any() and spend(S_PER_PAIR * touched):
            found, touched = _phase(ix, cand, chosen, used, wanted, rank, pairs)
            added += found
            if found == 0:
                break
    return added


@dataclass(frozen=True)
class _Pairs:
    """The pairs' units listed responder by responder (`resp_unit[first[j]:first[j + 1]]`),
    and the pairs unit by unit (`by_unit[start[u]:start[u + 1]]`, with their responders
    `unit_resp` and units `unit_of` in that order)."""

    resp_unit: np.ndarray
    first: np.ndarray
    by_unit: np.ndarray
    start: np.ndarray
    unit_resp: np.ndarray
    unit_of: np.ndarray

    @classmethod
    def of(cls, ix: Index, cand: Candidates) -> _Pairs:
        # 32 bits: each phase reads these whole, and half the bytes read faster (and keep
        # the peak of a 100,000-request solve down)
        p_unit, p_resp = cand.p_unit.astype(np.int32), cand.p_resp.astype(np.int32)
        # a 16-bit key sorts by radix, several times faster than a wider one
        key = p_resp.astype(np.uint16) if len(ix.j_lon) <= 2**16 else p_resp
        resp_unit = p_unit[np.argsort(key, kind="stable")]
        by_unit = np.argsort(p_unit, kind="stable").astype(np.int32)
        return cls(resp_unit=resp_unit, first=_offsets(p_resp, len(ix.j_lon)),
                   by_unit=by_unit, start=_offsets(p_unit, len(cand.u_req)),
                   unit_resp=p_resp[by_unit], unit_of=p_unit[by_unit])


def _offsets(keys: np.ndarray, n: int) -> np.ndarray:
    """Where each of the keys 0..n-1 starts once `keys` are sorted (n + 1 offsets)."""
    return np.concatenate([[0], np.cumsum(np.bincount(keys, minlength=n))])


def _phase(ix: Index, cand: Candidates, chosen: np.ndarray, used: np.ndarray,
           wanted: np.ndarray, rank: np.ndarray, pairs: _Pairs) -> tuple[int, int]:
    """One phase: layers back from the responders with room, then paths down them from
    the units of `wanted` left out, heaviest first (`rank`). Updates `chosen` and `used`;
    returns (how many units it served, how many pairs the layering looked at)."""
    n_units, nj = len(cand.u_req), len(ix.j_lon)
    room = ix.j_tasks_left - used
    at = np.full(n_units, -1, dtype=np.int64)  # each unit's responder
    served = np.flatnonzero(chosen >= 0)
    at[served] = cand.p_resp[chosen[served]]
    layer = np.full(nj, -1, dtype=np.int32)
    frontier = np.flatnonzero(room > 0)
    layer[frontier] = 0
    seen_unit = np.zeros(n_units, dtype=bool)
    touched, depth = 0, 0
    while len(frontier) and depth < MAX_LAYERS:
        pu = pairs.resp_unit[_ranges(pairs.first[frontier], pairs.first[frontier + 1])]
        touched += len(pu)
        pu = pu[(at[pu] >= 0) & ~seen_unit[pu]]
        seen_unit[pu] = True
        reached = np.zeros(nj, dtype=bool)  # a mask, not a sort: the units are many
        reached[at[pu]] = True
        frontier = np.flatnonzero(reached & (layer < 0))
        depth += 1
        layer[frontier] = depth
    # Every unit's steps down the layers, found for all units at once: a unit served at
    # a responder of layer L may move to one under L, a unit of `wanted` left out to any
    # with a layer. Within the phase only deaths change which steps are open; those are
    # checked as the steps are walked (in plain lists: the walk is Python).
    below = np.where(at >= 0, layer[at], np.where(wanted, MAX_LAYERS + 1, -1))
    lj = layer[pairs.unit_resp]
    down = np.flatnonzero((lj >= 0) & (lj < below[pairs.unit_of]))
    step_at = _offsets(pairs.unit_of[down], n_units).tolist()
    step_pair, step_resp = pairs.by_unit[down], pairs.unit_resp[down]
    # the units each responder holds as the phase starts (`held[hold_at[j]:hold_at[j + 1]]`);
    # those that move in the phase are skipped, and units moved in have moved already
    held = served[np.argsort(at[served], kind="stable")].tolist()
    hold_at = _offsets(at[served], nj).tolist()
    moved = bytearray(n_units)
    dead = bytearray(nj)
    room_left = room.tolist()

    def walk(u: int) -> bool:
        """Move unit u one step down to a place there is or that is freed for it, a
        holder of that place walking on in turn (one frame per step: recursion depth is
        the path's length); a responder that cannot give a place is dead for the phase."""
        lo = step_at[u]
        for i, k in enumerate(step_resp[lo:step_at[u + 1]].tolist()):
            if dead[k]:
                continue
            if room_left[k] > 0:
                room_left[k] -= 1
                used[k] += 1
            else:
                for v in held[hold_at[k]:hold_at[k + 1]]:
                    if not moved[v] and walk(v):
                        break
                else:
                    dead[k] = True
                    continue
            chosen[u], moved[u] = step_pair[lo + i], True
            return True
        return False

    done = 0
    for u in sorted(np.flatnonzero(wanted & (at < 0)).tolist(), key=lambda x: rank[x]):
        done += walk(u)
    return done, touched


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The integers of every [start, end), concatenated."""
    counts = ends - starts
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
    return offsets + np.arange(total)
