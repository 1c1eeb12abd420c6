"""Instant matching: the best responder (or team) for one new request, in milliseconds.

`MatchState` is built once from the responders and accepted work (a KD-tree on the sphere,
numpy arrays of what is left); `match_one` only reads it, and `commit` / `release` update it,
so the service can keep one state in memory between requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from solver import geo
from solver.explain import KIND_WORDS, clock, who
from solver.index import build_index, responder_mask
from solver.loads import Loads
from solver.parse import _Obj, _request
from solver.plan import Assignment, Unassigned
from solver.problem import KINDS, LICENCE_RANK, Problem, Request

ALTERNATIVES = 5


@dataclass
class Match:
    best: Assignment | None
    alternatives: list[Assignment] = field(default_factory=list)
    unassigned: Unassigned | None = None


class MatchState:
    """Responders, what they have left, and a spatial index; see module docstring."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.ix = build_index(problem)
        self.loads = Loads(self.ix)
        self.tree = cKDTree(geo.to_sphere(self.ix.j_lon, self.ix.j_lat)) if len(
            self.ix.j_lon) else None
        self.max_radius = int(self.ix.j_radius.max(initial=0))
        self.volunteer = self.ix.j_kind == KINDS.index("volunteer")
        self._requests: dict[str, Request] = {r.id: r for r in problem.requests}
        for what in ("category", "zone", "community"):
            responder_mask(self.ix, what, None)  # build the masks now, not on first use

    # --- updates
    def commit(self, assignment: Assignment, request: Request | None = None) -> None:
        """Record the assignment's load (tasks, minutes, boxes, busy time, fund)."""
        self._apply(assignment, request, +1)

    def release(self, assignment: Assignment, request: Request | None = None) -> None:
        """Undo `commit` (a cancelled or finished task gives its capacity back)."""
        self._apply(assignment, request, -1)

    def _apply(self, a: Assignment, request: Request | None, sign: int) -> None:
        r = request or self._requests[a.request_id]
        for rid, t in zip(a.responder_ids, a.travel_minutes, strict=True):
            j = self.ix.resp_pos[rid]
            step = self.loads.commit if sign > 0 else self.loads.release
            step(j, a.start, t, r.duration, r.quantity)
        if a.fund_id is not None:
            self.loads.funds[self.ix.fund_pos[a.fund_id]] -= sign * r.cost


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
    limit = state.max_radius if r.max_distance_m is None else min(state.max_radius,
                                                                  r.max_distance_m)
    near = np.zeros(0, dtype=np.int64)
    if state.tree is not None:
        point = geo.to_sphere([r.location[0]], [r.location[1]])[0]
        near = np.sort(np.asarray(state.tree.query_ball_point(point, geo.chord_for(limit)),
                                  dtype=np.int64))
    ix = state.ix
    r_trig = geo.trig([r.location[0]], [r.location[1]])
    metres = geo.pair_distance_m(ix.j_trig, near, r_trig, np.zeros(len(near), dtype=np.int64))
    minutes = geo.travel_minutes(metres, ix.j_speed[near])
    slots = r.team or (None,)
    ranked_per_slot = []
    for slot in slots:
        idx = np.flatnonzero(_static_ok(state, r, slot, near, metres, minutes, limit))
        js = near[idx]
        cost = _member_cost(state, r, js, metres[idx])
        order = np.lexsort((js, metres[idx], cost))
        ranked_per_slot.append(_Ranked(js[order], metres[idx][order], minutes[idx][order]))
    if r.team is None:
        return _single(state, r, ranked_per_slot[0], fund)
    return _team(state, r, ranked_per_slot, fund)


@dataclass
class _Ranked:
    """Suitable responders for one slot, best first."""
    js: np.ndarray
    metres: np.ndarray
    minutes: np.ndarray

    def __len__(self) -> int:
        return len(self.js)

    def __iter__(self):
        return zip(self.js.tolist(), self.metres.tolist(), self.minutes.tolist(), strict=True)

    def head(self, n: int):
        return list(self)[:n] if len(self) <= n else zip(
            self.js[:n].tolist(), self.metres[:n].tolist(), self.minutes[:n].tolist(),
            strict=True)


def _static_ok(state, r: Request, slot, near, metres, minutes, limit) -> np.ndarray:
    ix = state.ix
    ok = (metres <= ix.j_radius[near]) & (metres <= limit)
    ok &= ix.j_licence[near] >= LICENCE_RANK[slot.min_licence if slot else r.min_licence]
    quals = slot.qualifications if slot else r.qualifications
    for q in quals:
        code = ix.qual_codes.get(q)
        if code is None:
            return np.zeros(len(near), dtype=bool)
        bit = np.uint64(1) << np.uint64(code % 64)
        ok &= (ix.j_quals[near, code // 64] & bit) != 0
    if slot is not None:
        ok &= ix.j_kind[near] == KINDS.index(slot.role)
    dur, qty = r.duration, r.quantity
    loads = state.loads
    ok &= ((loads.tasks[near] >= 1) & (loads.load[near] >= qty)
           & (loads.minutes[near] >= dur + 2 * minutes))
    ok &= responder_mask(ix, "category", r.category)[near]
    if r.needs_clearance:
        ok &= responder_mask(ix, "zone", r.zone_id)[near]
    for x in r.excluded_responders:
        if x in ix.resp_pos:
            ok &= near != ix.resp_pos[x]
    ss, se = ix.j_shift_start[near], ix.j_shift_end[near]
    t = minutes[:, None]
    if r.window is None:
        ok &= np.any((se - ss >= 2 * t + dur) & (ss <= se), axis=1)
    else:
        a, b = r.window
        ok &= np.any((np.maximum(a, ss + t) <= np.minimum(b, se - dur - t)) & (ss <= se), axis=1)
    return ok


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


