"""solve() reaches the exhaustive optimum on small instances, and its plans pass check().

The enumeration knows nothing of the solver: each request is left out or given to every
staffing (responder set, fund) that the independent checker accepts on its own; timed
requests get starts from an exact left-justified schedule search; every complete plan is
confirmed by check() before its objective counts.
"""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from solver.check import check, objective
from tests.solver.instances import (
    assignment,
    base_plan,
    base_problem,
    plan,
    random_problem,
    request,
    responder,
)
from tests.solver.instances import problem as make_problem

TIMING_CODES = {"window", "shift", "overlap"}


def staffings(prob: dict, req: dict) -> list[tuple[tuple[str, ...], str | None]]:
    """(members, fund) pairs the checker accepts for this request alone, timing aside."""
    fixed = {f["request_id"]: f for f in prob.get("fixed") or []}
    if req["id"] in fixed:
        f = fixed[req["id"]]
        funds = [f["fund_id"]]
        if f["fund_id"] is None and req["cost"]:
            funds = [x["id"] for x in prob["funds"]]
        return [(tuple(f["responder_ids"]), fund) for fund in funds]
    ids = [j["id"] for j in prob["responders"]]
    if req.get("team"):
        size = sum(s["count"] for s in req["team"])
        groups = itertools.combinations(ids, size)
    else:
        groups = ((j,) for j in ids)
    funds = [f["id"] for f in prob.get("funds") or []] if req.get("cost", 0) > 0 else [None]
    out = []
    others = [(r["id"], "outranked") for r in prob["requests"] if r["id"] != req["id"]]
    for group in groups:
        for fund in funds:
            a = assignment(prob, req["id"], list(group), fund_id=fund)
            if req.get("window"):
                a["start"] = req["window"][0]
            codes = {v.code for v in check(prob, plan([a], others))} - TIMING_CODES - {"fixed"}
            if not codes:
                out.append((group, fund))
    return out


def schedule(prob: dict, timed: list[dict]) -> dict[str, int] | None:
    """Starts making the timed assignments fit shifts without overlap, or None.

    Exact: any feasible schedule, sorted by start, is dominated by placing the same sequence
    each as early as possible, so trying every sequence with earliest placement decides it.
    """
    responders = {j["id"]: j for j in prob["responders"]}
    requests = {r["id"]: r for r in prob["requests"]}
    dead: set[tuple] = set()

    def earliest(a: dict, free: dict[str, int]) -> int | None:
        r = requests[a["request_id"]]
        lo, hi = r["window"]
        travel = dict(zip(a["responder_ids"], a["travel_minutes"], strict=True))
        first = max([lo] + [free.get(m, -(10**9)) + t for m, t in travel.items()])
        for s in range(first, hi + 1):
            end = s + r["duration"]
            if all(
                responders[m]["shifts"] is None
                or any(b <= s - t and end + t <= e for b, e in responders[m]["shifts"])
                for m, t in travel.items()
            ):
                return s
        return None

    def place(left: frozenset[int], free: dict[str, int], starts: dict[str, int]):
        if not left:
            return starts
        key = (left, tuple(sorted(free.items())))
        if key in dead:
            return None
        for i in left:
            a = timed[i]
            s = earliest(a, free)
            if s is None:
                continue
            d = requests[a["request_id"]]["duration"]
            members = zip(a["responder_ids"], a["travel_minutes"], strict=True)
            ends = {m: s + d + t for m, t in members}
            got = place(left - {i}, {**free, **ends}, {**starts, a["request_id"]: s})
            if got is not None:
                return got
        dead.add(key)
        return None

    fixed_starts = {f["request_id"]: f["start"] for f in prob.get("fixed") or []}
    result = place(frozenset(range(len(timed))), {}, {})
    if result is not None and any(
        fixed_starts.get(rq) is not None and fixed_starts[rq] != s for rq, s in result.items()
    ):
        return None  # keep instances with fixed timed work out of the brute force
    return result


