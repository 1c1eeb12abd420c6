"""The count variant on a few pairs per request, proven optimal for every pair.

The flow is solved on a restricted set of pairs (each request's nearest responders of its
class, and each responder's nearest requests), then certified for the full problem from node
potentials: the shortest-path distances d (<= 0) of the residual graph at the restricted
optimum. With prices q(u) = -d(u) per request and p(j) = -d(j) per responder, a left-out pair
(u, j) could only improve the plan if its reduced cost `cost(u, j) - q(u) + p(j)` were
negative. Pricing finds every such pair without forming all pairs: since `cost(u, j) >= tw *
metres - bonus(u)`, only responders within `(q(u) + bonus(u) - p(j)) / tw` metres of u (and
within reach) can be at fault, and those are fetched by ball queries in KD-trees of
responders grouped by price. The pairs at fault join the restricted set (the most negative
few per request) and the flow is solved again, until none is left: the plan is then optimal
for all pairs (column generation). Responders the restricted flow never saw get the highest
price their sink arcs allow, `q(sink) + cost of their first task`.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from scipy.spatial import cKDTree

from solver import geo
from solver.augment import augment
from solver.bound import heaviest
from solver.candidates import (
    Candidates,
    _classes,
    _limits,
    _near_pairs,
    build_candidates,
    expected_pairs,
    feasible_pairs,
    join_candidates,
    pair_secondary,
    pairs_in_reach,
    static_ok,
)
from solver.flow import (
    VOLUNTEER,
    FlowResult,
    reoptimise,
    solve_flow,
    solve_proven,
)
from solver.greedy import pairs_by_chunk, sec_order, solve_greedy, weight_chunks
from solver.index import BIG, Index, distinct, per_problem

FIRST_K = 16         # nearest responders of its class per request in the first round
PER_TASK = 4.0       # nearest requests per task slot for each responder, per class
ADD_PER_REQUEST = 20  # pairs at fault joining the restricted set per request and round
REACH_BANDS_M = np.array([2000, 3500, 6000])  # responders' radii, one pricing tree per band
BALL_CHUNK = 2000     # requests per ball query
PRICE_WIDTH_M = 2000.0  # spread of prices (in metres of travel) in one pricing tree
TURNED_PRICES = 64  # at most this many distinct prices of left-out requests priced as groups
REPAIR_MAX = 20000  # new pairs worked into the last flow in place rather than solved afresh
# a narrowed pass prices every pair in reach (no balls) of at most this many requests, or
# of every request with at most this many responders
DIRECT_REQUESTS = 500
DIRECT_RESPONDERS = 50
# quiet-machine costs, to size the rounds from a budget (fitted on bench/instances.py cities)
KNN_S_PER_UNIT = 2.0e-5  # the first pairs: ball queries, the static rules
FLOW_S = 3.0e-8  # a cold flow, per pair and per square root of the units: paths lengthen
PRICE_S = 3.0e-7  # a pricing pass, per units ** 1.5: price groups multiply with the city
GREEDY_S_PER_PAIR = 7.0e-7  # sorting pairs and the greedy pass over them
GREEDY_CHUNK = 2500  # greedy fallback: requests per chunk, heaviest first
# a refill (a chunk's left-out requests get every responder with room in reach), quiet machine:
REFILL_S_PER_PAIR = 1.6e-7  # per pair expected in reach of a responder with room, placed too
REFILL_TREES_S = 2.0e-6  # per responder with room (their KD-trees)
REACH_COUNT_S = 6.0e-6  # counting the pairs in reach (candidates.pairs_in_reach), per responder
PACE_MIN_QUIET_S = 0.5  # Budget: quiet seconds charged before their pace is trusted
_COST_LIMIT = 2**62


def _bonus_milli(ix: Index) -> np.ndarray:
    """Per request, the most any pair's bonuses can take off its travel cost (milli-points),
    built once per problem: every pricing pass reads it."""
    p = ix.problem.params
    return per_problem(ix, "bonus", lambda: np.array(
        [1000 * (p.continuity_bonus * (r.previous_responder is not None)
                 + p.same_community_bonus * (r.community_id is not None))
         for r in ix.problem.requests], dtype=np.float64))


def full_costing(ix: Index) -> tuple[int, int, bool]:
    """flow_costing's (g, scale, exact) valid for every pair of the problem, from bounds
    alone: g divides any pair's or task's cost, and scale exceeds the largest difference in
    secondary cost between two flows over all pairs, so a restricted flow priced with it is
    ordered exactly as the full one."""
    p = ix.problem.params
    fw = int(round(1000 * p.fairness_weight))
    parts = [fw, 1000 * p.continuity_bonus, 1000 * p.same_community_bonus,
             p.travel_weight_per_km]
    g = 1
    if all(float(x).is_integer() for x in parts):
        g = max(1, int(np.gcd.reduce(np.array([int(x) for x in parts], dtype=np.int64))))
    open_ = np.flatnonzero(~ix.r_fixed)
    n_units = len(open_)
    reach = float(ix.j_radius.max(initial=0))
    limit = np.array([r.max_distance_m if r.max_distance_m is not None else geo.BIG_M
                      for r in ix.problem.requests], dtype=np.float64)[open_]
    far = np.rint(p.travel_weight_per_km * np.minimum(limit, reach)).astype(np.int64)
    bonus = np.ceil(_bonus_milli(ix)[open_]).astype(np.int64) + 1  # rint's half, rounded up
    sec_range = int((far // g).sum() + (-(-bonus // g)).sum())
    # a volunteer's fairness over at most its tasks left (and at most every request)
    vol = (ix.j_kind == VOLUNTEER) & (fw > 0)
    cap = np.minimum(ix.j_tasks_left[vol], n_units).astype(object)
    fixed = ix.j_fixed_tasks[vol].astype(object)
    fair = int(sum(fw * (c * f + c * (c - 1) // 2) for c, f in zip(cap, fixed, strict=True)))
    scale = sec_range + fair // g + 1
    levels = len({ix.r_weight[int(r)] for r in open_})
    nodes = 2 + n_units + len(ix.j_lon)
    top = levels * scale + int(far.max(initial=0)) // g + int(bonus.max(initial=0)) // g
    return g, scale, top * (nodes + 1) < _COST_LIMIT


def prices(ix: Index, cand: Candidates, res: FlowResult, d: np.ndarray, g: int):
    """(q per request, p per responder) from the potentials; responders absent from the
    graph get the most their sink arcs allow."""
    n_units = len(cand.u_req)
    q = np.zeros(len(ix.problem.requests), dtype=np.int64)
    q[cand.u_req] = -d[2 + np.arange(n_units)]
    fw = int(round(1000 * ix.problem.params.fairness_weight))
    first = np.where((ix.j_kind == VOLUNTEER) & (fw > 0), fw * ix.j_fixed_tasks, 0) // g
    p = -int(d[1]) + first
    js = distinct(cand.p_resp)
    p[js] = -d[2 + n_units + np.arange(len(js))]
    return q, p


def _chord(metres: np.ndarray) -> np.ndarray:
    arc = np.minimum(metres + 1.0, np.pi * geo.EARTH_RADIUS_M)
    return 2 * geo.EARTH_RADIUS_M * np.sin(arc / (2 * geo.EARTH_RADIUS_M)) + 1e-3


def _in_sorted(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[pos] == keys


def _price_groups(level: np.ndarray, width: float) -> list[np.ndarray]:
    """Responders split, in order of `level`, wherever the level rises past the first of the
    group by more than `width`."""
    order = np.argsort(level, kind="stable")
    lv = level[order]
    cuts, base = [], lv[0] if len(lv) else 0.0
    for i in np.flatnonzero(np.diff(lv) > 0) + 1:  # only where the level changes
        if lv[i] - base > width:
            cuts.append(i)
            base = lv[i]
    return np.split(order, cuts)


def _l1_frame(points: np.ndarray, toward: np.ndarray) -> np.ndarray:
    """Sphere points turned so that `toward` (the city's mean direction) becomes (1, 1, 1) /
    sqrt(3), and scaled by 1 / sqrt(3). There the L1 distance of two points never exceeds
    their chord (|dx| + |dy| + |dz| <= sqrt(3) * chord), so an L1 ball of radius R holds
    every pair with chord + price excess <= R; and since the city's tangent plane is then
    equally inclined to the three axes, the ball's sections are hexagons barely larger than
    the discs they must hold, where a Euclidean ball around the price dimension holds about
    twice the cone of candidates."""
    size = float(np.linalg.norm(toward))
    a = toward / size if size > 0 else np.array([1.0, 0.0, 0.0])  # any turn is sound
    b = np.full(3, 1 / np.sqrt(3))
    v, c = np.cross(a, b), float(a @ b)
    k = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
    turn = np.eye(3) + k + k @ k / (1 + c) if c > -1 + 1e-9 else -np.eye(3)
    return points @ turn.T / np.sqrt(3)


def _ball_pairs(ix: Index, group: np.ndarray, level: np.ndarray, reqs: np.ndarray,
                r_points: tuple[np.ndarray, np.ndarray], big_q: np.ndarray,
                unexplored: np.ndarray, limit: np.ndarray,
                j_points: tuple[np.ndarray, np.ndarray]):
    """(request, responder, metres) within reach for every pair of `reqs` x `group` that
    can be at fault (see at_fault), or None. Points come as (sphere, `_l1_frame`): a ball
    that takes in the whole reach is Euclidean (its radius capped by the reach), the others
    are L1 (tighter)."""
    if len(group) == 0 or len(reqs) == 0:
        return None
    lo = float(level[group].min())
    w = level[group] - lo
    reach = float(ix.j_radius[group].max())
    room = big_q - lo
    sel = np.flatnonzero((room > 0) & (room + 1.0 >= unexplored[reqs]))
    if len(sel) == 0:
        return None
    cap = np.hypot(_chord(np.minimum(limit[reqs[sel]], reach)), float(w.max()))
    rad = np.minimum(room[sel] + 1.0, cap)
    whole = rad >= cap
    out: list[tuple[np.ndarray, ...]] = []
    for frame, (mask, norm) in enumerate(((whole, 2), (~whole, 1))):
        sub, r = sel[mask], rad[mask]
        if len(sub) == 0:
            continue
        tree = cKDTree(np.column_stack([j_points[frame][group], w]))
        x = np.column_stack([r_points[frame][sub], np.zeros(len(sub))])
        for lo_i in range(0, len(sub), BALL_CHUNK):  # the hits are Python lists: keep few
            part = slice(lo_i, lo_i + BALL_CHUNK)
            counts, at = _flat(tree.query_ball_point(x[part], r[part], p=norm,
                                                     return_sorted=False))
            out.append(_in_reach(ix, np.repeat(reqs[sub[part]], counts), group[at], limit))
    return tuple(np.concatenate(a) for a in zip(*out, strict=True))


def _flat(hits: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """A ball query's hits as (how many per query point, all of them in order)."""
    counts = np.fromiter(map(len, hits), dtype=np.int64, count=len(hits))
    return counts, np.fromiter(itertools.chain.from_iterable(hits), dtype=np.int64,
                               count=int(counts.sum()))


def _in_reach(ix: Index, pr: np.ndarray, pj: np.ndarray,
              limit: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(request, responder, metres) of the pairs within the responder's radius and the
    request's own limit."""
    metres = geo.pair_distance_m(ix.j_trig, pj, ix.r_trig, pr)
    keep = (metres <= ix.j_radius[pj]) & (metres <= limit[pr])
    return pr[keep], pj[keep], metres[keep]


def at_fault(ix: Index, cand: Candidates, q: np.ndarray, p: np.ndarray, g: int,
             per_request: int = ADD_PER_REQUEST, *, only: np.ndarray | None = None,
             responders: np.ndarray | None = None, capped: np.ndarray | None = None,
             unserved: np.ndarray | None = None) -> tuple[Candidates | None, int]:
    """(new pairs with negative reduced cost, the most negative `per_request` per request,
    or None; how many requests have one).

    A pair (u, j) can be at fault only if `tw * metres < Q(u) - P(j)` with Q(u) = (q(u) *
    g + bonus(u)) / tw and P(j) = p(j) * g / tw (both in metres, rounded generously). Within
    a group of responders whose P lies in [lo, lo + width], each responder is a point in four
    dimensions (its place, and P(j) - lo) and a ball of radius Q(u) - lo around (u's place,
    0) holds every such pair (the 4-D distance never exceeds metres + P(j) - lo): an L1 ball
    in `_l1_frame`, or, where it would take in the whole reach anyway, a Euclidean one.

    A pass after a repair need not look everywhere (see `_moved`): `only` (a mask of
    requests) limits the search against every responder to those requests; the others are
    priced against the `responders` alone, with the same balls. When those requests, or
    those responders, are few (`DIRECT_REQUESTS`, `DIRECT_RESPONDERS`), every pair of theirs
    in reach is priced instead of balls. `capped`, if given, is set where a request had more
    pairs at fault than were kept.

    `unserved` (a mask of the requests the flow leaves out) turns the search around for
    them: their balls would hold nearly everyone in reach, since their price is their whole
    weight, yet they are out because the responders around them cost more still. Those
    that share a price Q are priced together: only responders whose own price is below Q
    can be at fault, each within (Q - P(j)) of travel, and they are few. (Left-out requests
    normally share one price per weight; with more than `TURNED_PRICES` distinct prices
    they get balls like the others.)"""
    prm = ix.problem.params
    nj = len(ix.j_lon)
    n_req = len(ix.problem.requests)
    unexplored = cand.r_unexplored
    open_ = (unexplored < geo.BIG_M) & ~ix.r_fixed
    every = open_ if only is None else open_ & only  # requests priced against everyone
    tw = float(prm.travel_weight_per_km)
    per_m = tw if tw > 0 else 1.0  # with no travel cost only the reach bounds the search
    turned = every & unserved if unserved is not None and tw > 0 else np.zeros(n_req, bool)
    if len(np.unique(q[turned])) > TURNED_PRICES:
        turned[:] = False
    bonus = _bonus_milli(ix)
    have = np.sort(cand.p_req * nj + cand.p_resp)
    travel = np.sort(np.array([ix.req_pos[t.request] * nj + ix.resp_pos[t.responder]
                               for t in ix.problem.travel or ()], dtype=np.int64))
    limit = _limits(ix).astype(np.float64)
    level = p.astype(np.float64) * g / per_m if tw > 0 else np.zeros(nj)
    j_sphere = geo.to_sphere(ix.j_lon, ix.j_lat)
    toward = j_sphere.sum(axis=0) if nj else np.ones(3)
    j_points = (j_sphere, _l1_frame(j_sphere, toward))
    reach_band = np.searchsorted(REACH_BANDS_M, ix.j_radius)
    found: list[tuple[np.ndarray, ...]] = []

    def price(pr: np.ndarray, pj: np.ndarray, metres: np.ndarray) -> None:
        """The exact reduced cost first, then the remaining static rules on the few."""
        rc = pair_secondary(ix, pr, pj, metres) // g - q[pr] + p[pj]
        keep = np.flatnonzero(rc < 0)
        pr, pj, metres, rc = pr[keep], pj[keep], metres[keep], rc[keep]
        key = pr * nj + pj
        keep = ~_in_sorted(have, key) & ~_in_sorted(travel, key)
        pr, pj, metres, rc = pr[keep], pj[keep], metres[keep], rc[keep]
        keep = static_ok(ix, pr, pj, geo.travel_minutes(metres, ix.j_speed[pj]))
        found.append((pr[keep], pj[keep], metres[keep], rc[keep]))

    def reduce() -> None:
        """Memory stays at the kept pairs: the lowest few per request so far."""
        if found:
            found[:] = [_lowest(found, per_request, capped)]

    def cast(reqs: np.ndarray, allowed: np.ndarray | None) -> None:
        """The balls of `reqs` among the responders (those `allowed`, if given). In a
        narrowed pass, a few requests or a few responders allowed get every pair in reach
        instead: pricing those pairs costs less than a KD-tree per class, band and price
        group."""
        if len(reqs) == 0 or nj == 0:
            return
        if only is not None and (len(reqs) <= DIRECT_REQUESTS if allowed is None
                                 else int(allowed.sum()) <= DIRECT_RESPONDERS):
            price(*_of_class(ix, reqs, *_near_pairs(ix, reqs, allowed)))
            reduce()
            return
        big_q = ((q[reqs] + 1).astype(np.float64) * g + bonus[reqs]) / per_m
        if tw <= 0:  # any price below q(u) + bonus(u) may be at fault, anywhere in reach
            big_q = np.where(q[reqs].astype(np.float64) * g + g + bonus[reqs]
                             > p.min() * g, np.inf, -np.inf)
        r_sphere = geo.to_sphere(ix.r_lon[reqs], ix.r_lat[reqs])
        r_l1 = _l1_frame(r_sphere, toward)
        cls, masks = _classes(ix, reqs)
        for c, mask in enumerate(masks):
            if allowed is not None:
                mask = mask & allowed
            in_c = np.flatnonzero(cls == c)
            for band in np.unique(reach_band[mask]):
                js = np.flatnonzero(mask & (reach_band == band))
                for group in _price_groups(level[js], PRICE_WIDTH_M):
                    hit = _ball_pairs(ix, js[group], level, reqs[in_c],
                                      (r_sphere[in_c], r_l1[in_c]), big_q[in_c],
                                      unexplored, limit, j_points)
                    if hit is not None:
                        price(*hit)
            reduce()

    # requests left out, sharing a price: only responders priced below it, and near
    left_out = np.flatnonzero(turned)
    for value in np.unique(q[left_out]):
        group = left_out[q[left_out] == value]
        reach_m = ((int(value) + 1) * g + bonus[group].max()) / per_m - level
        js = np.flatnonzero(reach_m > 0)
        _responder_pairs(ix, js, group, limit, price, within=reach_m[js] + 1.0)
        reduce()
    cast(np.flatnonzero(every & ~turned), None)
    if responders is not None and len(responders) and only is not None:
        allowed = np.zeros(nj, dtype=bool)
        allowed[responders] = True
        cast(np.flatnonzero(open_ & ~only), allowed)
    if not found or len(found[0][0]) == 0:
        return None, 0
    pr, pj, metres, rc = found[0]
    new = feasible_pairs(ix, pr, pj, metres, geo.travel_minutes(metres, ix.j_speed[pj]))
    if len(new.p_unit) == 0:  # none passed the slot rules: no pair is at fault
        return None, 0
    return new, len(distinct(new.p_req))


def _of_class(ix: Index, reqs: np.ndarray, pr: np.ndarray, pj: np.ndarray,
              metres: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs (of requests in `reqs`) whose responder is in the request's class."""
    cls, masks = _classes(ix, reqs)
    of = np.zeros(len(ix.problem.requests), dtype=np.int64)
    of[reqs] = cls
    keep = np.array(masks)[of[pr], pj]
    return pr[keep], pj[keep], metres[keep]


def _responder_pairs(ix: Index, responders: np.ndarray, reqs: np.ndarray,
                     limit: np.ndarray, price: Callable[..., None], within: np.ndarray) -> None:
    """Every pair of `responders` x `reqs` within reach and within `within` metres (one per
    responder), of a class the responder may serve, handed to `price` in batches."""
    if len(reqs) == 0 or len(responders) == 0:
        return
    radius = np.minimum(ix.j_radius[responders], within)
    order = np.argsort(radius, kind="stable")  # batches of like radii
    js, radius = responders[order], radius[order]
    cls, masks = _classes(ix, reqs)
    can = np.array(masks)  # classes x responders
    tree = cKDTree(geo.to_sphere(ix.r_lon[reqs], ix.r_lat[reqs]))
    for lo_i in range(0, len(js), BALL_CHUNK // 20):
        batch = slice(lo_i, lo_i + BALL_CHUNK // 20)
        part = js[batch]
        counts, at = _flat(tree.query_ball_point(
            geo.to_sphere(ix.j_lon[part], ix.j_lat[part]), _chord(radius[batch]),
            return_sorted=False))
        pj = np.repeat(part, counts)
        keep = can[cls[at], pj]
        price(*_in_reach(ix, reqs[at[keep]], pj[keep], limit))


def _moved(q0: np.ndarray, p0: np.ndarray, q: np.ndarray, p: np.ndarray,
           units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(requests whose price rose by more than m, responders whose price fell by more
    than m) between two pricing passes, m the most common change. A pair left out with a
    reduced cost `cost - q(u) + p(j)` that was not negative can only have become negative
    if q(u) rose more than p(j) did: one of the two is in these sets, whatever m is."""
    dq, dp = q - q0, p - p0
    values, counts = np.unique(np.concatenate([dq[units], dp]), return_counts=True)
    m = values[np.argmax(counts)]
    rose = np.zeros(len(q), dtype=bool)
    rose[units] = dq[units] > m
    return rose, np.flatnonzero(dp < m)


def _lowest(found: list[tuple[np.ndarray, ...]], per_request: int,
            capped: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """(request, responder, metres, reduced cost) joined, the `per_request` lowest reduced
    costs of each request kept; `capped` (if given) set for requests that had more."""
    pr, pj, metres, rc = (np.concatenate(a) for a in zip(*found, strict=True))
    lo, hi = (int(rc.min()), int(rc.max())) if len(rc) else (0, 0)
    if hi - lo < 2**40 and int(pr.max(initial=0)) < 2**22:  # one key sorts faster
        order = np.argsort((pr << 40) + (rc - lo), kind="stable")
    else:
        order = np.lexsort((pj, rc, pr))
    pr, pj, metres, rc = pr[order], pj[order], metres[order], rc[order]
    rank = np.arange(len(pr)) - np.searchsorted(pr, pr, side="left")
    keep = rank < per_request
    if capped is not None:
        capped[pr[~keep]] = True
    return pr[keep], pj[keep], metres[keep], rc[keep]


def _explainable(ix: Index, cand: Candidates, res: FlowResult) -> Candidates:
    """The candidates with every pair of the unserved requests that have none yet but were
    not fully explored, so their reasons (outranked, not out of range) come out right. The
    new pairs go at the end: the flow's pair indices stay valid."""
    has = np.zeros(len(ix.problem.requests), dtype=bool)
    has[cand.p_req] = True
    served = np.zeros(len(ix.problem.requests), dtype=bool)
    served[cand.u_req[res.chosen >= 0]] = True
    todo = np.flatnonzero(~has & ~served & ~ix.r_fixed & (cand.r_unexplored < geo.BIG_M))
    if len(todo) == 0:
        return cand
    return join_candidates(cand, build_candidates(ix, only=todo))


class Budget:
    """What a count solve may still spend, in quiet-machine seconds (each step's estimate
    charged `allowance` times over, as engine.solve_part does), plus the safety nets: a
    wall-clock `deadline` and a `stop` event. Steps are chosen from the estimates, never
    from the clock, so the same input gives the same plan on any machine up to
    `allowance` times slower than a quiet one.

    With `end` (the wall-clock time the whole solve must be done by) and `after_s` (the
    quiet-machine seconds of the work that follows the steps: the plan's assembly), the
    deadline also moves earlier on a machine so slow that this work would not end in time:
    the steps' pace so far (wall seconds per quiet second charged) is assumed to hold for
    it. On a machine less slow than that, the fixed `deadline` alone applies."""

    def __init__(self, seconds: float, allowance: float, deadline: float | None = None,
                 stop: threading.Event | None = None, *, end: float | None = None,
                 after_s: float = 0.0) -> None:
        self.left = seconds
        self.allowance = allowance
        self.fixed_deadline = deadline
        self.stop = stop
        self.end = end
        self.after_s = after_s
        self.quiet = 0.0  # quiet-machine seconds charged so far
        self.started = time.perf_counter()

    def pace(self) -> float | None:
        """Wall seconds per quiet second charged so far; None until enough is charged."""
        if self.end is None or self.quiet < PACE_MIN_QUIET_S:
            return None
        return (time.perf_counter() - self.started) / self.quiet

    @property
    def deadline(self) -> float | None:
        pace = self.pace()
        if pace is None:
            return self.fixed_deadline
        paced = self.end - pace * self.after_s
        return paced if self.fixed_deadline is None else min(self.fixed_deadline, paced)

    def charge(self, quiet_s: float) -> None:
        """A step that is taken whatever the budget."""
        self.left -= self.allowance * quiet_s
        self.quiet += quiet_s

    def halted(self) -> bool:
        deadline = self.deadline
        return (self.stop is not None and self.stop.is_set()) or (
            deadline is not None and time.perf_counter() > deadline)

    def spend(self, quiet_s: float) -> bool:
        """Whether a step estimated at `quiet_s` fits; charged when it does. With a pace
        known, a step that would not end by the deadline at that pace does not fit either
        (a step is not cut short: it would overrun)."""
        need = self.allowance * quiet_s
        if need > self.left or self.halted():
            return False
        pace = self.pace()  # when known, `end` is set and so is the deadline
        if pace is not None and time.perf_counter() + pace * quiet_s > self.deadline:
            return False
        self.left -= need
        self.quiet += quiet_s
        return True


def first_pairs_s(n_units: int) -> float:
    return KNN_S_PER_UNIT * n_units


def round_s(n_pairs: int, n_units: int) -> float:
    """One cold flow on `n_pairs` and the pricing pass after it, on a quiet machine."""
    return FLOW_S * n_pairs * np.sqrt(max(n_units, 1)) + PRICE_S * max(n_units, 1) ** 1.5


def served_ceiling(ix: Index, cand: Candidates) -> int:
    """An upper bound on the served weight P over all pairs, without them: every request
    that has a candidate or was not fully explored, the heaviest first, up to the task
    slots of every responder."""
    reachable = np.zeros(len(ix.problem.requests), dtype=bool)
    reachable[cand.p_req] = True
    if cand.r_unexplored is not None:
        reachable |= cand.r_unexplored < geo.BIG_M
    reachable &= ~ix.r_fixed
    slots = int(np.minimum(ix.j_tasks_left, len(cand.u_req)).sum())
    return heaviest(ix, np.flatnonzero(reachable).tolist(), slots)


def _greedy(ix: Index, cand: Candidates, budget: Budget) -> tuple[Candidates, FlowResult]:
    """The greedy plan on the pairs `cand`, in chunks of `GREEDY_CHUNK` requests of one
    urgency tier, heaviest first: a greedy pass on the chunk's pairs, then, if the budget
    allows, a refill: the chunk's requests still out that had responders beyond their
    nearest get every responder with room in their reach, and a greedy pass on those. A
    chunk is done before the next starts, so a lighter request never takes the responder a
    heavier one's refill would have found (the all-pairs greedy's order, widening only
    where the nearest are full). A last sweep refills every request still out (those whose
    chunk's refill the budget refused), and augmenting paths on all these pairs serve more.
    Returned as (the pairs used, a not optimal flow result on them)."""
    budget.charge(GREEDY_S_PER_PAIR * len(cand.p_unit))
    n_req, nj = len(ix.problem.requests), len(ix.j_lon)
    chosen = np.full(len(cand.u_req), -1, dtype=np.int64)
    used = np.zeros(nj, dtype=np.int64)
    served = np.zeros(n_req, dtype=bool)

    def room() -> Index:
        return replace(ix, j_tasks_left=ix.j_tasks_left - used,
                       j_fixed_tasks=ix.j_fixed_tasks + used)

    def place(pairs: Candidates, offset: int) -> int:
        """A greedy pass on `pairs` (their p_id, plus `offset`, index the joined candidates);
        how many it placed."""
        ordered = pairs.take(sec_order(pairs))
        found = solve_greedy(room(), ordered, presorted=True)
        for ri, choice in found.items():
            chosen[cand.r_units[ri, 0]] = offset + ordered.p_id[choice.pairs[0]]
            used[ordered.p_resp[choice.pairs[0]]] += 1
            served[ri] = True
        return len(found)

    # chunks of the heaviest first, never across an urgency tier
    chunk_of = weight_chunks(ix, GREEDY_CHUNK)
    by_chunk, bounds = pairs_by_chunk(cand, chunk_of)
    budget.charge(REACH_COUNT_S * nj)
    in_reach = pairs_in_reach(ix) / max(int((~ix.r_fixed).sum()), 1)
    extra: list[Candidates] = []  # the refills' pairs, joined to `cand` once, at the end
    total = len(cand.p_unit)

    def refill(todo: np.ndarray) -> bool:
        """The `todo` requests get every responder with room in their reach, and a greedy
        pass on them, if the estimate fits the budget (whether it did)."""
        nonlocal total
        after = room()
        roomy = after.j_tasks_left >= 1
        expected = expected_pairs(in_reach, len(todo), roomy)
        if not budget.spend(REFILL_S_PER_PAIR * expected + REFILL_TREES_S * int(roomy.sum())):
            return False
        more = build_candidates(after, only=todo, among=roomy)
        offset = total  # the new pairs go after the old: indices stay valid
        total += len(more.p_unit)
        extra.append(more)
        place(more, offset)
        return True

    def left_out(mask: np.ndarray) -> np.ndarray:
        return np.flatnonzero(mask & ~served & ~ix.r_fixed & (cand.r_unexplored < geo.BIG_M))

    refilled = np.zeros(n_req, dtype=bool)
    for c in range(len(bounds) - 1):
        place(cand.take(by_chunk[bounds[c]:bounds[c + 1]]), 0)
        todo = left_out(chunk_of == c)
        if len(todo) and refill(todo):
            refilled[todo] = True
    # a last sweep for the requests whose chunk's refill did not fit the budget
    todo = left_out(~refilled)
    if len(todo):
        refill(todo)
    # joined round by round, the 3 M first pairs were copied some 80 times (3 s at 100k)
    cand = join_candidates(cand, *extra)
    # then, on the pairs found, paths that serve more without leaving anyone out
    augment(ix, cand, chosen, used, budget.spend)
    return cand, FlowResult(chosen=chosen, optimal=False,
                            served_bound=served_ceiling(ix, cand), method="greedy")


def solve_nearest(ix: Index, budget: Budget | None = None,
                  on_round: Callable[[int, int], None] | None = None,
                  ) -> tuple[Candidates, FlowResult]:
    """Candidates actually used and the flow result on them, optimal for every pair when
    `optimal` (it is unless the costs cannot be held exactly in int64, or the `budget` ran
    out first). A round that does not fit the budget is not started: the last restricted
    flow is kept (a valid plan, with `served_ceiling` for a bound), or the greedy plan when
    not even the first flow fits. `on_round(served weight, bound)` follows the rounds."""
    g, scale, exact = costing = full_costing(ix)
    cand = build_candidates(ix, knn=FIRST_K, per_task=PER_TASK)
    n_units = len(cand.u_req)
    if budget is not None:
        budget.charge(first_pairs_s(n_units))
        if not budget.spend(round_s(len(cand.p_unit), n_units)):
            cand, res = _greedy(ix, cand, budget)
            return _explainable(ix, cand, res), res
    res, d = solve_proven(ix, cand, costing)
    last = None  # the previous pass's prices and capped requests, if repaired since
    while d is not None:  # None cannot happen for an optimal flow
        q, p = prices(ix, cand, res, d, g)
        capped = np.zeros(len(ix.problem.requests), dtype=bool)
        unserved = np.ones(len(ix.problem.requests), dtype=bool)
        unserved[cand.u_req[res.chosen >= 0]] = False
        if last is None:
            new, _ = at_fault(ix, cand, q, p, g, capped=capped, unserved=unserved)
        else:  # prices moved little: look only where they could have made a pair at fault
            rose, fell = _moved(last[0], last[1], q, p, cand.u_req)
            new, _ = at_fault(ix, cand, q, p, g, only=rose | last[2], responders=fell,
                              capped=capped, unserved=unserved)
        if new is None:
            res.arcs = ()
            return _explainable(ix, cand, res), res
        if on_round is not None:
            on_round(res.served_bound, served_ceiling(ix, cand))
        if budget is not None and not budget.spend(round_s(len(cand.p_unit)
                                                           + len(new.p_unit), n_units)):
            res = replace(res, arcs=(), optimal=False,
                          served_bound=served_ceiling(ix, cand))
            return _explainable(ix, cand, res), res
        # a few new pairs are worked into the flow in place; many mean a fresh solve
        fixed = reoptimise(ix, cand, res, d, new) if len(new.p_unit) <= REPAIR_MAX else None
        cand = join_candidates(cand, new)
        last = (q, p, capped) if fixed is not None else None
        if fixed is None:
            res, d = solve_proven(ix, cand, costing)
        else:
            res, d = fixed
    cand = build_candidates(ix)
    return cand, solve_flow(ix, cand, costing=costing)


def count_variant_likely(ix: Index) -> bool:
    """Request-level conditions of the count variant, and minute/load caps that cannot bind
    whatever the pairs (each responder's task cap times its largest possible use)."""
    problem = ix.problem
    open_reqs = [r for r, f in zip(problem.requests, ix.r_fixed, strict=True) if not f]
    if any(r.team is not None or r.window is not None or r.cost > 0 for r in open_reqs):
        return False
    if not open_reqs:
        return True
    dur = max(r.duration for r in open_reqs)
    qty = max(r.quantity for r in open_reqs)
    worst_min = geo.travel_minutes(ix.j_radius, ix.j_speed)
    for t in problem.travel or ():
        j = ix.resp_pos[t.responder]
        worst_min[j] = max(worst_min[j], t.minutes)
    tasks = ix.j_tasks_left.astype(np.float64)
    minutes_ok = (ix.j_minutes_left >= BIG) | (tasks * (dur + 2 * worst_min)
                                               <= ix.j_minutes_left)
    load_ok = (ix.j_load_left >= BIG) | (tasks * qty <= ix.j_load_left)
    return bool(np.all(minutes_ok & load_ok))
