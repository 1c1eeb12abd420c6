"""Independent plan checker: every hard constraint of CONTRACT.md, and the objective.

This module deliberately shares no code with the model builders (flow, cpsat, match,
greedy): it re-reads the problem and plan as plain JSON-shaped dicts and recomputes
distances, travel times, loads and the objective itself.  A bug in the solver's own
bookkeeping therefore cannot hide a broken plan.  It accepts either the JSON dicts or the
``solver.problem.Problem`` / ``solver.plan.Plan`` objects (converted with their
``to_dict()``).
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

EARTH_RADIUS_M = 6_371_000.0
LICENCE_ORDER = {"none": 0, "assistant": 1, "intermediate": 2, "senior": 3}
GATED_ZONE_STATUSES = {"sealed", "controlled"}
REASON_CODES = {
    "no_qualified_responder",
    "out_of_range",
    "zone_not_cleared",
    "excluded",
    "no_time",
    "capacity",
    "team_incomplete",
    "no_eligible_fund",
    "fund_exhausted",
    "outranked",
}


@dataclasses.dataclass(frozen=True)
class Violation:
    """One broken hard constraint: a stable code, whom it concerns, and why."""

    code: str
    request_id: str | None
    responder_ids: tuple[str, ...]
    message: str


def haversine_m(a: Iterable[float], b: Iterable[float]) -> float:
    """Great-circle distance in metres between two WGS-84 ``[lon, lat]`` points."""
    lon1, lat1 = (math.radians(x) for x in a)
    lon2, lat2 = (math.radians(x) for x in b)
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def travel_minutes(metres: float, speed_kmh: float) -> int:
    """Whole minutes to cover ``metres`` at ``speed_kmh`` (rounded up, as the contract says)."""
    # The epsilon keeps an exact multiple (e.g. 1000 m at 15 km/h = 4 min) from becoming 5
    # through floating-point noise in the division.
    return max(0, math.ceil(metres * 60.0 / (speed_kmh * 1000.0) - 1e-9))


def fund_eligible(fund: dict, request: dict) -> bool:
    """Whether the fund's category, community and resident-tag rules admit the request."""
    cats, comms, tags = fund.get("categories"), fund.get("community_ids"), fund.get("resident_tags")
    return (
        (cats is None or request["category"] in cats)
        and (comms is None or request.get("community_id") in comms)
        and (tags is None or bool(set(tags) & set(request.get("resident_tags") or [])))
    )


def _as_dict(obj: Any) -> dict:
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    raise TypeError(f"cannot read {type(obj).__name__} as a problem or plan")


@dataclasses.dataclass
class _Member:
    responder: dict
    metres: float
    minutes: int