def brute_force(prob: dict) -> tuple[float, dict]:
    """The best objective over every feasible plan, and one plan achieving it."""
    reqs = prob["requests"]
    choices = [[None] + staffings(prob, r) for r in reqs]
    fixed_ids = {f["request_id"] for f in prob.get("fixed") or []}
    for r, c in zip(reqs, choices, strict=True):
        if r["id"] in fixed_ids:
            c.remove(None)
    best: tuple[float, dict | None] = (float("-inf"), None)
    for combo in itertools.product(*choices):
        tasks = Counter(m for c in combo if c for m in c[0])
        if any(
            j["max_tasks"] is not None and tasks[j["id"]] > j["max_tasks"]
            for j in prob["responders"]
        ):
            continue
        assigned, unassigned = [], []
        for r, c in zip(reqs, combo, strict=True):
            if c is None:
                unassigned.append((r["id"], "outranked"))
            else:
                assigned.append(
                    assignment(prob, r["id"], list(c[0]), fund_id=c[1], fixed=r["id"] in fixed_ids)
                )
        timed = [a for a, r in zip(assigned, [x for x, c in zip(reqs, combo, strict=True) if c],
                                   strict=True) if r.get("window")]
        starts = schedule(prob, timed)
        if starts is None:
            continue
        for a in timed:
            a["start"] = starts[a["request_id"]]
        candidate = plan(assigned, unassigned)
        if check(prob, candidate):
            continue
        value = objective(prob, candidate)
        if value > best[0]:
            best = (value, candidate)
    return best


def contested_problem() -> dict:
    """Three responders, five requests that compete for the same volunteer and fund."""
    reqs = [
        request("a", window=[500, 500], duration=30, urgency="urgent"),
        request("b", window=[510, 520], duration=30, resident_tags=["elderly", "lives_alone"]),
        request("c", window=[540, 560], duration=30, cost=2000, resident_tags=["low_income"]),
        request("d", cost=2000, resident_tags=["low_income"], quantity=3),
        request("e", team=[{"role": "volunteer", "count": 1, "qualifications": [],
                            "min_licence": "none"},
                           {"role": "social_worker", "count": 1, "qualifications": [],
                            "min_licence": "assistant"}], window=[600, 620], duration=20),
    ]
    resp = [responder("v1", max_tasks=2, load_capacity=3),
            responder("v2", shifts=[[540, 700]], max_minutes=60),
            responder("s1", "social_worker", licence="assistant", max_tasks=1)]
    funds = [{"id": "f", "balance": 3000, "categories": None, "community_ids": None,
              "resident_tags": ["low_income"]}]
    return make_problem(reqs, resp, funds)


def matrix_problem() -> dict:
    """The contested problem with a travel matrix making v1 slow to reach b and c."""
    prob = contested_problem()
    prob["travel"] = [{"responder": "v1", "request": "b", "minutes": 25, "metres": 4000},
                      {"responder": "v1", "request": "c", "minutes": 5, "metres": 900}]
    return prob


def cases() -> list[tuple[str, dict]]:
    out = [("contested", contested_problem()), ("matrix", matrix_problem()),
           ("hand_made_with_fixed", base_problem())]
    out += [(f"random{s}", random_problem(s, 5 + s % 2, 3 + s % 2)) for s in range(24)]
    return out


@pytest.mark.parametrize("name,prob", cases(), ids=[n for n, _ in cases()])
def test_solve_matches_brute_force(name: str, prob: dict):
    """solve() returns a feasible plan whose objective equals the exhaustive optimum."""
    import solver
    from solver.problem import Problem

    best, _ = brute_force(prob)
    result = solver.solve(Problem.from_dict(prob), time_limit=10.0, seed=0)
    assert check(prob, result) == []
    assert objective(prob, result) == pytest.approx(best, rel=1e-6)


def test_brute_force_finds_the_hand_plan_or_better():
    """The enumeration is at least as good as the hand-made valid plan of the checker tests."""
    prob = base_problem()
    best, found = brute_force(prob)
    assert check(prob, found) == [] and best >= objective(prob, base_plan(prob))


@pytest.mark.parametrize("seed", range(8))
def test_min_cost_flow_reference_is_exact(seed: int):
    """The benchmark's all-pairs min-cost flow reaches the exhaustive optimum (count variant)."""
    from bench.references import min_cost_flow_reference

    prob = random_problem(100 + seed, 6, 4, teams=False, funds=False, timed=False)
    for j in prob["responders"]:  # the count variant caps tasks only; odd seeds bind them
        j["max_minutes"] = j["load_capacity"] = None
        j["max_tasks"] = 1 if seed % 2 else j["max_tasks"]
    best, _ = brute_force(prob)
    reference, _ = min_cost_flow_reference(prob)
    assert check(prob, reference) == []
    assert objective(prob, reference) == pytest.approx(best, rel=1e-9)
