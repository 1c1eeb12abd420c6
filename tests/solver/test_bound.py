"""The served-weight bound holds for every plan and is tight when nothing couples requests."""

import random

from conftest import problem, req, resp

from solver import solve
from solver.bound import served_upper_bound
from solver.candidates import build_candidates, sort_pairs
from solver.index import build_index


def test_bound_is_never_below_the_optimum():
    """The flow relaxation bounds the served weight of CP-SAT's optimal plans."""
    for seed in range(4):
        rng = random.Random(seed)
        reqs = [req(f"r{i}", rng.uniform(0, 2000), window=[a := rng.randint(480, 560), a + 20],
                    duration=30, urgency=rng.choice(["normal", "urgent"])) for i in range(12)]
        p = problem(reqs, [resp(f"v{j}", rng.uniform(0, 2000)) for j in range(3)])
        ix = build_index(p)
        bound = served_upper_bound(ix, sort_pairs(build_candidates(ix)))
        plan = solve(p, time_limit=5)
        weight = dict(zip([r.id for r in p.requests], ix.r_weight, strict=True))
        assert bound >= sum(weight[a.request_id] for a in plan.assignments)
        assert plan.bound >= plan.objective


def test_bound_counts_team_requests_with_enough_candidates():
    """A team request whose slots all have candidates counts in full."""
    team = [{"role": "volunteer", "count": 2}]
    p = problem([req("t", team=team)], [resp("v1"), resp("v2")])
    ix = build_index(p)
    assert served_upper_bound(ix, sort_pairs(build_candidates(ix))) == ix.r_weight[0]
