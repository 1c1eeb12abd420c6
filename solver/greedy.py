"""Greedy pass: heaviest requests first, each to its cheapest candidate that still fits.

It respects every hard constraint, so it is the fallback when a model times out, the warm start
for CP-SAT, and the floor the served count never goes below.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from solver.candidates import Candidates
from solver.index import Index
from solver.loads import Loads

MAX_TEAM_STARTS = 40  # start times tried per team request; enough for any real window
SCAN = 1_000_000  # candidates tried per unit unless the caller says otherwise (match_one)


@dataclass
class Choice:
    pairs: tuple[int, ...]   # one pair per member
    start: int | None
    fund: int | None


def unit_pairs(cand: Candidates) -> np.ndarray:
    """(nUnits + 1) offsets of each unit's pairs, which are sorted by unit."""
    return np.searchsorted(cand.p_unit, np.arange(len(cand.u_req) + 1))


def weight_chunks(ix: Index, size: int) -> np.ndarray:
    """Per request, its chunk (-1 for fixed ones): the open requests heaviest first (by
    index on ties), `size` at a time, a new chunk at each urgency tier."""
    chunk_of = np.full(len(ix.problem.requests), -1, dtype=np.int64)
    by_weight = np.array(sorted(np.flatnonzero(~ix.r_fixed).tolist(),
                                key=lambda r: -ix.r_weight[r]), dtype=np.int64)
    if len(by_weight) == 0:
        return chunk_of
    tier = ix.r_tier[by_weight]
    first_of_tier = np.searchsorted(-tier, -tier, side="left")
    within = np.arange(len(by_weight)) - first_of_tier
    chunk_of[by_weight] = np.cumsum(within % size == 0) - 1
    return chunk_of