class _Checker:
    def __init__(self, problem: Any, plan: Any) -> None:
        self.problem = _as_dict(problem)
        self.plan = _as_dict(plan)
        self.requests = {r["id"]: r for r in self.problem.get("requests", [])}
        self.responders = {r["id"]: r for r in self.problem.get("responders", [])}
        self.funds = {f["id"]: f for f in self.problem.get("funds", []) or []}
        self.fixed = {f["request_id"]: f for f in self.problem.get("fixed", []) or []}
        self.travel = {
            (t["responder"], t["request"]): t for t in self.problem.get("travel", None) or []
        }
        self.out: list[Violation] = []

    def flag(
        self, code: str, request_id: str | None, responder_ids: Iterable[str], message: str
    ) -> None:
        self.out.append(Violation(code, request_id, tuple(responder_ids), message))

    # -- travel ---------------------------------------------------------------------------
    def true_travel(self, responder: dict, request: dict) -> tuple[float, int, bool]:
        """(metres, minutes, overridden) for a responder serving a request."""
        given = self.travel.get((responder["id"], request["id"]))
        if given is not None:
            return float(given["metres"]), int(given["minutes"]), True
        metres = haversine_m(responder["location"], request["location"])
        return metres, travel_minutes(round(metres), responder["speed_kmh"]), False

    def member_travel(self, a: dict, request: dict) -> list[_Member]:
        """Check the reported travel of each member and return the values to judge by."""
        ids = a["responder_ids"]
        mins = list(a.get("travel_minutes") or [])
        dists = list(a.get("distance_m") or [])
        if len(mins) != len(ids) or len(dists) != len(ids):
            self.flag(
                "travel_report",
                a["request_id"],
                ids,
                "travel_minutes and distance_m must have one entry per responder",
            )
        members = []
        for k, rid in enumerate(ids):
            resp = self.responders[rid]
            metres, minutes, overridden = self.true_travel(resp, request)
            rep_m = dists[k] if k < len(dists) else None
            rep_t = mins[k] if k < len(mins) else None
            judged_m = metres if overridden else round(metres)
            near = rep_m is not None and abs(rep_m - metres) <= (0.0 if overridden else 1.0)
            if near and not overridden and rep_t == travel_minutes(rep_m, resp["speed_kmh"]):
                # A metre of rounding either way is the solver's call; judge by its figures.
                judged_m, minutes = rep_m, rep_t
            elif not near or rep_t != minutes:
                self.flag(
                    "travel_report",
                    a["request_id"],
                    [rid],
                    f"reported {rep_m} m / {rep_t} min, expected {metres:.0f} m / "
                    f"{minutes} min" + (" (travel matrix)" if overridden else ""),
                )
            members.append(_Member(resp, judged_m, minutes))
        return members

    # -- structure ------------------------------------------------------------------------
    def coverage(self) -> list[dict]:
        """Every request exactly once; returns the assignments whose ids all resolve."""
        seen: dict[str, int] = defaultdict(int)
        valid = []
        for a in self.plan.get("assignments", []):
            rq = a.get("request_id")
            seen[rq] += 1
            ids = list(a.get("responder_ids") or [])
            if rq not in self.requests:
                self.flag("unknown_request", rq, ids, f"assignment for unknown request {rq!r}")
                continue
            unknown = [r for r in ids if r not in self.responders]
            if unknown:
                self.flag("unknown_responder", rq, unknown, f"unknown responders {unknown}")
                continue
            valid.append(a)
        for u in self.plan.get("unassigned", []):
            rq = u.get("request_id")
            seen[rq] += 1
            if rq not in self.requests:
                self.flag("unknown_request", rq, [], f"unassigned entry for unknown request {rq!r}")
            if u.get("reason") not in REASON_CODES:
                self.flag("reason_code", rq, [], f"unknown reason {u.get('reason')!r}")
        for rq in self.requests:
            if seen.get(rq, 0) != 1:
                self.flag(
                    "coverage",
                    rq,
                    [],
                    f"request appears {seen.get(rq, 0)} times in assigned/unassigned, not once",
                )
        return valid

    def qualified(self, resp: dict, quals: Iterable[str], min_licence: str) -> bool:
        return (
            set(quals) <= set(resp.get("qualifications") or [])
            and LICENCE_ORDER[resp.get("licence", "none")] >= LICENCE_ORDER[min_licence]
        )

    def staffing(self, a: dict, request: dict) -> None:
        ids = a["responder_ids"]
        rq = request["id"]
        if len(set(ids)) != len(ids):
            self.flag("team_distinct", rq, ids, "a responder fills more than one slot")
        roles = a.get("roles")
        if roles is not None and list(roles) != [self.responders[r]["kind"] for r in ids]:
            self.flag("role", rq, ids, f"reported roles {roles} differ from responder kinds")
        for rid in ids:
            cats = self.responders[rid].get("categories")
            if cats is not None and request["category"] not in cats:
                self.flag("category", rq, [rid], f"does not offer {request['category']!r}")
        team = request.get("team")
        if not team:
            if len(ids) != 1:
                self.flag("team_complete", rq, ids, "single-responder request needs exactly one")
                return
            if not self.qualified(
                self.responders[ids[0]],
                request.get("qualifications") or [],
                request.get("min_licence", "none"),
            ):
                self.flag(
                    "qualification",
                    rq,
                    ids,
                    "responder lacks a required qualification or licence level",
                )
            return
        slots = [s for s in team for _ in range(s["count"])]
        if len(ids) != len(slots):
            self.flag("team_complete", rq, ids, f"team needs {len(slots)} members, got {len(ids)}")
            return
        for rid in ids:
            if not any(self.responders[rid]["kind"] == s["role"] for s in slots):
                self.flag("role", rq, [rid], "no slot of this responder's kind in the team")
        if not self._slots_matchable(ids, slots):
            self.flag(
                "qualification",
                rq,
                ids,
                "members cannot be matched to slots by role, qualifications and licence",
            )

    def _slots_matchable(self, ids: list[str], slots: list[dict]) -> bool:
        """Perfect matching members -> slot positions (Kuhn's augmenting paths; teams are small)."""
        fits = [
            [
                j
                for j, s in enumerate(slots)
                if self.responders[rid]["kind"] == s["role"]
                and self.qualified(
                    self.responders[rid],
                    s.get("qualifications") or [],
                    s.get("min_licence", "none"),
                )
            ]
            for rid in ids
        ]
        owner: dict[int, int] = {}

        def augment(i: int, seen: set[int]) -> bool:
            for j in fits[i]:
                if j not in seen:
                    seen.add(j)
                    if j not in owner or augment(owner[j], seen):
                        owner[j] = i
                        return True
            return False

        return all(augment(i, set()) for i in range(len(ids)))

    def reach(self, request: dict, members: list[_Member]) -> None:
        rq = request["id"]
        limit = request.get("max_distance_m")
        excluded = set(request.get("excluded_responders") or [])
        gated = request.get("zone_status") in GATED_ZONE_STATUSES
        for m in members:
            rid = m.responder["id"]
            radius = m.responder.get("radius_m")
            if radius is not None and m.metres > radius:
                self.flag("radius", rq, [rid], f"{m.metres:.0f} m beyond radius {radius} m")
            if limit is not None and m.metres > limit:
                self.flag(
                    "max_distance", rq, [rid], f"{m.metres:.0f} m beyond request limit {limit} m"
                )
            if rid in excluded:
                self.flag("excluded", rq, [rid], "responder is excluded from this request")
            if gated and request.get("zone_id") not in (m.responder.get("zone_clearances") or []):
                self.flag(
                    "zone",
                    rq,
                    [rid],
                    f"not cleared for {request.get('zone_status')} zone {request.get('zone_id')!r}",
                )

    def timing(
        self,
        a: dict,
        request: dict,
        members: list[_Member],
        busy: dict[str, list[tuple[int, int, str]]],
    ) -> None:
        rq = request["id"]
        window = request.get("window")
        duration = request.get("duration", 0)
        start = a.get("start")
        if window is None:
            if start is not None:
                self.flag("window", rq, a["responder_ids"], "untimed request must have no start")
            for m in members:
                shifts = m.responder.get("shifts")
                need = duration + 2 * m.minutes
                if shifts is not None and not any(e - s >= need for s, e in shifts):
                    self.flag(
                        "shift", rq, [m.responder["id"]], f"no shift long enough for {need} min"
                    )
            return
        if start is None or not window[0] <= start <= window[1]:
            self.flag("window", rq, a["responder_ids"], f"start {start} outside window {window}")
            if start is None:
                return
        for m in members:
            lo, hi = start - m.minutes, start + duration + m.minutes
            shifts = m.responder.get("shifts")
            if shifts is not None and not any(s <= lo and hi <= e for s, e in shifts):
                self.flag(
                    "shift", rq, [m.responder["id"]], f"busy [{lo}, {hi}] not inside one shift"
                )
            busy[m.responder["id"]].append((lo, hi, rq))

    def overlaps(self, busy: dict[str, list[tuple[int, int, str]]]) -> None:
        for rid, spans in busy.items():
            spans.sort()
            last_end, last_rq = None, None
            for lo, hi, rq in spans:
                if last_end is not None and lo < last_end:
                    self.flag(
                        "overlap", rq, [rid], f"busy from {lo} overlaps {last_rq} until {last_end}"
                    )
                if last_end is None or hi > last_end:
                    last_end, last_rq = hi, rq

    def capacity(self, used: dict[str, list[int]]) -> None:
        for rid, (tasks, minutes, load) in used.items():
            r = self.responders[rid]
            for code, have, cap in (
                ("max_tasks", tasks, r.get("max_tasks")),
                ("max_minutes", minutes, r.get("max_minutes")),
                ("load_capacity", load, r.get("load_capacity")),
            ):
                if cap is not None and have > cap:
                    self.flag(code, None, [rid], f"{have} over cap {cap}")

    def funding(self, a: dict, request: dict, charged: dict[str, int]) -> None:
        rq, cost, fid = request["id"], request.get("cost", 0), a.get("fund_id")
        if cost <= 0:
            if fid is not None:
                self.flag("fund", rq, a["responder_ids"], "zero-cost request charged to a fund")
            return
        if fid is None or fid not in self.funds:
            self.flag(
                "fund", rq, a["responder_ids"], f"cost {cost} needs one eligible fund, got {fid!r}"
            )
            return
        if not fund_eligible(self.funds[fid], request):
            self.flag("fund", rq, a["responder_ids"], f"fund {fid!r} is not eligible")
        charged[fid] += cost

    def fixed_work(self, by_request: dict[str, dict]) -> None:
        for rq, f in self.fixed.items():
            a = by_request.get(rq)
            if a is None:
                self.flag("fixed", rq, f["responder_ids"], "fixed assignment missing from the plan")
                continue
            same = (
                sorted(a["responder_ids"]) == sorted(f["responder_ids"])
                and (f.get("start") is None or a.get("start") == f["start"])
                and (f.get("fund_id") is None or a.get("fund_id") == f["fund_id"])
            )
            if not same or not a.get("fixed", False):
                self.flag("fixed", rq, a["responder_ids"], f"fixed assignment changed: {f} -> {a}")
        for rq, a in by_request.items():
            if a.get("fixed", False) and rq not in self.fixed:
                self.flag(
                    "fixed", rq, a["responder_ids"], "marked fixed but not fixed in the problem"
                )

    def run(self) -> list[Violation]:
        assignments = self.coverage()
        busy: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
        used: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        charged: dict[str, int] = defaultdict(int)
        for a in assignments:
            request = self.requests[a["request_id"]]
            members = self.member_travel(a, request)
            self.staffing(a, request)
            self.reach(request, members)
            self.timing(a, request, members, busy)
            self.funding(a, request, charged)
            for m in members:
                u = used[m.responder["id"]]
                u[0] += 1
                u[1] += request.get("duration", 0) + 2 * m.minutes
                u[2] += request.get("quantity", 0)
        self.overlaps(busy)
        self.capacity(used)
        for fid, total in charged.items():
            if total > self.funds[fid]["balance"]:
                self.flag(
                    "fund_balance",
                    None,
                    [],
                    f"fund {fid!r} charged {total} > {self.funds[fid]['balance']}",
                )
        self.fixed_work({a["request_id"]: a for a in assignments})
        return self.out


