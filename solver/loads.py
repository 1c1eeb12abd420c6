"""What each responder and fund has left, with the time and capacity checks that depend on it.

Shared by the greedy pass, the CP-SAT warm start and `match_one`, so that all three agree on
what "fits" means. Busy intervals are half-open `[start - travel, start + duration + travel)`:
a task may begin exactly when the previous round trip ends.
"""

from __future__ import annotations

import bisect

import numpy as np

from solver.index import Index


class Loads:
    def __init__(self, ix: Index):
        self.ix = ix
        self.tasks = ix.j_tasks_left.copy()
        self.minutes = ix.j_minutes_left.copy()
        self.load = ix.j_load_left.copy()
        # The index's busy lists, shared until a responder's is first written (`_own`):
        # copying 20,000 lists cost 20 ms, which every greedy pass paid.
        self.busy = list(ix.j_busy)
        self.funds = ix.fund_left.copy()
        self.done = ix.j_fixed_tasks.copy()

    def fits_caps(self, j: int, duration: int, travel: int, quantity: int) -> bool:
        return (self.tasks[j] >= 1 and self.minutes[j] >= duration + 2 * travel
                and self.load[j] >= quantity)

    def starts(self, j: int, travel: int, duration: int, window: tuple[int, int]):
        """Feasible start ranges [lo, hi] for responder j, ascending, given its busy time."""
        ix = self.ix
        a, b = window
        out = []
        for k in range(ix.j_shift_start.shape[1]):
            s, e = int(ix.j_shift_start[j, k]), int(ix.j_shift_end[j, k])
            lo, hi = max(a, s + travel), min(b, e - duration - travel)
            if s > e or lo > hi:
                continue
            # a busy (bs, be) forbids starts in [bs - d - t + 1, be + t - 1]
            blocked = sorted((bs - duration - travel + 1, be + travel - 1)
                             for bs, be in self.busy[j])
            cur = lo
            for bl, bh in blocked:
                if bh < cur:
                    continue
                if bl > hi:
                    break
                if bl > cur:
                    out.append((cur, bl - 1))
                cur = max(cur, bh + 1)
                if cur > hi:
                    break
            if cur <= hi:
                out.append((cur, hi))
        out.sort()
        return out

    def free_at(self, j: int, start: int, travel: int, duration: int) -> bool:
        """Whether j can do a task starting at `start` (shift and busy time)."""
        ix = self.ix
        lo, hi = start - travel, start + duration + travel
        in_shift = np.any((ix.j_shift_start[j] <= lo) & (hi <= ix.j_shift_end[j]))
        if not in_shift:
            return False
        busy = self.busy[j]
        i = bisect.bisect_left(busy, (hi, -(10**18)))
        return i == 0 or busy[i - 1][1] <= lo

    def commit(self, j: int, start: int | None, travel: int, duration: int, quantity: int):
        self.tasks[j] -= 1
        self.minutes[j] -= duration + 2 * travel
        self.load[j] -= quantity
        self.done[j] += 1
        if start is not None:
            bisect.insort(self._own(j), (start - travel, start + duration + travel))

    def release(self, j: int, start: int | None, travel: int, duration: int, quantity: int):
        self.tasks[j] += 1
        self.minutes[j] += duration + 2 * travel
        self.load[j] += quantity
        self.done[j] -= 1
        if start is not None:
            interval = (start - travel, start + duration + travel)
            if interval in self.busy[j]:
                self._own(j).remove(interval)

    def _own(self, j: int) -> list[tuple[int, int]]:
        """Responder j's busy list, copied from the index's the first time it is written."""
        if j < len(self.ix.j_busy) and self.busy[j] is self.ix.j_busy[j]:
            self.busy[j] = list(self.busy[j])
        return self.busy[j]

    def pick_fund(self, request_index: int) -> int | None:
        """The eligible fund with most left that still covers the cost (lowest index on ties)."""
        problem = self.ix.problem
        r = problem.requests[request_index]
        best = None
        for k, f in enumerate(problem.funds):
            if f.eligible(r) and self.funds[k] >= r.cost:
                if best is None or self.funds[k] > self.funds[best]:
                    best = k
        return best
