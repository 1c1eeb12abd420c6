"""Reference methods the solver is measured against; none of them imports the solver.

- `greedy_reference`: requests in priority order (tier, then value), each to the nearest
  responder that can still take it under every hard constraint (earliest fitting start).
- `min_cost_flow_reference`: for the untimed single-responder ("count") variant, one
  OR-Tools SimpleMinCostFlow over every eligible (request, responder) pair, built by brute
  force with numpy (no candidate pruning, no decomposition).

Both return plans in the contract's JSON form so the independent checker can judge them.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict

import numpy as np
from ortools.graph.python import min_cost_flow
from scipy.spatial import cKDTree

from solver.check import DEFAULT_TAG_WEIGHT, EARTH_RADIUS_M, fund_eligible, travel_minutes

LICENCE_RANK = {"none": 0, "assistant": 1, "intermediate": 2, "senior": 3}
TIER_RANK = {"normal": 0, "urgent": 1, "emergency": 2}


def _params(problem: dict) -> dict:
    p = problem.get("params") or {}
    return {"tag_weight": {**DEFAULT_TAG_WEIGHT, **(p.get("tag_weight") or {})},
            "tw": p.get("travel_weight_per_km", 10), "fw": p.get("fairness_weight", 5),
            "cb": p.get("continuity_bonus", 30), "sb": p.get("same_community_bonus", 10)}


def _value(request: dict, tag_weight: dict) -> int:
    return 1000 + sum(tag_weight.get(t, 0) for t in set(request["resident_tags"]))


def _plan(assignments: list[dict], unassigned: list[str], method: str) -> dict:
    return {"status": "feasible", "method": method, "objective": 0.0, "bound": 0.0, "gap": 0.0,
            "time_s": 0.0, "assignments": assignments,
            "unassigned": [{"request_id": r, "reason": "outranked", "message": "", "remedy": ""}
                           for r in unassigned]}


def _assignment(request: dict, members: list[dict], metres: list[int], start, fund_id) -> dict:
    return {"request_id": request["id"], "responder_ids": [m["id"] for m in members],
            "roles": [m["kind"] for m in members], "start": start,
            "travel_minutes": [travel_minutes(d, m["speed_kmh"])
                               for d, m in zip(metres, members, strict=True)],
            "distance_m": metres, "fund_id": fund_id, "fixed": False}


def _static_ok(req: dict, resp: dict, quals, lic: str, metres: int) -> bool:
    """Everything about a pair that does not depend on what else is assigned."""
    if resp["categories"] is not None and req["category"] not in resp["categories"]:
        return False
    if not set(quals) <= set(resp["qualifications"]):
        return False
    if LICENCE_RANK[resp["licence"]] < LICENCE_RANK[lic]:
        return False
    if metres > resp["radius_m"] or (req["max_distance_m"] is not None
                                     and metres > req["max_distance_m"]):
        return False
    gated = req["zone_status"] in ("sealed", "controlled")
    if gated and req["zone_id"] not in resp["zone_clearances"]:
        return False
    return resp["id"] not in req["excluded_responders"]


class _Load:
    """What one responder has taken on so far."""

    def __init__(self, resp: dict):
        self.resp = resp
        self.tasks = self.minutes = self.load = 0
        self.busy: list[tuple[int, int]] = []

    def fits_caps(self, req: dict, travel: int) -> bool:
        r = self.resp
        return ((r["max_tasks"] is None or self.tasks < r["max_tasks"])
                and (r["max_minutes"] is None
                     or self.minutes + req["duration"] + 2 * travel <= r["max_minutes"])
                and (r["load_capacity"] is None
                     or self.load + req["quantity"] <= r["load_capacity"]))

    def fits_time(self, req: dict, travel: int, start: int | None) -> bool:
        shifts = self.resp["shifts"]
        if start is None:
            return shifts is None or any(e - s >= req["duration"] + 2 * travel for s, e in shifts)
        lo, hi = start - travel, start + req["duration"] + travel
        if shifts is not None and not any(s <= lo and hi <= e for s, e in shifts):
            return False
        return all(hi <= b0 or b1 <= lo for b0, b1 in self.busy)

    def starts(self, req: dict, travel: int) -> list[int]:
        """Left-justified candidate starts in the window: the earliest fit is among them."""
        a, b = req["window"]
        cands = {a} | {e + travel for _, e in self.busy}
        cands |= {s + travel for s, _ in self.resp["shifts"] or []}
        return sorted(s for s in cands if a <= s <= b)

    def take(self, req: dict, travel: int, start: int | None) -> None:
        self.tasks += 1
        self.minutes += req["duration"] + 2 * travel
        self.load += req["quantity"]
        if start is not None:
            self.busy.append((start - travel, start + req["duration"] + travel))


def _project(lonlat: np.ndarray, lat0: float) -> np.ndarray:
    return np.radians(lonlat) * EARTH_RADIUS_M * np.array([math.cos(math.radians(lat0)), 1.0])


def greedy_reference(problem: dict) -> dict:
    """Nearest-available greedy in priority order; a valid plan under every hard constraint."""
    prm = _params(problem)
    reqs, resps = problem["requests"], problem["responders"]
    loads = [_Load(r) for r in resps]
    balance = {f["id"]: f["balance"] for f in problem["funds"]}
    funds = sorted(problem["funds"], key=lambda f: f["id"])
    rll = np.radians(np.array([r["location"] for r in resps], dtype=float))
    qll = np.radians(np.array([r["location"] for r in reqs], dtype=float))
    radius = np.array([r["radius_m"] for r in resps], dtype=float)
    lat0 = float(np.mean(rll[:, 1]))
    tree = cKDTree(_project(rll, lat0))
    qxy = _project(qll, lat0)
    reach = float(radius.max()) * 1.01 + 50
    order = sorted(range(len(reqs)), key=lambda i: (-TIER_RANK[reqs[i]["urgency"]],
                                                    -_value(reqs[i], prm["tag_weight"]), i))
    full = np.zeros(len(resps), dtype=bool)  # at max_tasks: skipped without a look

    def candidates(i: int, k: int | None) -> tuple[list[tuple[int, int]], bool]:
        """Free responders among the k nearest (all within reach if k is None), as
        (metres, index) nearest first, and whether the k nearest were all there is."""
        if k is None:
            idx = np.array(tree.query_ball_point(qxy[i], r=reach), dtype=np.int64)
        else:
            _, idx = tree.query(qxy[i], k=min(k, len(resps)), distance_upper_bound=reach)
            idx = np.atleast_1d(idx)
            idx = idx[idx < len(resps)]
        exhausted = k is None or len(idx) < k
        d = np.rint(_haversine_np(rll[idx, 0], rll[idx, 1], qll[i, 0], qll[i, 1]))
        keep = (d <= radius[idx]) & ~full[idx]
        idx, d = idx[keep], d[keep]
        o = np.argsort(d, kind="stable")
        return [(int(d[x]), int(idx[x])) for x in o], exhausted

    assigned, unassigned = [], []
    for i in order:
        req = reqs[i]
        fund = None
        if req["cost"] > 0:
            fund = next((f["id"] for f in funds if balance[f["id"]] >= req["cost"]
                         and fund_eligible(f, req)), None)
            if fund is None:
                unassigned.append(req["id"])
                continue
        got = None
        for k in (32, 256, None):  # widen only when the nearest are all busy or unfit
            cands, exhausted = candidates(i, k)
            got = _greedy_team(req, cands, loads) if req["team"] else _greedy_one(req, cands, loads)
            if got is not None or exhausted:
                break
        if got is None:
            unassigned.append(req["id"])
            continue
        members, start = got
        for d, j in members:
            loads[j].take(req, travel_minutes(d, resps[j]["speed_kmh"]), start)
            full[j] = resps[j]["max_tasks"] is not None and loads[j].tasks >= resps[j]["max_tasks"]
        if fund is not None:
            balance[fund] -= req["cost"]
        assigned.append(_assignment(req, [resps[j] for _, j in members],
                                    [d for d, _ in members], start, fund))
    return _plan(assigned, unassigned, "greedy_reference")


def _greedy_one(req: dict, cands: list[tuple[int, int]], loads: list[_Load]):
    for d, j in cands:
        ld = loads[j]
        if not _static_ok(req, ld.resp, req["qualifications"], req["min_licence"], d):
            continue
        t = travel_minutes(d, ld.resp["speed_kmh"])
        if not ld.fits_caps(req, t):
            continue
        if req["window"] is None:
            if ld.fits_time(req, t, None):
                return [(d, j)], None
            continue
        for s in ld.starts(req, t):
            if ld.fits_time(req, t, s):
                return [(d, j)], s
    return None


def _greedy_team(req: dict, cands: list[tuple[int, int]], loads: list[_Load]):
    slots = [s for s in req["team"] for _ in range(s["count"])]
    starts = [None]
    if req["window"] is not None:
        a, b = req["window"]
        starts = list(range(a, b + 1, 15)) + ([b] if (b - a) % 15 else [])
    for start in starts:
        used: set[int] = set()
        members = []
        for slot in slots:
            pick = None
            for d, j in cands:
                ld = loads[j]
                if j in used or ld.resp["kind"] != slot["role"]:
                    continue
                if not _static_ok(req, ld.resp, slot["qualifications"], slot["min_licence"], d):
                    continue
                t = travel_minutes(d, ld.resp["speed_kmh"])
                if ld.fits_caps(req, t) and ld.fits_time(req, t, start):
                    pick = (d, j)
                    break
            if pick is None:
                break
            used.add(pick[1])
            members.append(pick)
        if len(members) == len(slots):
            return members, start
    return None


def _haversine_np(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    h = (np.sin((lat - lat0) / 2) ** 2
         + np.cos(lat) * math.cos(lat0) * np.sin((lon - lon0) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))


def eligible_pairs(problem: dict) -> tuple[np.ndarray, ...]:
    """(request, responder, metres, same community, previous responder) per eligible pair.

    For the count variant: every request untimed, single and free.

    Brute force over all pairs, one responder at a time against every request.
    """
    reqs, resps = problem["requests"], problem["responders"]
    if any(r["team"] or r["window"] is not None or r["cost"] for r in reqs):
        raise ValueError("the min-cost-flow reference handles untimed single free requests only")
    qual_bit: dict[str, int] = {}
    for r in reqs:
        for q in r["qualifications"]:
            qual_bit.setdefault(q, len(qual_bit))
    if len(qual_bit) > 62:
        raise ValueError("too many distinct qualifications for a bitmask")

    def mask(quals) -> int:
        return sum(1 << qual_bit[q] for q in quals if q in qual_bit)

    lon = np.radians([r["location"][0] for r in reqs])
    lat = np.radians([r["location"][1] for r in reqs])
    need = np.array([mask(r["qualifications"]) for r in reqs], dtype=np.int64)
    lic = np.array([LICENCE_RANK[r["min_licence"]] for r in reqs])
    limit = np.array([r["max_distance_m"] if r["max_distance_m"] is not None else np.inf
                      for r in reqs])
    cats = {c: i for i, c in enumerate(sorted({r["category"] for r in reqs}))}
    cat = np.array([cats[r["category"]] for r in reqs])
    zone = np.array([r["zone_id"] if r["zone_status"] in ("sealed", "controlled") else ""
                     for r in reqs])
    comm_code = {c: k for k, c in enumerate(sorted({r["community_id"] for r in reqs
                                                    if r["community_id"] is not None}))}
    comm = np.array([comm_code.get(r["community_id"], -1) for r in reqs])
    resp_index = {r["id"]: j for j, r in enumerate(resps)}
    prev = np.array([resp_index.get(r["previous_responder"], -1) for r in reqs])
    excluded = defaultdict(list)
    for i, r in enumerate(reqs):
        for rid in r["excluded_responders"]:
            excluded[rid].append(i)
    out_q, out_j, out_d, out_c, out_p = [], [], [], [], []
    for j, resp in enumerate(resps):
        d = np.rint(_haversine_np(lon, lat, *np.radians(resp["location"])))
        ok = (d <= resp["radius_m"]) & (d <= limit)
        ok &= (need & ~np.int64(mask(resp["qualifications"]))) == 0
        ok &= lic <= LICENCE_RANK[resp["licence"]]
        if resp["categories"] is not None:
            ok &= np.isin(cat, [cats[c] for c in resp["categories"] if c in cats])
        ok &= (zone == "") | np.isin(zone, list(resp["zone_clearances"]) or [""]) & (zone != "")
        ok[excluded.get(resp["id"], [])] = False
        idx = np.nonzero(ok)[0]
        out_q.append(idx)
        out_j.append(np.full(len(idx), j))
        out_d.append(d[idx].astype(np.int64))
        own = [comm_code[c] for c in resp["community_ids"] if c in comm_code]
        out_c.append(np.isin(comm[idx], own))
        out_p.append(prev[idx] == j)
    return tuple(np.concatenate(x) for x in (out_q, out_j, out_d, out_c, out_p))


def min_cost_flow_reference(problem: dict) -> tuple[dict, dict]:
    """Optimal count-variant plan from one min-cost flow over all eligible pairs.

    Costs: -(tier rank * (Vmax+1) + value) * G + secondary in 1/100 objective units, where G
    exceeds the whole secondary range.  Any two flows differ by simple cycles that each serve
    at most one request more and one fewer, so this compressed tier weight orders every
    cycle as the README's lexicographic objective does, and the flow optimum is the
    objective's optimum (up to the 1/100 rounding of travel).  Returns (plan, stats).
    """
    prm = _params(problem)
    reqs, resps = problem["requests"], problem["responders"]
    t0 = time.perf_counter()
    qi, rj, dist, comm, prev = eligible_pairs(problem)
    t_pairs = time.perf_counter() - t0
    values = np.array([_value(r, prm["tag_weight"]) for r in reqs], dtype=np.int64)
    tier = np.array([TIER_RANK[r["urgency"]] for r in reqs], dtype=np.int64)
    weight = tier * (int(values.max()) + 1) + values
    scale = 100
    sec = np.rint(scale * (prm["tw"] * dist / 1000 - prm["sb"] * comm - prm["cb"] * prev))
    sec = sec.astype(np.int64)
    n_q, n_r = len(reqs), len(resps)
    sink = n_q + n_r
    caps = [r["max_tasks"] if r["max_tasks"] is not None else n_q for r in resps]
    degree = np.bincount(rj, minlength=n_r)
    tails, heads, units, fair = [], [], [], []
    for j, resp in enumerate(resps):
        c = int(min(caps[j], degree[j]))
        if c == 0:
            continue
        if resp["kind"] == "volunteer":  # k-th task costs fw*(k-1): one unit arc per task
            tails += [n_q + j] * c
            heads += [sink] * c
            units += [1] * c
            fair += [round(scale * prm["fw"] * k) for k in range(c)]
        else:
            tails.append(n_q + j)
            heads.append(sink)
            units.append(c)
            fair.append(0)
    fair_arr = np.array(fair, dtype=np.int64)
    per_request_worst = np.zeros(n_q, dtype=np.int64)
    np.maximum.at(per_request_worst, qi, np.abs(sec))
    big = int(per_request_worst.sum() + fair_arr.sum()) + 1
    cost_assign = -weight[qi] * big + sec
    if int(np.abs(cost_assign).max(initial=0)) * (n_q + n_r + 2) >= 2**62:
        raise OverflowError("costs too large for an exact int64 min-cost flow")
    flow = min_cost_flow.SimpleMinCostFlow()
    a_assign = flow.add_arcs_with_capacity_and_unit_cost(
        qi.astype(np.int32), (n_q + rj).astype(np.int32), np.ones(len(qi), dtype=np.int64),
        cost_assign)
    flow.add_arcs_with_capacity_and_unit_cost(
        np.arange(n_q, dtype=np.int32), np.full(n_q, sink, dtype=np.int32),
        np.ones(n_q, dtype=np.int64), np.zeros(n_q, dtype=np.int64))
    if tails:
        flow.add_arcs_with_capacity_and_unit_cost(
            np.array(tails, dtype=np.int32), np.array(heads, dtype=np.int32),
            np.array(units, dtype=np.int64), fair_arr)
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[:n_q] = 1
    supplies[sink] = -n_q
    flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), supplies)
    t_build = time.perf_counter() - t0
    status = flow.solve()
    t_total = time.perf_counter() - t0
    if status != flow.OPTIMAL:
        raise RuntimeError(f"min-cost flow status {status}")
    used = np.nonzero(flow.flows(a_assign) > 0)[0]
    served = set()
    assigned = []
    for a in used:
        i, j = int(qi[a]), int(rj[a])
        served.add(i)
        assigned.append(_assignment(reqs[i], [resps[j]], [int(dist[a])], None, None))
    plan = _plan(assigned, [r["id"] for i, r in enumerate(reqs) if i not in served], "mcf")
    return plan, {"pairs": int(len(qi)), "pairs_s": t_pairs, "build_s": t_build,
                  "time_s": t_total}