def check(problem: Any, plan: Any) -> list[Violation]:
    """Every hard-constraint violation of ``plan`` for ``problem``; empty means feasible."""
    return _Checker(problem, plan).run()


DEFAULT_TAG_WEIGHT = {
    "elderly": 200,
    "lives_alone": 300,
    "disabled": 300,
    "child": 200,
    "chronic_illness": 200,
    "low_income": 100,
}
TIERS = ("normal", "urgent", "emergency")


def _members_needed(request: dict) -> int:
    team = request.get("team")
    return sum(s["count"] for s in team) if team else 1


def objective(problem: Any, plan: Any) -> float:
    """The objective of solver/README.md "## Objective", recomputed from problem and plan.

    Distances are the checker's own (travel-matrix metres, else rounded haversine), not the
    plan's reported ones, so a misreported distance cannot flatter the score.
    """
    prob, pl = _as_dict(problem), _as_dict(plan)
    params = prob.get("params") or {}
    tag_weight = {**DEFAULT_TAG_WEIGHT, **(params.get("tag_weight") or {})}
    floors = {**{t: 1 for t in TIERS}, **(params.get("urgency_weight") or {})}
    tw = params.get("travel_weight_per_km", 10)
    fw = params.get("fairness_weight", 5)
    cb = params.get("continuity_bonus", 30)
    sb = params.get("same_community_bonus", 10)

    requests = {r["id"]: r for r in prob["requests"]}
    responders = {r["id"]: r for r in prob["responders"]}
    matrix = {(t["responder"], t["request"]): t["metres"] for t in prob.get("travel") or []}

    def value(r: dict) -> int:
        return 1000 + sum(tag_weight.get(t, 0) for t in set(r.get("resident_tags") or []))

    tier_total = {t: 0 for t in TIERS}
    for r in requests.values():
        tier_total[r.get("urgency", "normal")] += value(r)
    mult = {"normal": floors["normal"]}
    mult["urgent"] = max(floors["urgent"], mult["normal"] * tier_total["normal"] // 1000 + 1)
    mult["emergency"] = max(
        floors["emergency"],
        (mult["normal"] * tier_total["normal"] + mult["urgent"] * tier_total["urgent"]) // 1000 + 1,
    )

    served = 0
    metres = 0.0
    bonus = 0
    tasks: dict[str, int] = defaultdict(int)
    for a in pl.get("assignments", []):
        r = requests[a["request_id"]]
        served += mult[r.get("urgency", "normal")] * value(r)
        ids = a["responder_ids"]
        if r.get("previous_responder") is not None and r["previous_responder"] in ids:
            bonus += cb
        for rid in ids:
            j = responders[rid]
            given = matrix.get((rid, r["id"]))
            metres += (
                given if given is not None else round(haversine_m(j["location"], r["location"]))
            )
            tasks[rid] += 1
            if r.get("community_id") is not None and r["community_id"] in (
                j.get("community_ids") or []
            ):
                bonus += sb
    fairness = fw * sum(
        t * (t - 1) / 2 for rid, t in tasks.items() if responders[rid]["kind"] == "volunteer"
    )
    secondary = tw * metres / 1000 + fairness - bonus

    rmax = max((j.get("radius_m") or 0 for j in responders.values()), default=0)
    n = sum(_members_needed(r) for r in requests.values())

    def reach(r: dict) -> float:
        own = r.get("max_distance_m")
        return rmax if own is None else min(rmax, own)

    b = (
        sum(_members_needed(r) * (tw * reach(r) / 1000 + sb) for r in requests.values())
        + cb * len(requests)
        + fw * n * (n - 1) / 2
    )
    return served - secondary / (math.floor(b) + 1)
