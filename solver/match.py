"""Instant matching: the best responder (or team) for one new request, in milliseconds.

`MatchState` is built once from the responders and accepted work (unit vectors on the sphere,
numpy arrays of what is left); `match_one` only reads it, and `commit` / `release` /
`upsert_responder` / `remove_responder` update it in place, so the service can keep one state
in memory between requests.

Who is in reach is one vectorised scan rather than a tree query: each responder's own radius
is a threshold on the dot product of unit vectors (`cos` of the angle), so a request only ever
looks at the responders whose radius covers it, not at everyone within the largest radius
of the instance. At 10,000 responders the scan is a few tens of microseconds, and it needs no
index to rebuild when a responder changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import islice
from typing import Any

import numpy as np

from solver import geo
from solver.explain import KIND_WORDS, clock, who
from solver.index import (
    BIG,
    NO_SHIFT_END,
    NO_SHIFT_START,
    build_index,
    pair_travel,
    responder_mask,
    travel_overrides,
)
from solver.loads import Loads
from solver.parse import _Obj, _request, _responder
from solver.plan import Assignment, Unassigned
from solver.problem import KINDS, LICENCE_RANK, Problem, Request, Responder

ALTERNATIVES = 5
# Ranked candidates are ordered and checked in batches, this many first, then twice as many.
ITER_CHUNK = 32
VOLUNTEER = KINDS.index("volunteer")
_MASKS = (("category", "categories"), ("zone", "zone_clearances"),
          ("community", "community_ids"))


def _cos_reach(metres) -> np.ndarray:
    """Least dot product of two unit vectors whose great-circle distance may be `metres`:
    1 - chord^2 / 2, with the chord padded as geo.chord_for pads it (never loses a point)."""
    r = geo.EARTH_RADIUS_M
    arc = np.minimum(np.asarray(metres, dtype=np.float64) + 1.0, np.pi * r)
    chord = (2 * r * np.sin(arc / (2 * r)) + 1e-3) / r
    return 1.0 - chord * chord / 2


def _unit(lon, lat) -> np.ndarray:
    return geo.to_sphere(lon, lat) / geo.EARTH_RADIUS_M


def _point(lon: float, lat: float) -> tuple[np.ndarray, np.ndarray]:
    """One request's unit vector and its geo.trig column, without numpy's per-call setup
    (the same formulas as geo.to_sphere and geo.trig, on Python floats)."""
    lo, la = math.radians(lon), math.radians(lat)
    c = math.cos(la)
    unit = np.array([c * math.cos(lo), c * math.sin(lo), math.sin(la)])
    return unit, np.array([[lo], [la], [c]])


@dataclass
class Match:
    best: Assignment | None
    alternatives: list[Assignment] = field(default_factory=list)
    unassigned: Unassigned | None = None


class MatchState:
    """Responders, what they have left, and where they reach; see module docstring.

    Not thread-safe: the caller serialises `match_one` and the updates (one lock per state).
    """

    def __init__(self, problem: Problem):
        self.problem = problem
        self.ix = build_index(problem)
        self.loads = Loads(self.ix)
        ix = self.ix
        self.unit = _unit(ix.j_lon, ix.j_lat)        # (nJ, 3) unit vectors
        self.reach = _cos_reach(ix.j_radius)         # per responder: least dot product
        self.volunteer = ix.j_kind == VOLUNTEER
        # minutes and boxes used so far (accepted work, then commits), so that a responder
        # replaced by upsert_responder keeps its load under its new caps
        self.used_minutes = np.zeros(len(ix.j_lon), dtype=np.int64)
        self.used_load = np.zeros(len(ix.j_lon), dtype=np.int64)
        overrides = travel_overrides(problem, ix.req_pos, ix.resp_pos)
        for f in problem.fixed:
            ri = ix.req_pos[f.request_id]
            r = problem.requests[ri]
            for rid in f.responder_ids:
                j = ix.resp_pos[rid]
                _, t = pair_travel(problem, r, j, ix.j_lon, ix.j_lat, ix.j_speed, overrides, ri)
                self.used_minutes[j] += r.duration + 2 * t
                self.used_load[j] += r.quantity
        self._requests: dict[str, Request] = {r.id: r for r in problem.requests}
        for what, _ in _MASKS:
            responder_mask(ix, what, None)  # build the masks now, not on first use

    # --- load updates
    def commit(self, assignment: Assignment, request: Request | None = None) -> None:
        """Record the assignment's load (tasks, minutes, boxes, busy time, fund)."""
        self._apply(assignment, request, +1)

    def release(self, assignment: Assignment, request: Request | None = None) -> None:
        """Undo `commit` (a cancelled or finished task gives its capacity back)."""
        self._apply(assignment, request, -1)

    def _apply(self, a: Assignment, request: Request | None, sign: int) -> None:
        r = request or self._requests[a.request_id]
        for rid, t in zip(a.responder_ids, a.travel_minutes, strict=True):
            j = self.ix.resp_pos.get(rid)
            if j is None:  # removed since: its load left with it
                continue
            step = self.loads.commit if sign > 0 else self.loads.release
            step(j, a.start, t, r.duration, r.quantity)
            self.used_minutes[j] += sign * (r.duration + 2 * t)
            self.used_load[j] += sign * r.quantity
        if a.fund_id is not None:
            self.loads.funds[self.ix.fund_pos[a.fund_id]] -= sign * r.cost

    # --- responder updates
    def upsert_responder(self, responder: Responder | dict[str, Any]) -> None:
        """Add a responder, or replace the one with the same id, in place.

        `responder` is a `Responder` or its JSON dict (validated like `Problem.from_dict`'s,
        `ProblemError` naming the field). A replaced responder keeps the work already counted
        for it (tasks, minutes, boxes, busy time: accepted work and commits), measured against
        its new caps; a new one starts with none (commit its accepted work, if any, after
        adding it). Cost: a few array writes (O(1) Python work) for a replacement, one copy of
        each per-responder array for an addition, independent of the requests."""
        new = responder if isinstance(responder, Responder) else _responder(
            _Obj(responder, "responder"))
        ix = self.ix
        j = ix.resp_pos.get(new.id)
        resps = list(self.problem.responders)
        if j is None:
            j = len(resps)
            self._resize(lambda a, axis: np.concatenate([a, _empty_row(a, axis)], axis=axis),
                         grow=True)
            ix.resp_pos[new.id] = j
            resps.append(new)
        else:
            resps[j] = new
        self._set_problem(tuple(resps))
        self._set_row(j, new)

    def remove_responder(self, responder_id: str) -> bool:
        """Take a responder out of matching (False if it was not there). Assignments that
        named it can still be released; its share is simply ignored. Cost: one copy of each
        per-responder array and of the id map (about a millisecond at 10,000)."""
        ix = self.ix
        j = ix.resp_pos.get(responder_id)
        if j is None:
            return False
        self._resize(lambda a, axis: np.delete(a, j, axis=axis), grow=False, at=j)
        ix.resp_pos = {rid: (p if p < j else p - 1) for rid, p in ix.resp_pos.items()
                       if rid != responder_id}
        resps = self.problem.responders
        self._set_problem(resps[:j] + resps[j + 1:])
        return True

    def _set_problem(self, responders: tuple[Responder, ...]) -> None:
        self.problem = replace(self.problem, responders=responders)
        self.ix.problem = self.problem
        self.ix.masks.pop("qualified", None)  # explain's cache of qualified responders

    def _resize(self, op, *, grow: bool, at: int | None = None) -> None:
        """Apply `op(array, axis)` to every per-responder array (append or delete a row)."""
        ix, loads = self.ix, self.loads
        for owner, names in ((ix, ("j_lon", "j_lat", "j_radius", "j_speed", "j_licence",
                                   "j_kind", "j_quals", "j_shift_start", "j_shift_end",
                                   "j_tasks_left", "j_minutes_left", "j_load_left",
                                   "j_fixed_tasks")),
                             (loads, ("tasks", "minutes", "load", "done")),
                             (self, ("unit", "reach", "volunteer", "used_minutes",
                                     "used_load"))):
            for name in names:
                setattr(owner, name, op(getattr(owner, name), 0))
        ix.j_trig = op(ix.j_trig, 1)
        for what, _ in _MASKS:
            cache, default = ix.masks[what]
            ix.masks[what] = ({k: op(v, 0) for k, v in cache.items()}, op(default, 0))
        for busy in (ix.j_busy, loads.busy):
            if grow:
                busy.append([])
            else:
                del busy[at]

    def _set_row(self, j: int, new: Responder) -> None:
        """Write responder `new` into row j of every per-responder array."""
        ix, loads = self.ix, self.loads
        ix.j_lon[j], ix.j_lat[j] = new.location
        ix.j_trig[:, j] = geo.trig([new.location[0]], [new.location[1]])[:, 0]
        ix.j_radius[j], ix.j_speed[j] = new.radius_m, new.speed_kmh
        ix.j_licence[j], ix.j_kind[j] = LICENCE_RANK[new.licence], KINDS.index(new.kind)
        self.unit[j] = _unit([new.location[0]], [new.location[1]])[0]
        self.reach[j] = _cos_reach(new.radius_m)
        self.volunteer[j] = new.kind == "volunteer"
        # qualifications: new names get new codes (and a new mask word past 64)
        for q in new.qualifications:
            if q not in ix.qual_codes:
                ix.qual_codes[q] = len(ix.qual_codes)
        words = max(1, (len(ix.qual_codes) + 63) // 64)
        if words > ix.j_quals.shape[1]:
            ix.j_quals = np.hstack([ix.j_quals, np.zeros(
                (len(ix.j_quals), words - ix.j_quals.shape[1]), dtype=np.uint64)])
        ix.j_quals[j] = 0
        for q in new.qualifications:
            c = ix.qual_codes[q]
            ix.j_quals[j, c // 64] |= np.uint64(1) << np.uint64(c % 64)
        # shifts, padded with empty ones (start > end)
        shifts = new.shifts if new.shifts is not None else ((NO_SHIFT_START, NO_SHIFT_END),)
        width = ix.j_shift_start.shape[1]
        if len(shifts) > width:
            pad = len(shifts) - width
            n = len(ix.j_shift_start)
            ix.j_shift_start = np.hstack([ix.j_shift_start, np.ones((n, pad), np.int64)])
            ix.j_shift_end = np.hstack([ix.j_shift_end, np.zeros((n, pad), np.int64)])
        ix.j_shift_start[j], ix.j_shift_end[j] = 1, 0
        for k, (a, b) in enumerate(shifts):
            ix.j_shift_start[j, k], ix.j_shift_end[j, k] = a, b
        # caps: what is left of the new caps after the work already counted
        for cap, used, ix_name, loads_name in (
                (new.max_tasks, loads.done[j], "j_tasks_left", "tasks"),
                (new.max_minutes, self.used_minutes[j], "j_minutes_left", "minutes"),
                (new.load_capacity, self.used_load[j], "j_load_left", "load")):
            left = BIG if cap is None else int(cap) - int(used)
            getattr(ix, ix_name)[j] = left
            getattr(loads, loads_name)[j] = left
        # category, zone and community masks
        for what, attr in _MASKS:
            cache, default = ix.masks[what]
            names = getattr(new, attr)
            default[j] = what == "category" and names is None
            for key, mask in cache.items():
                mask[j] = default[j] or key in (names or ())
            for key in names or ():
                if key not in cache:
                    cache[key] = default.copy()
                    cache[key][j] = True


def _empty_row(a: np.ndarray, axis: int) -> np.ndarray:
    shape = list(a.shape)
    shape[axis] = 1
    return np.zeros(shape, dtype=a.dtype)


def as_request(request: Request | dict[str, Any]) -> Request:
    return request if isinstance(request, Request) else _request(_Obj(request, "request"))


def match_one(request: Request | dict[str, Any], state: MatchState) -> Match:
    """The best feasible responder (or team) and ranked alternatives, given current loads."""
    r = as_request(request)
    state._requests[r.id] = r
    fund = None
    if r.cost > 0:
        fund = _pick_fund(state, r)
        if fund is None:
            return Match(None, [], _fund_reason(state, r))
    limit = geo.BIG_M if r.max_distance_m is None else r.max_distance_m
    ix, loads = state.ix, state.loads
    # request-level rules on every responder at once (a few flat passes over booleans)
    unit, r_trig = _point(*r.location)
    dots = state.unit @ unit
    ok = dots >= state.reach
    if r.max_distance_m is not None:
        ok &= dots >= _cos_reach(r.max_distance_m)
    ok &= responder_mask(ix, "category", r.category)
    if r.needs_clearance:
        ok &= responder_mask(ix, "zone", r.zone_id)
    ok &= loads.tasks >= 1
    if r.quantity:
        ok &= loads.load >= r.quantity
    for x in r.excluded_responders:
        if x in ix.resp_pos:
            ok[ix.resp_pos[x]] = False
    near = np.flatnonzero(ok)
    ranked_per_slot = []
    for slot in r.team or (None,):
        js = near[_slot_ok(ix, r, slot, near)]
        metres = geo.pair_distance_m(ix.j_trig, js, r_trig, np.zeros(len(js), dtype=np.int64))
        minutes = geo.travel_minutes(metres, ix.j_speed[js])
        keep = _reach_ok(state, r, js, metres, minutes, limit)
        js, metres, minutes = js[keep], metres[keep], minutes[keep]
        cost = _member_cost(state, r, js, metres)
        ranked_per_slot.append(_Ranked(js, metres, minutes, cost, partial(_shift_ok, ix, r)))
    if r.team is None:
        return _single(state, r, ranked_per_slot[0], fund)
    return _team(state, r, ranked_per_slot, fund)


class _Ranked:
    """Suitable responders for one slot, best first: by cost, then metres, then position.

    Ordered and shift-checked a batch at a time, cheapest first: a search usually stops
    within the first few dozen of the thousand or so in reach, and sorting and checking them
    all up front took most of match_one's time."""

    def __init__(self, js, metres, minutes, cost, fits_shift) -> None:
        self._pending = (js, metres, minutes, cost)  # in reach, not yet ordered nor checked
        self._fits_shift = fits_shift
        self._ready: list[tuple[int, float, float]] = []  # ordered, shift checked
        self._batch = ITER_CHUNK

    def _next_batch(self) -> bool:
        """Order and check the cheapest pending entries (all ties of the last one included,
        so every entry left pending ranks after them); False when none are left."""
        js, metres, minutes, cost = self._pending
        if not len(js):
            return False
        if len(js) > self._batch:
            take = cost <= np.partition(cost, self._batch - 1)[self._batch - 1]
            rest = ~take
            self._pending = (js[rest], metres[rest], minutes[rest], cost[rest])
            js, metres, minutes, cost = js[take], metres[take], minutes[take], cost[take]
            self._batch *= 2
        else:
            self._pending = (js[:0], metres[:0], minutes[:0], cost[:0])
        order = np.lexsort((js, metres, cost))
        js, metres, minutes = js[order], metres[order], minutes[order]
        ok = self._fits_shift(js, minutes)
        self._ready.extend(zip(js[ok].tolist(), metres[ok].tolist(), minutes[ok].tolist(),
                               strict=True))
        return True

    def __iter__(self):
        i = 0
        while i < len(self._ready) or self._next_batch():
            if i < len(self._ready):
                yield self._ready[i]
                i += 1

    def __len__(self) -> int:
        while self._next_batch():
            pass
        return len(self._ready)

    def head(self, n: int) -> list[tuple[int, float, float]]:
        """The first n as (responder, metres, minutes) tuples."""
        return list(islice(self, n))


def _slot_ok(ix, r: Request, slot, near) -> np.ndarray:
    """Among `near`, who holds the licence, qualifications (and role) the slot asks for."""
    ok = ix.j_licence[near] >= LICENCE_RANK[slot.min_licence if slot else r.min_licence]
    for q in slot.qualifications if slot else r.qualifications:
        code = ix.qual_codes.get(q)
        if code is None:
            return np.zeros(len(near), dtype=bool)
        bit = np.uint64(1) << np.uint64(code % 64)
        ok &= (ix.j_quals[near, code // 64] & bit) != 0
    if slot is not None:
        ok &= ix.j_kind[near] == KINDS.index(slot.role)
    return ok


def _reach_ok(state, r: Request, js, metres, minutes, limit) -> np.ndarray:
    """Within radius and limit in whole metres, and minutes left for the round trip."""
    ok = (metres <= state.ix.j_radius[js]) & (metres <= limit)
    ok &= state.loads.minutes[js] >= r.duration + 2 * minutes
    return ok


def _shift_ok(ix, r: Request, js, minutes) -> np.ndarray:
    """A shift that holds the visit and its round trip (inside the window when timed)."""
    dur = r.duration
    ss, se = ix.j_shift_start[js], ix.j_shift_end[js]
    t = minutes[:, None]
    if r.window is None:
        return np.any((se - ss >= 2 * t + dur) & (ss <= se), axis=1)
    a, b = r.window
    return np.any((np.maximum(a, ss + t) <= np.minimum(b, se - dur - t)) & (ss <= se), axis=1)


def _member_cost(state, r: Request, js, metres) -> np.ndarray:
    """The member's share of the secondary objective: travel, fairness step, minus bonuses."""
    p = state.problem.params
    ix = state.ix
    cost = p.travel_weight_per_km * metres / 1000
    cost = cost + np.where(state.volunteer[js], p.fairness_weight * state.loads.done[js], 0.0)
    if r.previous_responder in ix.resp_pos:
        cost = cost - p.continuity_bonus * (js == ix.resp_pos[r.previous_responder])
    if r.community_id is not None:
        same = responder_mask(ix, "community", r.community_id)[js]
        cost = cost - p.same_community_bonus * same
    return cost


def _assignment(state, r: Request, members, roles, start, fund) -> Assignment:
    resps = state.problem.responders
    return Assignment(r.id, tuple(resps[j].id for j, _, _ in members), tuple(roles), start,
                      tuple(t for _, _, t in members), tuple(m for _, m, _ in members),
                      None if fund is None else state.problem.funds[fund].id)


def _single(state, r: Request, ranked, fund) -> Match:
    found = []
    for j, m, t in ranked:
        start = None
        if r.window is not None:
            ranges = state.loads.starts(j, t, r.duration, r.window)
            if not ranges:
                continue
            start = ranges[0][0]
        found.append(_assignment(state, r, [(j, m, t)], [state.problem.responders[j].kind],
                                 start, fund))
        if len(found) > ALTERNATIVES:
            break
    if not found:
        return Match(None, [], _no_fit(state, r, bool(ranked)))
    return Match(found[0], found[1:])


def _team(state, r: Request, ranked_per_slot, fund) -> Match:
    starts: list[int | None] = [None]
    if r.window is not None:
        found = set()
        for ranked in ranked_per_slot:
            for j, _, t in ranked.head(50):
                found.update(lo for lo, _ in state.loads.starts(j, t, r.duration, r.window))
        starts = sorted(found)[:40]
    for s in starts:
        used: set[int] = set()
        members, roles = [], []
        for slot, ranked in zip(r.team, ranked_per_slot, strict=True):
            need = slot.count
            for j, m, t in ranked:
                if j in used or (s is not None and not state.loads.free_at(j, s, t, r.duration)):
                    continue
                used.add(j)
                members.append((j, m, t))
                roles.append(slot.role)
                need -= 1
                if need == 0:
                    break
            if need:
                break
        else:
            return Match(_assignment(state, r, members, roles, s, fund), [])
    short = next((s for s, ranked in zip(r.team, ranked_per_slot, strict=True)
                  if len(ranked) < s.count), r.team[0])
    return Match(None, [], Unassigned(
        r.id, "team_incomplete", "Not every team role can be filled at one time.",
        f"{short.count} more {KIND_WORDS[short.role]}(s) free"
        + (f" before {clock(r.window[1])}" if r.window else "")))


def _no_fit(state, r: Request, had_static: bool) -> Unassigned:
    """Why nobody fits: the full diagnosis of explain on a one-request problem."""
    if had_static:
        return Unassigned(r.id, "no_time", "Every suitable responder is busy during the "
                          "window.", f"one more {who(r)[2:]} free"
                          + (f" before {clock(r.window[1])}" if r.window else ""))
    from solver.explain import _static

    one = replace(state.problem, requests=(r,), fixed=(), travel=None)
    ix = replace(state.ix, problem=one, r_fixed=np.zeros(1, dtype=bool),
                 j_tasks_left=state.loads.tasks, j_minutes_left=state.loads.minutes,
                 j_load_left=state.loads.load, fund_left=state.loads.funds)
    return Unassigned(r.id, *_static(ix, 0))


def _pick_fund(state, r: Request) -> int | None:
    best = None
    for k, f in enumerate(state.problem.funds):
        if f.eligible(r) and state.loads.funds[k] >= r.cost:
            if best is None or state.loads.funds[k] > state.loads.funds[best]:
                best = k
    return best


def _fund_reason(state, r: Request) -> Unassigned:
    from solver.explain import _fund_reason as reason

    one = replace(state.problem, requests=(r,), fixed=(), travel=None)
    ix = replace(state.ix, problem=one)
    code, message, remedy = reason(ix, 0, state.loads.funds) or (
        "fund_exhausted", "No eligible fund can pay.", "more money in an eligible fund")
    return Unassigned(r.id, code, message, remedy)


