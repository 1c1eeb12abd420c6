"""Feasible (demand unit, responder) pairs, found with a KD-tree and filtered with numpy.

A demand unit is a single-responder request, or one slot of a team request (a slot may need
several members). Every static hard constraint is applied here, so the models only ever see
pairs that respect qualifications, licence, category, distance, zones, exclusions, shift fit
and per-task caps; what is left for the models is what couples pairs: time overlap, caps over
several tasks, funds and teams.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial import cKDTree

from solver import geo
from solver.index import Index, _bitmasks, distinct, per_problem, responder_mask
from solver.problem import KINDS, LICENCE_RANK


@dataclass
class Candidates:
    u_req: np.ndarray      # request index of each demand unit
    u_slot: np.ndarray     # slot index in the team, -1 for single-responder requests
    u_count: np.ndarray    # members the unit needs
    r_units: np.ndarray    # (nR, 2): first unit and number of units per request
    p_unit: np.ndarray     # pairs; sorted by (unit, metres, responder) after sort_pairs
    p_req: np.ndarray
    p_resp: np.ndarray
    p_metres: np.ndarray
    p_minutes: np.ndarray
    p_sec: np.ndarray      # secondary objective per pair in milli-points (travel - bonuses)
    p_id: np.ndarray       # the pair's index in the full candidate set (parts and sorts keep it)
    r_unexplored: np.ndarray | None = None  # per request: metres below which all were seen

    def take(self, idx: np.ndarray) -> Candidates:
        """The same units with only (or reordered to) the pairs `idx`."""
        return replace(self, p_unit=self.p_unit[idx], p_req=self.p_req[idx],
                       p_resp=self.p_resp[idx], p_metres=self.p_metres[idx],
                       p_minutes=self.p_minutes[idx], p_sec=self.p_sec[idx],
                       p_id=self.p_id[idx])


RESPONDER_GROUP = 128  # responders per KD-tree join: similar radii, little over-reach


def _keys_in(keys: np.ndarray, allowed: list[int]) -> np.ndarray:
    if not allowed:
        return np.zeros(len(keys), dtype=bool)
    return np.isin(keys, np.array(allowed, dtype=np.int64))


def pairs_in_reach(ix: Index, sample: int = 4096) -> int:
    """About how many pairs of open requests and responders lie within the responders'
    radii: counted by the KD-trees without forming a pair, for every n-th request (at most
    `sample` of them), then scaled up; each group of like radii is counted at its largest."""
    every = np.flatnonzero(~ix.r_fixed)
    reqs = every[::max(1, -(-len(every) // sample))]
    nj = len(ix.j_lon)
    if nj == 0 or len(reqs) == 0:
        return 0
    r_tree = cKDTree(geo.to_sphere(ix.r_lon[reqs], ix.r_lat[reqs]))
    points = geo.to_sphere(ix.j_lon, ix.j_lat)
    by_radius = np.argsort(ix.j_radius, kind="stable")
    total = 0
    for lo in range(0, nj, RESPONDER_GROUP):
        js = by_radius[lo:lo + RESPONDER_GROUP]
        total += int(r_tree.count_neighbors(cKDTree(points[js]),
                                            geo.chord_for(int(ix.j_radius[js].max()))))
    return total * len(every) // len(reqs)


def expected_pairs(per_request: float, n_requests: int, among: np.ndarray) -> float:
    """About how many pairs in reach `n_requests` open requests have with the responders
    `among` (a mask), from the pairs in reach per open request (pairs_in_reach), taking
    those responders to be spread like all of them."""
    return per_request * n_requests * int(among.sum()) / max(len(among), 1)


def _near_pairs(ix: Index, reqs: np.ndarray, among: np.ndarray | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(request, responder, metres) for every pair within the responder's radius and the
    request's limit, by great-circle distance (only the responders `among`, a mask, if
    given). Responders go in small groups of similar radius; each group's KD-tree meets the
    requests' tree once (sparse_distance_matrix hands back arrays, not Python lists), so the
    work follows the pairs found, not requests x responders, and temporary memory stays at
    one group's pairs."""
    nj = len(ix.j_lon)
    empty = np.zeros(0, dtype=np.int64)
    if nj == 0 or len(reqs) == 0:
        return empty, empty, empty
    r_tree = cKDTree(geo.to_sphere(ix.r_lon[reqs], ix.r_lat[reqs]))
    limit = _limits(ix)
    points = geo.to_sphere(ix.j_lon, ix.j_lat)
    by_radius = np.argsort(ix.j_radius, kind="stable")
    if among is not None:
        by_radius = by_radius[among[by_radius]]
    out_r, out_j, out_m = [], [], []
    for lo in range(0, len(by_radius), RESPONDER_GROUP):
        js = by_radius[lo:lo + RESPONDER_GROUP]
        hits = r_tree.sparse_distance_matrix(
            cKDTree(points[js]), geo.chord_for(int(ix.j_radius[js].max())),
            output_type="ndarray")
        if len(hits) == 0:
            continue
        pr = reqs[hits["i"].astype(np.int64)]
        pj = js[hits["j"].astype(np.int64)]
        metres = geo.pair_distance_m(ix.j_trig, pj, ix.r_trig, pr)
        keep = (metres <= ix.j_radius[pj]) & (metres <= limit[pr])
        out_r.append(pr[keep])
        out_j.append(pj[keep])
        out_m.append(metres[keep])
    if not out_r:
        return empty, empty, empty
    return np.concatenate(out_r), np.concatenate(out_j), np.concatenate(out_m)


