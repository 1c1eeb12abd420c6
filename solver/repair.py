"""Local repair of a plan: re-fill leftover capacity, then eject and relocate.

After the greedy pass (or a CP-SAT search over part of the pairs) some capacity is left where
no request was tried, and a heavier unserved request may be blocked by a lighter one that
could go elsewhere. Two passes, heaviest unserved requests first, every move checked against
the same `Loads` the greedy pass uses:

1. **Re-fill**: each unserved request goes to its cheapest candidate that still fits.
2. **Eject and relocate**: for an unserved single-responder request r and one of its nearest
   candidates j, take a request q off j; if r then fits on j and q fits anywhere else, both
   are served (one more request); if q fits nowhere but weighs less than r, r replaces it
   (a heavier request served). Otherwise everything goes back as it was.
3. **Augmenting chains**: when task caps bind, the free capacity is rarely one move away.
   A breadth-first search from r over responders: r onto j1 if j1 drops q1, q1 onto j2 if
   j2 drops q2, ... until some j_k takes the last one as it is; each responder is visited
   once, and each step is checked with that responder's own load (every responder on the
   chain gains one request and loses one, so the steps do not interact). The chain is then
   applied, serving r and keeping everyone else served: the matching idea of the exact
   flow, with time windows, minute and load caps checked at every step.

Every accepted move raises the served weight P, so the objective (lexicographic: P first)
only improves, and the served count never falls below what the plan had, except when a
heavier request displaces a lighter one. Effort is a count of tried moves, not seconds, so
the same input always gives the same plan; the wall-clock deadline is a safety net only.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from solver.candidates import Candidates
from solver.greedy import Choice, commit, place, request_order, unit_pairs
from solver.index import Index
from solver.loads import Loads

NEAREST = 8  # candidates of r tried for an ejection, cheapest first
CHAIN_NEAREST = 8  # candidates of each request on a chain, cheapest first
MAX_EXPANSIONS = 200  # responders one chain search may visit


def _release(ix: Index, cand: Candidates, loads: Loads, ri: int, choice: Choice) -> None:
    r = ix.problem.requests[ri]
    for p in choice.pairs:
        loads.release(int(cand.p_resp[p]), choice.start, int(cand.p_minutes[p]), r.duration,
                      r.quantity)
    if choice.fund is not None:
        loads.funds[choice.fund] += r.cost


def _fit_on(ix: Index, cand: Candidates, loads: Loads, ri: int, p: int,
            fund: int | None) -> Choice | None:
    """Request ri on pair p alone, at its earliest free start, if caps and time allow."""
    r = ix.problem.requests[ri]
    j, t = int(cand.p_resp[p]), int(cand.p_minutes[p])
    if not loads.fits_caps(j, r.duration, t, r.quantity):
        return None
    if r.window is None:
        return Choice((p,), None, fund)
    ranges = loads.starts(j, t, r.duration, r.window)
    return Choice((p,), ranges[0][0], fund) if ranges else None


def repair(ix: Index, cand: Candidates, choices: dict[int, Choice], *, effort: int,
           deadline: float | None = None) -> dict[int, Choice]:
    """The plan `choices` (pairs of `cand`, which must be in greedy.sec_order) re-filled and
    improved by at most `effort` tried ejections; a new dict, `choices` is left alone."""
    ptr = unit_pairs(cand)
    order = np.arange(len(cand.p_unit))
    scan = int(np.max(ptr[1:] - ptr[:-1], initial=0))
    loads = Loads(ix)
    out = dict(choices)
    for ri, c in out.items():
        commit(ix, cand, loads, ri, c)
    # single-responder requests served, per responder (the ones an ejection may move)
    on: list[dict[int, int]] = [{} for _ in range(len(ix.j_lon))]
    for ri, c in out.items():
        if len(c.pairs) == 1 and cand.u_slot[cand.p_unit[c.pairs[0]]] < 0:
            on[int(cand.p_resp[c.pairs[0]])][ri] = c.pairs[0]

    def serve(ri: int, c: Choice) -> None:
        commit(ix, cand, loads, ri, c)
        out[ri] = c
        if len(c.pairs) == 1 and cand.u_slot[cand.p_unit[c.pairs[0]]] < 0:
            on[int(cand.p_resp[c.pairs[0]])][ri] = c.pairs[0]

    def drop(ri: int) -> Choice:
        c = out.pop(ri)
        _release(ix, cand, loads, ri, c)
        if len(c.pairs) == 1:
            on[int(cand.p_resp[c.pairs[0]])].pop(ri, None)
        return c

    def refill(queue: list[int]) -> None:
        for k, ri in enumerate(queue):
            if ri in out or (k % 256 == 255 and _late(deadline)):
                continue
            c = place(ix, cand, loads, ri, ptr, order, scan)
            if c is not None:
                serve(ri, c)

    queue = request_order(ix, cand, ptr)
    refill(queue)
    tried = 0
    for ri in queue:
        if tried >= effort or (tried and tried % 64 == 0 and _late(deadline)):
            break
        r = ix.problem.requests[ri]
        first, n = cand.r_units[ri]
        if ri in out or r.team is not None or n != 1:
            continue
        fund = None
        if r.cost > 0:
            fund = loads.pick_fund(ri)
            if fund is None:
                continue
        done = False
        for p in range(int(ptr[first]), min(int(ptr[first + 1]), int(ptr[first]) + NEAREST)):
            j = int(cand.p_resp[p])
            for qi in sorted(on[j]):
                if ix.r_weight[qi] > ix.r_weight[ri] or tried >= effort:
                    continue
                tried += 1
                old = drop(qi)
                if fund is not None and loads.funds[fund] < r.cost:
                    serve(qi, old)
                    continue
                mine = _fit_on(ix, cand, loads, ri, p, fund)
                if mine is None:
                    serve(qi, old)
                    continue
                serve(ri, mine)
                moved = place(ix, cand, loads, qi, ptr, order, scan)
                if moved is not None:
                    serve(qi, moved)
                    done = True
                elif ix.r_weight[ri] > ix.r_weight[qi]:
                    done = True  # a heavier request in the lighter one's place
                else:
                    drop(ri)
                    serve(qi, old)
                if done:
                    break
            if done:
                break
    refill(queue)  # displaced requests and freed capacity
    for ri in queue:
        if tried >= effort or (tried and _late(deadline)):
            break
        r = ix.problem.requests[ri]
        if ri in out or r.team is not None or cand.r_units[ri][1] != 1:
            continue
        fund = None
        if r.cost > 0:
            fund = loads.pick_fund(ri)
            if fund is None:
                continue
        chain, spent = _chain(ix, cand, loads, out, on, ptr, ri, fund,
                              min(MAX_EXPANSIONS, effort - tried))
        tried += spent
        if chain is None:
            continue
        olds = {x: drop(x) for _, x, _, _ in chain if x != ri}
        placed = []
        for _, x, px, _ in chain:
            c = _fit_on(ix, cand, loads, x, px, fund if x == ri else olds[x].fund)
            if c is None:  # cannot happen (each step was checked alone); undo to be safe
                for y in placed:
                    drop(y)
                for y, old in olds.items():
                    serve(y, old)
                break
            serve(x, c)
            placed.append(x)
    return out


def _chain(ix: Index, cand: Candidates, loads: Loads, out: dict[int, Choice],
           on: list[dict[int, int]], ptr: np.ndarray, ri: int, fund: int | None,
           limit: int) -> tuple[list | None, int]:
    """Breadth-first search for an augmenting chain serving ri: ([(j, x, pair, parent)...]
    from the free end back to ri, or None; responders expanded)."""
    nodes: list[tuple[int, int, int, int]] = []  # (responder, request moving in, pair, parent)
    seen: set[int] = set()
    todo: deque[int] = deque()

    def push(x: int, parent: int) -> None:
        first = int(cand.r_units[x][0])
        for p in range(int(ptr[first]), min(int(ptr[first + 1]),
                                            int(ptr[first]) + CHAIN_NEAREST)):
            j = int(cand.p_resp[p])
            if j not in seen:
                seen.add(j)
                nodes.append((j, x, p, parent))
                todo.append(len(nodes) - 1)

    push(ri, -1)
    spent = 0
    while todo and spent < limit:
        k = todo.popleft()
        j, x, px, _ = nodes[k]
        spent += 1
        x_fund = fund if x == ri else out[x].fund
        if _fit_on(ix, cand, loads, x, px, x_fund) is not None:
            chain = []
            while k != -1:
                chain.append(nodes[k])
                k = nodes[k][3]
            return chain, spent
        for q in sorted(on[j]):
            old = out[q]
            _release(ix, cand, loads, q, old)
            fits = _fit_on(ix, cand, loads, x, px, x_fund) is not None
            commit(ix, cand, loads, q, old)
            if fits:
                push(q, k)
    return None, spent


def _late(deadline: float | None) -> bool:
    return deadline is not None and time.perf_counter() > deadline
