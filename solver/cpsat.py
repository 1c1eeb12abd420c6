"""CP-SAT model for everything the flow cannot do: time windows, teams, funds, minute/load caps.

Order: data (pairs, kept per unit) -> model -> variables -> constraints -> objective -> solve.
Static constraints are already in the candidate pairs; the model adds what couples them.
The internal objective is `S * sum(W_r * served_r) - secondary` in integers, with S larger than
any secondary difference, so it is the README's lexicographic objective; if the numbers would
not fit comfortably, the secondary is coarsened (and the result is then not claimed optimal).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from solver.candidates import Candidates
from solver.greedy import Choice
from solver.index import BIG, Index
from solver.problem import KINDS

VOLUNTEER = KINDS.index("volunteer")
PAIRS_PER_SECOND = 2_500  # pairs kept per second of nominal budget: building takes about a third
MIN_PAIRS = 5_000
BUILD_PAIRS_PER_SECOND = 8_000  # model building speed on a busy 2-core machine
DETERMINISTIC_SHARE = 0.15  # deterministic-time units per nominal second: small enough that a
#                             loaded machine still stops on it, not on the wall clock
MAX_KEEP_PER_MEMBER = 8    # best pairs kept per needed member when restricting
MIN_KEEP_PER_MEMBER = 3    # fewer than this and the model has no room to improve: skipped
LIGHT_PRESOLVE_PAIRS = 5_000
MAX_CUTS = 60           # tangent cuts for convex fairness; beyond this, a product constraint
_FIT = 2**44            # CP-SAT's LP and search suffer far before int64 overflows


@dataclass
class CpResult:
    choices: dict[int, Choice]
    optimal: bool
    served_bound: int | None   # upper bound on P of the open requests, None if unknown
    status: str


def _kept_pairs(cand: Candidates, hint: dict[int, Choice], budget: int
                ) -> tuple[np.ndarray, bool]:
    """All pairs when they fit the budget, else each unit's cheapest few (and the hint's)."""
    n = len(cand.p_unit)
    if n <= budget:
        return np.arange(n), False
    members = int(cand.u_count.sum()) or 1
    per = int(np.clip(budget // members, 1, MAX_KEEP_PER_MEMBER))
    order = np.lexsort((cand.p_metres, cand.p_sec, cand.p_unit))
    u = cand.p_unit[order]
    rank = np.arange(n) - np.searchsorted(u, u, side="left")
    keep = np.zeros(n, dtype=bool)
    keep[order[rank < per * cand.u_count[u]]] = True
    for c in hint.values():
        keep[list(c.pairs)] = True
    return np.flatnonzero(keep), True


def model_fits(cand: Candidates, nominal: float) -> bool:
    """Whether a model worth solving can be built in `nominal` seconds: its pairs (all, or
    at least MIN_KEEP_PER_MEMBER per needed member) within the building rate."""
    budget = max(MIN_PAIRS, int(nominal * PAIRS_PER_SECOND))
    members = int(cand.u_count.sum()) or 1
    n = len(cand.p_unit)
    return (nominal >= min(n, budget) / BUILD_PAIRS_PER_SECOND + 0.5
            and (n <= budget or budget >= MIN_KEEP_PER_MEMBER * members))


def _group(keys: np.ndarray):
    """Yield (key, indices) for equal keys, in key order."""
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    cuts = np.flatnonzero(np.diff(sk)) + 1
    for idx in np.split(order, cuts):
        if len(idx):
            yield int(keys[idx[0]]), idx


def solve_cpsat(ix: Index, cand: Candidates, hint: dict[int, Choice], nominal: float,
                deadline: float, seed: int, *, stop: threading.Event | None = None,
                on_solution: Callable[[float, float], None] | None = None) -> CpResult:
    """Best plan warm-started from `hint`. Model size and search effort follow the nominal
    budget in seconds (so they do not depend on machine load: same seed, same plan); the
    deadline (a time.perf_counter() instant) is a hard stop, and so is `stop` once set (the
    best solution found so far is kept). `on_solution(objective, bound)` hears of each
    improving solution, in the model's internal units."""
    problem = ix.problem
    reqs = problem.requests
    params = problem.params
    # --- data
    budget = max(MIN_PAIRS, int(nominal * PAIRS_PER_SECOND))
    if not model_fits(cand, nominal) or deadline - time.perf_counter() < 0.5:
        # the nominal budget cannot pay for a useful model (a decision by size, so the plan
        # does not depend on the clock; the deadline check is only a safety net)
        return CpResult({}, False, None, "timeout_no_solution")
    kept, restricted = _kept_pairs(cand, hint, budget)
    pu, pr, pj = cand.p_unit[kept], cand.p_req[kept], cand.p_resp[kept]
    pt, psec = cand.p_minutes[kept], cand.p_sec[kept]
    dur = np.array([r.duration for r in reqs], dtype=np.int64)
    qty = np.array([r.quantity for r in reqs], dtype=np.int64)
    open_r = sorted(set(pr.tolist()))
    weights = [ix.r_weight[ri] for ri in open_r]
    fw_milli = 1000 * params.fairness_weight
    n_pairs = len(kept)
    unit_count = cand.u_count
    sec_hi = sec_lo = 0
    for _, idx in _group(pu):
        c = int(unit_count[pu[idx[0]]])
        sec_hi += c * max(0, int(psec[idx].max()))
        sec_lo += c * min(0, int(psec[idx].min()))
    deg = np.bincount(pj, minlength=len(ix.j_lon))
    n_max = ix.j_fixed_tasks + np.minimum(deg, ix.j_tasks_left)
    fair_js = np.flatnonzero((ix.j_kind == VOLUNTEER) & (deg > 0)) if fw_milli > 0 else []
    fair_hi = fw_milli * sum(int(n_max[j]) * (int(n_max[j]) - 1) / 2 for j in fair_js)
    compressed = sum(weights) >= 2**32
    if compressed:
        levels = {w: i + 1 for i, w in enumerate(sorted(set(weights)))}
        weights = [levels[w] for w in weights]
    quantum = 1
    while (sum(weights) + 1) * ((sec_hi - sec_lo + fair_hi) // quantum + 1) >= _FIT:
        quantum *= 10
    sec = np.rint(psec / quantum).astype(np.int64)
    fw_q = int(round(fw_milli / quantum))
    exact = quantum == 1 and not compressed and float(fw_milli).is_integer()
    scale = int((sec_hi - sec_lo + fair_hi) // quantum) + 2
    # --- model and variables
    m = cp_model.CpModel()
    x = [m.new_bool_var("") for _ in range(n_pairs)]
    served = {ri: m.new_bool_var("") for ri in open_r}
    start = {ri: m.new_int_var(reqs[ri].window[0], reqs[ri].window[1], "")
             for ri in open_r if reqs[ri].window is not None}
    # --- constraints: each unit gets its members exactly when the request is served
    for u, idx in _group(pu):
        m.add(cp_model.LinearExpr.sum([x[i] for i in idx])
              == int(unit_count[u]) * served[int(cand.u_req[u])])
    with_pairs = set(pu.tolist())
    for ri in open_r:
        first, n = cand.r_units[ri]
        if any(u not in with_pairs for u in range(first, first + n)):
            m.add(served[ri] == 0)  # a team slot nobody can fill
    # one responder fills at most one slot of a team
    team_pairs = np.flatnonzero(cand.u_slot[pu] >= 0)
    if len(team_pairs):
        keys = pr[team_pairs] * len(ix.j_lon) + pj[team_pairs]
        for _, idx in _group(keys):
            if len(idx) > 1:
                m.add_at_most_one(x[int(team_pairs[i])] for i in idx)
    # time: the start in the window and the round trip inside one shift, without overlap
    intervals: dict[int, list] = {}
    shifts = []
    for i in range(n_pairs):
        ri = int(pr[i])
        if ri not in start:
            continue
        j, t, d = int(pj[i]), int(pt[i]), int(dur[ri])
        a, b = reqs[ri].window
        fits = []
        for k in range(ix.j_shift_start.shape[1]):
            s_k, e_k = int(ix.j_shift_start[j, k]), int(ix.j_shift_end[j, k])
            lo, hi = max(a, s_k + t), min(b, e_k - d - t)
            if s_k <= e_k and lo <= hi:
                fits.append((lo, hi))
        if len(fits) == 1:
            lo, hi = fits[0]
            if lo > a:
                m.add(start[ri] >= lo).only_enforce_if(x[i])
            if hi < b:
                m.add(start[ri] <= hi).only_enforce_if(x[i])
        else:
            zs = [m.new_bool_var("") for _ in fits]
            m.add(cp_model.LinearExpr.sum(zs) == x[i])
            for z, (lo, hi) in zip(zs, fits, strict=True):
                m.add(start[ri] >= lo).only_enforce_if(z)
                m.add(start[ri] <= hi).only_enforce_if(z)
            shifts.append((i, zs, fits))
        intervals.setdefault(j, []).append(m.new_optional_interval_var(
            start[ri] - t, d + 2 * t, start[ri] + d + t, x[i], ""))
    for j, ivs in intervals.items():
        busy = [m.new_fixed_size_interval_var(bs, be - bs, "") for bs, be in ix.j_busy[j]]
        if len(ivs) + len(busy) > 1:
            m.add_no_overlap(ivs + busy)
    # capacity: tasks, minutes (service + travel), load, counting fixed work
    for j, idx in _group(pj):
        xs = [x[i] for i in idx]
        if ix.j_tasks_left[j] < len(idx):
            m.add(cp_model.LinearExpr.sum(xs) <= int(ix.j_tasks_left[j]))
        use = dur[pr[idx]] + 2 * pt[idx]
        if ix.j_minutes_left[j] < BIG and use.sum() > ix.j_minutes_left[j]:
            m.add(cp_model.LinearExpr.weighted_sum(xs, use.tolist())
                  <= int(ix.j_minutes_left[j]))
        load = qty[pr[idx]]
        if ix.j_load_left[j] < BIG and load.sum() > ix.j_load_left[j]:
            m.add(cp_model.LinearExpr.weighted_sum(xs, load.tolist()) <= int(ix.j_load_left[j]))
    # funds: a paid request is charged to exactly one eligible fund, within balance
    fund_vars: dict[int, list] = {}
    charged: dict[int, list] = {}
    for ri in open_r:
        r = reqs[ri]
        if r.cost <= 0:
            continue
        ks = [k for k, f in enumerate(problem.funds) if f.eligible(r) and ix.fund_left[k] >= r.cost]
        fv = [(k, m.new_bool_var("")) for k in ks]
        m.add(cp_model.LinearExpr.sum([v for _, v in fv]) == served[ri])
        fund_vars[ri] = fv
        for k, v in fv:
            charged.setdefault(k, []).append((r.cost, v))
    for k, items in charged.items():
        if sum(c for c, _ in items) > ix.fund_left[k]:
            m.add(cp_model.LinearExpr.weighted_sum([v for _, v in items], [c for c, _ in items])
                  <= int(ix.fund_left[k]))
    # fairness: pen_j >= f(n_j) = n_j (n_j - 1) / 2, exact at integers through tangent cuts
    pens = []
    if fw_q > 0:
        by_j = dict(_group(pj))
        for j in fair_js:
            idx = by_j[int(j)]
            nm = int(n_max[j])
            n_expr = cp_model.LinearExpr.sum([x[i] for i in idx]) + int(ix.j_fixed_tasks[j])
            pen = m.new_int_var(0, nm * (nm - 1) // 2, "")
            if nm <= MAX_CUTS:
                for k in range(nm):
                    m.add(pen >= k * n_expr - k * (k + 1) // 2)
            else:
                n_var = m.new_int_var(0, nm, "")
                sq = m.new_int_var(0, nm * nm, "")
                m.add(n_var == n_expr)
                m.add_multiplication_equality(sq, [n_var, n_var])
                m.add(2 * pen >= sq - n_var)
            pens.append((int(j), idx, pen))
    # --- objective
    terms = [served[ri] for ri in open_r] + x + [p for _, _, p in pens]
    coefs = ([scale * w for w in weights] + (-sec).tolist() + [-fw_q] * len(pens))
    objective = m.proto.objective  # set in bulk: the expression API is slow at 1e5 terms
    objective.vars.extend([v.index for v in terms])
    objective.coeffs.extend([-c for c in coefs])
    objective.scaling_factor = -1  # CP-SAT minimises; -1 makes it report the maximum
    _add_hint(m, ix, hint, kept, x, served, start, fund_vars, shifts, pens, pt, pr)
    # --- solve
    left = deadline - time.perf_counter()
    if left < 0.2:
        return CpResult({}, False, None, "timeout_no_solution")
    solver = cp_model.CpSolver()
    # one worker stopped by deterministic time: the same seed gives the same plan; the
    # wall-clock limit is only a safety net (an overloaded machine may hit it first)
    solver.parameters.max_time_in_seconds = left
    solver.parameters.max_deterministic_time = max(0.05, DETERMINISTIC_SHARE * nominal)
    solver.parameters.random_seed = seed
    solver.parameters.num_workers = 1
    if n_pairs > LIGHT_PRESOLVE_PAIRS:
        # a full presolve of a big model can eat the whole budget before the hint is tried
        solver.parameters.max_presolve_iterations = 1
        solver.parameters.symmetry_level = 0
    status = _solve_stoppable(solver, m, stop, on_solution)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return CpResult({}, False, None, "timeout_no_solution")
    choices = {}
    chosen = [i for i in range(n_pairs) if solver.boolean_value(x[i])]
    by_req: dict[int, list[int]] = {}
    for i in chosen:
        by_req.setdefault(int(pr[i]), []).append(int(kept[i]))
    for ri, ps in by_req.items():
        fund = next((k for k, v in fund_vars.get(ri, ()) if solver.boolean_value(v)), None)
        choices[ri] = Choice(tuple(ps), int(solver.value(start[ri])) if ri in start else None,
                             fund)
    bound = None
    if not restricted and not compressed:
        slack = (sec_hi + fair_hi) // quantum + (n_pairs if quantum > 1 else 0)
        bound = int((int(np.floor(solver.best_objective_bound)) + int(slack)) // scale)
    optimal = status == cp_model.OPTIMAL and exact and not restricted
    return CpResult(choices, optimal, bound, "feasible")


class _Watch(cp_model.CpSolverSolutionCallback):
    """Reports each improving solution and stops the search once `stop` is set."""

    def __init__(self, stop: threading.Event | None,
                 on_solution: Callable[[float, float], None] | None) -> None:
        super().__init__()
        self._stop = stop
        self._on_solution = on_solution

    def on_solution_callback(self) -> None:
        if self._on_solution is not None:
            self._on_solution(self.objective_value, self.best_objective_bound)
        if self._stop is not None and self._stop.is_set():
            self.stop_search()


def _solve_stoppable(solver, m, stop, on_solution):
    """solver.solve(m), stopped early when `stop` is set. A solution callback alone would
    only notice at the next improving solution, which may never come, so a watcher thread
    also stops the search as soon as the event is set."""
    if stop is None and on_solution is None:
        return solver.solve(m)
    watch = _Watch(stop, on_solution)
    done = threading.Event()

    def watcher() -> None:
        # Asked again every tick: a stop before the search has begun would otherwise be lost.
        while not done.wait(0.05):
            if stop.is_set():
                solver.stop_search()

    thread = threading.Thread(target=watcher, daemon=True) if stop is not None else None
    if thread is not None:
        thread.start()
    try:
        return solver.solve(m, watch)
    finally:
        done.set()
        if thread is not None:
            thread.join()


def _add_hint(m, ix, hint, kept, x, served, start, fund_vars, shifts, pens, pt, pr):
    """Warm start from the greedy (or flow) plan: every decision variable gets a value."""
    pos = {int(p): i for i, p in enumerate(kept)}
    on = {pos[p] for c in hint.values() for p in c.pairs if p in pos}
    names, values = [], []

    def put(var, value):
        names.append(var.index)
        values.append(int(value))

    for i, v in enumerate(x):
        put(v, i in on)
    for ri, v in served.items():
        put(v, ri in hint)
    for ri, v in start.items():
        if ri in hint and hint[ri].start is not None:
            put(v, hint[ri].start)
        else:  # a complete hint lets CP-SAT start from it without search
            put(v, ix.problem.requests[ri].window[0])
    for ri, fv in fund_vars.items():
        for k, v in fv:
            put(v, ri in hint and hint[ri].fund == k)
    for i, zs, fits in shifts:
        ri = int(pr[i])
        s = hint[ri].start if i in on and ri in hint else None
        picked = next((z for z, (lo, hi) in zip(zs, fits, strict=True)
                       if s is not None and lo <= s <= hi), None)
        for z in zs:
            put(z, z is picked)
    for j, idx, pen in pens:
        n = int(ix.j_fixed_tasks[j]) + sum(1 for i in idx if int(i) in on)
        put(pen, n * (n - 1) // 2)
    m.proto.solution_hint.vars.extend(names)
    m.proto.solution_hint.values.extend(values)