def _apply_travel(ix: Index, pr, pj, metres, reqs_mask):
    """Replace metres/minutes by `travel` entries and add pairs only those entries make near."""
    nj = len(ix.j_lon)
    minutes = geo.travel_minutes(metres, ix.j_speed[pj])
    if not ix.problem.travel:
        return pr, pj, metres, minutes
    o_r, o_j, o_m, o_t = (np.array(a, dtype=np.int64) for a in zip(*[
        (ix.req_pos[t.request], ix.resp_pos[t.responder], t.metres, t.minutes)
        for t in ix.problem.travel], strict=True))
    keys = pr * nj + pj
    o_keys = o_r * nj + o_j
    order = np.argsort(o_keys, kind="stable")
    o_keys, o_r, o_j, o_m, o_t = (a[order] for a in (o_keys, o_r, o_j, o_m, o_t))
    pos = np.searchsorted(o_keys, keys)
    pos_c = np.minimum(pos, max(len(o_keys) - 1, 0))
    hit = (pos < len(o_keys)) & (o_keys[pos_c] == keys)
    metres = np.where(hit, o_m[pos_c], metres)
    minutes = np.where(hit, o_t[pos_c], minutes)
    extra = ~np.isin(o_keys, keys) & reqs_mask[o_r]
    limit = np.array([r.max_distance_m if r.max_distance_m is not None else geo.BIG_M
                      for r in ix.problem.requests], dtype=np.int64)
    pr = np.concatenate([pr, o_r[extra]])
    pj = np.concatenate([pj, o_j[extra]])
    metres = np.concatenate([metres, o_m[extra]])
    minutes = np.concatenate([minutes, o_t[extra]])
    keep = (metres <= ix.j_radius[pj]) & (metres <= limit[pr])
    return pr[keep], pj[keep], metres[keep], minutes[keep]


def request_arrays(ix: Index) -> dict[str, np.ndarray]:
    """duration, quantity, timed, window start/end per request, built once per problem."""
    reqs = ix.problem.requests
    return per_problem(ix, "requests", lambda: {
        "dur": np.array([r.duration for r in reqs], dtype=np.int64),
        "qty": np.array([r.quantity for r in reqs], dtype=np.int64),
        "timed": np.array([r.window is not None for r in reqs], dtype=bool),
        "wa": np.array([r.window[0] if r.window else 0 for r in reqs], dtype=np.int64),
        "wb": np.array([r.window[1] if r.window else 0 for r in reqs], dtype=np.int64)})


def time_fits(ix: Index, pr, pj, minutes) -> np.ndarray:
    """Whether some shift of the responder can hold the round trip (and meet the window)."""
    a = request_arrays(ix)
    dur, timed, wa, wb = a["dur"][pr], a["timed"][pr], a["wa"][pr], a["wb"][pr]
    ok = np.zeros(len(pr), dtype=bool)
    for k in range(ix.j_shift_start.shape[1]):
        s, e = ix.j_shift_start[pj, k], ix.j_shift_end[pj, k]
        untimed_ok = e - s >= 2 * minutes + dur
        timed_ok = np.maximum(wa, s + minutes) <= np.minimum(wb, e - dur - minutes)
        ok |= np.where(timed, timed_ok, untimed_ok) & (s <= e)
    return ok


