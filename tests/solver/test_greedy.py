"""The greedy pass: heaviest first, every hard constraint respected (checked independently)."""

import random

from conftest import problem, req, resp

from solver.assemble import build_plan
from solver.candidates import build_candidates, sort_pairs
from solver.check import check
from solver.greedy import solve_greedy
from solver.index import build_index
from solver.loads import Loads


def _greedy_plan(p):
    ix = build_index(p)
    cand = sort_pairs(build_candidates(ix))
    choices = solve_greedy(ix, cand)
    return build_plan(ix, cand, choices, status="feasible", method="greedy", started=0.0,
                      served_bound=None, optimal=False)


def test_greedy_plans_pass_the_independent_checker():
    """Greedy plans on random timed, capped, funded instances have no violations."""
    for seed in range(5):
        rng = random.Random(seed)
        reqs = [req(f"r{i}", rng.uniform(0, 3000), window=[a := rng.randint(480, 800), a + 45],
                    duration=rng.randint(5, 40), quantity=rng.randint(0, 3),
                    cost=rng.choice([0, 0, 900]),
                    team=rng.choice([None] * 5 + [[{"role": "volunteer", "count": 2}]]))
                for i in range(30)]
        resps = [resp(f"v{j}", rng.uniform(0, 3000), shifts=[[480, 900]], max_tasks=3,
                      max_minutes=150, load_capacity=5) for j in range(8)]
        p = problem(reqs, resps, funds=[{"id": "f1", "balance": 3000}])
        assert check(p.to_dict(), _greedy_plan(p).to_dict()) == []


def test_greedy_serves_heaviest_first():
    """With one slot left the urgent request gets it."""
    plan = _greedy_plan(problem([req("n", 0), req("u", 500, urgency="urgent")],
                                [resp("v1", max_tasks=1)]))
    assert [a.request_id for a in plan.assignments] == ["u"]


def test_loads_find_the_gap_between_busy_visits():
    """Start ranges skip busy round trips and respect the shift end."""
    p = problem([], [resp("v1", shifts=[[480, 600]])])
    loads = Loads(build_index(p))
    loads.commit(0, 500, 5, 20, 0)  # busy [495, 525)
    # a 10-minute visit 5 minutes away occupies [s - 5, s + 15): free from s = 530 on
    assert loads.starts(0, 5, 10, (480, 600)) == [(530, 585)]
    assert loads.starts(0, 5, 10, (400, 600)) == [(530, 585)]
    loads.release(0, 500, 5, 20, 0)
    assert loads.starts(0, 5, 10, (480, 600)) == [(485, 585)]


def test_loads_never_write_the_index_busy_lists():
    """Loads share the index's busy lists until a responder's is written: a commit copies
    it first, so the index and a second Loads still see the responder free."""
    ix = build_index(problem([req("r", 0, window=[600, 700])], [resp("v", 0)]))
    first = Loads(ix)
    first.commit(0, 600, 5, 10, 0)
    assert first.busy[0] == [(595, 615)]
    assert ix.j_busy[0] == [] and Loads(ix).busy[0] == []
    first.release(0, 600, 5, 10, 0)
    assert first.busy[0] == [] and ix.j_busy[0] == []
