"""The exact flow for the count variant and its nearest-responder certificate."""

import random

from conftest import problem, req, resp

from solver import solve
from solver.candidates import build_candidates
from solver.certify import solve_nearest
from solver.flow import is_count_variant
from solver.index import build_index


def _count_instance(seed=0, n_req=60, n_resp=15, **params):
    rng = random.Random(seed)
    reqs = [req(f"r{i}", rng.uniform(0, 4000), urgency=rng.choice(["normal", "urgent"]),
                resident_tags=rng.sample(["elderly", "child", "disabled"], rng.randint(0, 2)))
            for i in range(n_req)]
    resps = [resp(f"v{j}", rng.uniform(0, 4000), radius_m=rng.choice([1500, 3000]),
                  max_tasks=rng.randint(1, 4)) for j in range(n_resp)]
    return problem(reqs, resps, params=params)


def test_flow_matches_cpsat_on_the_same_instance():
    """CP-SAT, forced by a harmless window, serves the same weight and never beats the flow."""
    p = _count_instance()
    flow_plan = solve(p, time_limit=10)
    data = p.to_dict()
    for r in data["requests"]:
        r["window"] = [0, 10_000]
    cp_plan = solve(problem(data["requests"], data["responders"]), time_limit=3)
    assert flow_plan.method == "flow" and flow_plan.status == "optimal"
    assert cp_plan.method == "cpsat"
    assert cp_plan.objective <= flow_plan.objective + 1e-6
    assert int(cp_plan.objective) == int(flow_plan.objective)  # same served weight P


def test_binding_minute_cap_is_not_the_count_variant():
    """A minute cap that can bind sends the problem to CP-SAT, not the flow."""
    p = problem([req("a", 1000, duration=30), req("b", 1000, duration=30)],
                [resp("v1", max_minutes=50)])
    ix = build_index(p)
    assert not is_count_variant(ix, build_candidates(ix))
    assert len(solve(p).assignments) == 1


def test_nearest_responders_certified_equal_full_flow():
    """With light fairness and bonuses the nearest-responder flow matches the all-pairs one."""
    p = _count_instance(seed=2, n_req=300, n_resp=120, fairness_weight=0,
                        continuity_bonus=0, same_community_bonus=0)
    ix = build_index(p)
    result = solve_nearest(ix)
    full = solve(p, time_limit=10)
    assert full.status == "optimal"
    if result is not None:
        cand, res = result
        assert res.optimal
        served = {ix.problem.requests[int(cand.u_req[u])].id
                  for u, q in enumerate(res.chosen) if q >= 0}
        assert len(served) == len(full.assignments)