def fundable(ix: Index) -> np.ndarray:
    """Per request: no cost, or some eligible fund still holds the whole cost."""
    problem = ix.problem
    return np.array([r.cost <= 0 or any(f.eligible(r) and ix.fund_left[k] >= r.cost
                                        for k, f in enumerate(problem.funds))
                     for r in problem.requests], dtype=bool)


def _classes(ix: Index, reqs: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """(class per request in `reqs`, responder mask per class): requests sharing category,
    qualifications, licence and zone rule share a class, whose mask holds every responder
    that could serve them (a superset: exclusions, shifts and caps are left to the filters).
    Team requests go in one class open to every responder with tasks left. Only the classes
    of `reqs` are returned, numbered in a fixed order; all are built once per problem and
    task caps (pricing asks for them every pass)."""
    cached = ix.masks.get("classes")
    if (cached is None or cached[0] is not ix.problem.requests
            or cached[1] is not ix.j_tasks_left):
        ix.masks["classes"] = cached = (ix.problem.requests, ix.j_tasks_left,
                                        *_all_classes(ix))
    present, cls = np.unique(cached[2][reqs], return_inverse=True)
    return cls.astype(np.int64), [cached[3][c] for c in present]


def _all_classes(ix: Index) -> tuple[np.ndarray, list[np.ndarray]]:
    """_classes for every request."""
    problem = ix.problem
    keys: dict = {}
    cls = np.empty(len(problem.requests), dtype=np.int64)
    masks: list[np.ndarray] = []
    free = ix.j_tasks_left >= 1
    for ri, r in enumerate(problem.requests):
        key = None if r.team is not None else (
            r.category, ix.r_quals[ri].tobytes(), int(ix.r_licence[ri]),
            r.zone_id if r.needs_clearance else None)
        c = keys.get(key)
        if c is None:
            c = keys[key] = len(masks)
            if key is None:
                masks.append(free.copy())
            else:
                ok = free & responder_mask(ix, "category", r.category)
                ok &= ix.j_licence >= ix.r_licence[ri]
                for w in range(ix.j_quals.shape[1]):
                    ok &= (ix.r_quals[ri, w] & ~ix.j_quals[:, w]) == 0
                if r.needs_clearance:
                    ok &= responder_mask(ix, "zone", r.zone_id)
                masks.append(ok)
        cls[ri] = c
    return cls, masks


def _limits(ix: Index) -> np.ndarray:
    """Per request, its own distance limit in metres (BIG_M if none), built once per problem:
    pricing reads it every pass."""
    return per_problem(ix, "limits", lambda: np.array(
        [r.max_distance_m if r.max_distance_m is not None else geo.BIG_M
         for r in ix.problem.requests], dtype=np.int64))


def _knn_pairs(ix: Index, reqs: np.ndarray, k: int, per_task: float = 0.0):
    """(request, responder, metres, unexplored) from each request's k nearest responders of
    its class (`_classes`), plus, when `per_task` > 0, each responder's `per_task *
    max_tasks` nearest requests of each class it may serve (so that far-reaching responders
    are linked to enough work). `unexplored[r]` is a lower bound on the metres of any
    responder of r's class not among its k nearest (BIG_M when all within reach were seen)."""
    nj = len(ix.j_lon)
    unexplored = np.full(len(ix.problem.requests), geo.BIG_M, dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    if nj == 0 or len(reqs) == 0:
        return empty, empty, empty, unexplored
    limit = _limits(ix)
    cls, masks = _classes(ix, reqs)
    j_points = geo.to_sphere(ix.j_lon, ix.j_lat)
    r_points = geo.to_sphere(ix.r_lon[reqs], ix.r_lat[reqs])
    out_r, out_j = [], []
    for c, mask in enumerate(masks):
        js = np.flatnonzero(mask)
        rs = np.flatnonzero(cls == c)
        if len(js) == 0:
            continue
        reach = float(ix.j_radius[js].max())
        kc = min(k, len(js))
        dist, idx = cKDTree(j_points[js]).query(
            r_points[rs], k=kc, distance_upper_bound=geo.chord_for(reach))
        dist, idx = dist.reshape(len(rs), kc), idx.reshape(len(rs), kc)
        found = idx < len(js)
        out_r.append(np.repeat(reqs[rs], found.sum(axis=1)))
        out_j.append(js[idx[found]])
        full = found[:, -1]
        # the chord never exceeds the arc; a metre of slack covers the rounding to metres
        edge = np.where(full, np.floor(np.where(full, dist[:, -1], 0)) - 1, geo.BIG_M)
        edge = edge.astype(np.int64)
        open_ = full & (edge <= np.minimum(limit[reqs[rs]], int(reach)))
        unexplored[reqs[rs][open_]] = edge[open_]
        if per_task > 0:
            r_tree = cKDTree(r_points[rs])
            want = np.ceil(per_task * np.minimum(ix.j_tasks_left[js], 64))
            want = np.minimum(want, len(rs)).astype(np.int64)
            for kk in np.unique(want):
                sub = js[want == kk]
                rad = geo.chord_for(int(ix.j_radius[sub].max()))
                _, idx = r_tree.query(j_points[sub], k=int(kk), distance_upper_bound=rad)
                idx = idx.reshape(len(sub), int(kk))
                found = idx < len(rs)
                out_j.append(np.repeat(sub, found.sum(axis=1)))
                out_r.append(reqs[rs][idx[found]])
    if not out_r:
        return empty, empty, empty, unexplored
    pr, pj = np.concatenate(out_r), np.concatenate(out_j)
    key = distinct(pr * nj + pj)
    pr, pj = key // nj, key % nj
    metres = geo.pair_distance_m(ix.j_trig, pj, ix.r_trig, pr)
    keep = (metres <= ix.j_radius[pj]) & (metres <= limit[pr])
    return pr[keep], pj[keep], metres[keep], unexplored


def join_candidates(old: Candidates, *more: Candidates) -> Candidates:
    """The pairs of `old`, then those of each of `more` (same units), numbered afresh in that
    order: indices and ids of the earlier pairs stay what they were. Each request's
    unexplored reach is the least of them."""
    parts = (old, *more)
    cat = {f: np.concatenate([getattr(c, f) for c in parts])
           for f in ("p_unit", "p_req", "p_resp", "p_metres", "p_minutes", "p_sec")}
    unexplored = old.r_unexplored
    for c in more:
        if unexplored is not None and c.r_unexplored is not None:
            unexplored = np.minimum(unexplored, c.r_unexplored)
    return replace(old, **cat, p_id=np.arange(len(cat["p_unit"]), dtype=np.int64),
                   r_unexplored=unexplored)


def build_candidates(ix: Index, knn: int | None = None,
                     only: np.ndarray | None = None, per_task: float = 0.0,
                     among: np.ndarray | None = None) -> Candidates:
    """All feasible pairs; with `knn`, only those among each request's knn nearest
    responders of its class and (with `per_task`) each responder's nearest requests
    (Candidates.r_unexplored then bounds what was not looked at). `only` limits the pairs
    to some requests (units are always built for every open request); without `knn`,
    `among` (a mask) limits them to some responders."""
    nr = len(ix.problem.requests)
    open_reqs = np.flatnonzero(~ix.r_fixed) if only is None else only
    if knn is None:
        pr, pj, metres = _near_pairs(ix, open_reqs, among)
        unexplored = np.full(nr, geo.BIG_M, dtype=np.int64)
    else:
        pr, pj, metres, unexplored = _knn_pairs(ix, open_reqs, knn, per_task)
    mask = np.zeros(nr, dtype=bool)
    mask[open_reqs] = True
    pr, pj, metres, minutes = _apply_travel(ix, pr, pj, metres, mask)
    return replace(feasible_pairs(ix, pr, pj, metres, minutes), r_unexplored=unexplored)


def feasible_pairs(ix: Index, pr, pj, metres, minutes) -> Candidates:
    """Candidates from (request, responder) pairs already within distance: every other
    static rule applied (units are built for every open request)."""
    keep = static_ok(ix, pr, pj, minutes)
    pr, pj, metres, minutes = pr[keep], pj[keep], metres[keep], minutes[keep]
    return _expand_units(ix, pr, pj, metres, minutes)


def _static_arrays(ix: Index) -> dict[str, np.ndarray]:
    """Per-problem arrays the request-level rules read, built once per problem."""
    problem = ix.problem
    nj = len(ix.j_lon)
    reqs = problem.requests
    return per_problem(ix, "static", lambda: {
        "shifted": np.array([j.shifts is not None for j in problem.responders], dtype=bool),
        "excl": np.sort(np.array([ri * nj + ix.resp_pos[x] for ri, r in enumerate(reqs)
                                  for x in r.excluded_responders if x in ix.resp_pos],
                                 dtype=np.int64)),
        "needs": np.array([r.needs_clearance for r in reqs], dtype=bool),
        "any_cat": np.array([j.categories is None for j in problem.responders], dtype=bool),
        "fundable": fundable(ix)})


def static_ok(ix: Index, pr, pj, minutes) -> np.ndarray:
    """Per pair within distance: the request-level static rules (shift fit, exclusions,
    zone, category, caps for one task, fund availability); slot rules are _expand_units'."""
    a = _static_arrays(ix)
    nj = len(ix.j_lon)
    # each rule evaluated only on the pairs it can reject
    keep = np.ones(len(pr), dtype=bool)
    timed = request_arrays(ix)["timed"]
    sub = np.flatnonzero(timed[pr] | a["shifted"][pj])
    keep[sub] = time_fits(ix, pr[sub], pj[sub], minutes[sub])
    if len(a["excl"]):
        keys = pr * nj + pj
        pos = np.minimum(np.searchsorted(a["excl"], keys), len(a["excl"]) - 1)
        keep &= a["excl"][pos] != keys
    sub = np.flatnonzero(a["needs"][pr])
    if len(sub):
        keep[sub] &= _member(ix, pj[sub], pr[sub], "zone")
    sub = np.flatnonzero(~a["any_cat"][pj])
    if len(sub):
        keep[sub] &= _member(ix, pj[sub], pr[sub], "category")
    dur, qty = request_arrays(ix)["dur"], request_arrays(ix)["qty"]
    keep &= ((ix.j_tasks_left[pj] >= 1) & (qty[pr] <= ix.j_load_left[pj])
             & (dur[pr] + 2 * minutes <= ix.j_minutes_left[pj]))
    keep &= a["fundable"][pr]
    return keep


def _unit_layout(ix: Index) -> dict[str, np.ndarray]:
    """The demand units of every open request (request, slot, count, role, licence,
    qualifications) and each request's first unit and count, built once per problem and
    fixed set (cached like _static_arrays): every candidate build shares them, and building
    them is a Python loop over all requests (0.2 s at 100,000)."""
    cached = ix.masks.get("units")
    if cached is not None and cached[0] is ix.problem.requests and cached[1] is ix.r_fixed:
        return cached[2]
    reqs = ix.problem.requests
    u_req, u_slot, u_count, u_role, u_lic = [], [], [], [], []
    r_units = np.zeros((len(reqs), 2), dtype=np.int64)
    slot_sets = []
    for ri, r in enumerate(reqs):
        r_units[ri, 0] = len(u_req)
        if ix.r_fixed[ri]:
            continue
        if r.team is None:
            u_req.append(ri), u_slot.append(-1), u_count.append(1), u_role.append(-1)
            u_lic.append(LICENCE_RANK[r.min_licence]), slot_sets.append(r.qualifications)
        else:
            for si, s in enumerate(r.team):
                u_req.append(ri), u_slot.append(si), u_count.append(s.count)
                u_role.append(KINDS.index(s.role)), u_lic.append(LICENCE_RANK[s.min_licence])
                slot_sets.append(s.qualifications)
        r_units[ri, 1] = len(u_req) - r_units[ri, 0]
    layout = {"u_req": np.array(u_req, dtype=np.int64),
              "u_slot": np.array(u_slot, dtype=np.int64),
              "u_count": np.array(u_count, dtype=np.int64),
              "role": np.array(u_role, dtype=np.int64), "lic": np.array(u_lic, dtype=np.int64),
              "quals": _bitmasks(slot_sets, ix.qual_codes), "r_units": r_units}
    ix.masks["units"] = (reqs, ix.r_fixed, layout)
    return layout


def _expand_units(ix: Index, pr, pj, metres, minutes) -> Candidates:
    """One pair per (unit, responder); slot rules (role, licence, qualifications) applied."""
    units = _unit_layout(ix)
    r_units, u_quals = units["r_units"], units["quals"]
    # expand each request pair to the request's units (one each when there are no teams)
    per = r_units[pr, 1]
    if np.all(per == 1):
        pu = r_units[pr, 0]
    else:
        idx = np.repeat(np.arange(len(pr)), per)
        first = np.repeat(r_units[pr, 0], per)
        pu = first + np.arange(len(idx)) - np.repeat(np.cumsum(per) - per, per)
        pr, pj, metres, minutes = pr[idx], pj[idx], metres[idx], minutes[idx]
    # slot rules (role, licence, qualifications), checked only on pairs whose unit has any
    keep = np.ones(len(pu), dtype=bool)
    role, lic = units["role"], units["lic"]
    ruled = (role >= 0) | (lic > 0) | u_quals.any(axis=1)
    sub = np.flatnonzero(ruled[pu]) if len(pu) else np.zeros(0, dtype=np.int64)
    if len(sub):
        su, sj = pu[sub], pj[sub]
        ok = ((role[su] < 0) | (ix.j_kind[sj] == role[su])) & (ix.j_licence[sj] >= lic[su])
        for w in range(u_quals.shape[1]):
            ok &= (u_quals[su, w] & ~ix.j_quals[sj, w]) == 0
        keep[sub] = ok
    if not keep.all():
        pu, pr, pj, metres, minutes = (a[keep] for a in (pu, pr, pj, metres, minutes))
    return Candidates(
        u_req=units["u_req"], u_slot=units["u_slot"], u_count=units["u_count"],
        r_units=r_units, p_unit=pu, p_req=pr,
        p_resp=pj, p_metres=metres, p_minutes=minutes,
        p_sec=pair_secondary(ix, pr, pj, metres), p_id=np.arange(len(pu), dtype=np.int64))


def sort_pairs(cand: Candidates) -> Candidates:
    """Pairs ordered by (unit, metres, responder): what the greedy pass and CP-SAT expect.
    The flow does not need it, so it is a separate step."""
    order = np.lexsort((cand.p_resp, cand.p_metres, cand.p_unit))
    return cand.take(order)


_NAMES = {"zone": ("zone_id", "zone_clearances"), "category": ("category", "categories"),
          "community": ("community_id", "community_ids")}


def _member(ix: Index, pj: np.ndarray, pr: np.ndarray, what: str) -> np.ndarray:
    """Per pair: whether responder pj lists the request's name (zone, category, community).
    The per-request codes and the responder x name table are built once per problem."""
    cached = ix.masks.get(("member", what))
    if cached is None or cached[0] is not ix.problem.requests:
        r_attr, j_attr = _NAMES[what]
        r_names = [getattr(r, r_attr) for r in ix.problem.requests]
        codes = {n: i for i, n in enumerate(sorted({n for n in r_names if n is not None}))}
        r_code = np.array([codes.get(n, -1) if n is not None else -1 for n in r_names],
                          dtype=np.int64)
        member = np.zeros((len(ix.j_lon), max(len(codes), 1)), dtype=bool)  # nj x names
        for ji, j in enumerate(ix.problem.responders):
            for n in getattr(j, j_attr) or ():
                if n in codes:
                    member[ji, codes[n]] = True
        prev = np.array([ix.resp_pos.get(r.previous_responder, -1) if r.previous_responder
                         else -1 for r in ix.problem.requests], dtype=np.int64)
        cached = ix.masks[("member", what)] = (ix.problem.requests, r_code, member, prev)
    _, r_code, member, _ = cached
    code = r_code[pr]
    return (code >= 0) & member[pj, np.maximum(code, 0)]


def pair_secondary(ix: Index, pr, pj, metres) -> np.ndarray:
    """Travel cost minus preference bonuses per pair, in milli-points (rounded)."""
    p = ix.problem.params
    same = _member(ix, pj, pr, "community")
    cont = ix.masks[("member", "community")][3][pr] == pj
    sec = (p.travel_weight_per_km * metres - 1000 * p.continuity_bonus * cont
           - 1000 * p.same_community_bonus * same)
    return np.rint(sec).astype(np.int64)