def pairs_by_chunk(cand: Candidates, chunk_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pair indices grouped by their request's chunk, offsets of each chunk's group)."""
    keys = chunk_of[cand.p_req]
    by_chunk = np.argsort(keys, kind="stable")
    return by_chunk, np.searchsorted(keys[by_chunk], np.arange(chunk_of.max(initial=-1) + 2))


def request_order(ix: Index, cand: Candidates, ptr: np.ndarray) -> list[int]:
    """Open requests with candidates, heaviest first, the most constrained first on ties."""
    nr = len(ix.problem.requests)
    counts = np.bincount(cand.u_req, weights=ptr[1:] - ptr[:-1], minlength=nr).astype(np.int64)
    # only the requests with pairs are looked at in Python: the fallback's refills pass
    # a few hundred of 100,000
    reqs = np.flatnonzero(~ix.r_fixed & (counts > 0)).tolist()
    return sorted(reqs, key=lambda ri: (-ix.r_weight[ri], int(counts[ri]), ri))


def _roomy(cand: Candidates, loads: Loads, r, ps: np.ndarray) -> np.ndarray:
    """The pairs among `ps` whose responder still has task, minute and load room."""
    j, t = cand.p_resp[ps], cand.p_minutes[ps]
    ok = ((loads.tasks[j] >= 1) & (loads.minutes[j] >= r.duration + 2 * t)
          & (loads.load[j] >= r.quantity))
    return ps[ok]


def _members_at(ix, cand, loads, ri, ptr, order, start, scan) -> list[int] | None:
    """Cheapest members for every slot of request ri at `start` (None: untimed)."""
    r = ix.problem.requests[ri]
    first, n = cand.r_units[ri]
    used: set[int] = set()
    chosen: list[int] = []
    for u in range(first, first + n):
        need = int(cand.u_count[u])
        for p in _roomy(cand, loads, r, order[ptr[u]:min(ptr[u + 1], ptr[u] + scan + need)]):
            j, t = int(cand.p_resp[p]), int(cand.p_minutes[p])
            if j in used:
                continue
            if start is not None and not loads.free_at(j, start, t, r.duration):
                continue
            used.add(j)
            chosen.append(int(p))
            need -= 1
            if need == 0:
                break
        if need:
            return None
    return chosen


def place(ix: Index, cand: Candidates, loads: Loads, ri: int, ptr, order,
          scan: int = SCAN) -> Choice | None:
    """The greedy choice for one request given current loads, or None if nothing fits."""
    r = ix.problem.requests[ri]
    fund = None
    if r.cost > 0:
        fund = loads.pick_fund(ri)
        if fund is None:
            return None
    if r.window is None:
        members = _members_at(ix, cand, loads, ri, ptr, order, None, scan)
        return None if members is None else Choice(tuple(members), None, fund)
    first, n = cand.r_units[ri]
    if n == 1 and cand.u_count[first] == 1:
        for p in _roomy(cand, loads, r, order[ptr[first]:min(ptr[first + 1],
                                                              ptr[first] + scan)]):
            j, t = int(cand.p_resp[p]), int(cand.p_minutes[p])
            ranges = loads.starts(j, t, r.duration, r.window)
            if ranges:
                return Choice((int(p),), ranges[0][0], fund)
        return None
    starts: set[int] = set()
    for u in range(first, first + n):
        for p in _roomy(cand, loads, r, order[ptr[u]:min(ptr[u + 1], ptr[u] + scan)]):
            j, t = int(cand.p_resp[p]), int(cand.p_minutes[p])
            starts.update(lo for lo, _ in loads.starts(j, t, r.duration, r.window))
    for s in sorted(starts)[:MAX_TEAM_STARTS]:
        members = _members_at(ix, cand, loads, ri, ptr, order, s, scan)
        if members is not None:
            return Choice(tuple(members), s, fund)
    return None


def commit(ix: Index, cand: Candidates, loads: Loads, ri: int, choice: Choice) -> None:
    r = ix.problem.requests[ri]
    for p in choice.pairs:
        loads.commit(int(cand.p_resp[p]), choice.start, int(cand.p_minutes[p]), r.duration,
                     r.quantity)
    if choice.fund is not None:
        loads.funds[choice.fund] -= r.cost


def sec_order(cand: Candidates) -> np.ndarray:
    """Pair indices sorted by (unit, secondary cost, metres, responder). One argsort of a
    packed int64 key when the four fit in 62 bits (6x faster than lexsort at 1.5 M pairs),
    else lexsort; the order is the same either way."""
    n = len(cand.p_unit)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    sec = cand.p_sec - cand.p_sec.min()
    spans = [int(cand.p_unit.max()) + 1, int(sec.max()) + 1, int(cand.p_metres.max()) + 1,
             int(cand.p_resp.max()) + 1]
    if float(np.prod([float(x) for x in spans])) < 2.0**62 and cand.p_metres.min() >= 0:
        key = ((cand.p_unit * spans[1] + sec) * spans[2] + cand.p_metres) * spans[3]
        key += cand.p_resp
        return np.argsort(key, kind="stable")
    return np.lexsort((cand.p_resp, cand.p_metres, cand.p_sec, cand.p_unit))


def solve_greedy(ix: Index, cand: Candidates, *, presorted: bool = False,
                 deadline: float | None = None, loads: Loads | None = None
                 ) -> dict[int, Choice]:
    """Heaviest first, each request to its cheapest candidate that still fits.
    `presorted`: the pairs are already in sec_order. `deadline` (a time.perf_counter()
    instant) is a safety net only: past it the remaining requests are left out. `loads`,
    if given, is what was taken before; the requests placed are committed to it."""
    ptr = unit_pairs(cand)
    order = np.arange(len(cand.p_unit)) if presorted else sec_order(cand)
    loads = Loads(ix) if loads is None else loads
    out: dict[int, Choice] = {}
    scan = int(np.max(ptr[1:] - ptr[:-1], initial=0))
    for k, ri in enumerate(request_order(ix, cand, ptr)):
        if deadline is not None and k % 256 == 255 and time.perf_counter() > deadline:
            break
        choice = place(ix, cand, loads, ri, ptr, order, scan)
        if choice is not None:
            commit(ix, cand, loads, ri, choice)
            out[ri] = choice
    return out
