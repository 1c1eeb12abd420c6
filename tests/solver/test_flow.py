"""The exact flow for the count variant and its nearest-responder certificate."""

import random

from conftest import problem, req, resp

from solver import solve
from solver.candidates import build_candidates
from solver.certify import solve_nearest
from solver.flow import is_count_variant, solve_flow
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
    rng = random.Random(5)
    p = problem([req(f"r{i}", rng.uniform(0, 20_000)) for i in range(200)],
                [resp(f"v{j}", j * 200, radius_m=3000, max_tasks=10) for j in range(100)],
                params={"fairness_weight": 0, "continuity_bonus": 0,
                        "same_community_bonus": 0})
    ix = build_index(p)
    result = solve_nearest(ix)
    assert result is not None
    cand, res = result
    assert res.optimal and len(cand.p_unit) < len(build_candidates(ix).p_unit)
    plan = solve(p, time_limit=10)
    full = solve_flow(ix, build_candidates(ix))
    assert plan.status == "optimal" and res.served_bound == full.served_bound
    from solver.assemble import to_assignments
    from solver.engine import flow_choices
    from solver.objective import objective

    mine = objective(p, to_assignments(ix, cand, flow_choices(cand, res.chosen)))
    full_cand = build_candidates(ix)
    theirs = objective(p, to_assignments(ix, full_cand, flow_choices(full_cand, full.chosen)))
    assert abs(mine - theirs) < 1e-9


def test_certificate_never_accepts_a_pruned_plan_that_is_worse():
    """When the nearest responders are all full, pruning must not cost served requests."""
    reqs = [req(f"r{i}", 0) for i in range(30)]
    near = [resp(f"n{j}", j * 10, max_tasks=1) for j in range(16)]
    far = [resp(f"f{j}", 1000 + j * 10, max_tasks=5) for j in range(20)]
    p = problem(reqs, near + far, params={"fairness_weight": 0, "continuity_bonus": 0,
                                           "same_community_bonus": 0})
    result = solve_nearest(build_index(p))
    if result is not None:
        assert int((result[1].chosen >= 0).sum()) == 30
    plan = solve(p)
    assert plan.status == "optimal" and len(plan.assignments) == 30
