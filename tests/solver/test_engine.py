"""solve(): method choice, determinism, timeouts, the greedy floor and library purity."""

import ast
import gc
import random
from pathlib import Path

from conftest import problem, req, resp

from solver import solve
from solver.candidates import build_candidates, sort_pairs
from solver.greedy import solve_greedy
from solver.index import build_index


def _timed_instance(n_req=40, n_resp=12, seed=1):
    rng = random.Random(seed)
    reqs = [req(f"r{i}", rng.uniform(0, 3000), window=[a := rng.randint(480, 900), a + 60],
                duration=rng.randint(10, 40), urgency=rng.choice(["normal", "urgent"]),
                cost=rng.choice([0, 0, 1500]))
            for i in range(n_req)]
    resps = [resp(f"v{j}", rng.uniform(0, 3000), shifts=[[480, 1000]], max_tasks=4)
             for j in range(n_resp)]
    return problem(reqs, resps, funds=[{"id": "f1", "balance": 6000}])


def test_count_variant_is_solved_exactly_by_flow():
    """Untimed single-responder work with count caps is proven optimal by the flow."""
    plan = solve(problem([req("a", 100), req("b", 200), req("c", 300)],
                         [resp("v1", max_tasks=2), resp("v2", 2000, max_tasks=1)]))
    assert plan.method == "flow" and plan.status == "optimal" and plan.bound == plan.objective


def test_same_seed_same_plan():
    """Two runs with the same seed return the same assignments."""
    p = _timed_instance()
    a, b = solve(p, time_limit=5, seed=3), solve(p, time_limit=5, seed=3)
    assert a.assignments == b.assignments and a.unassigned == b.unassigned


def test_tiny_time_limit_still_returns_a_feasible_plan():
    """A timeout never raises; the plan is there with its bound and gap."""
    plan = solve(_timed_instance(200, 30), time_limit=0.01)
    assert plan.status in ("optimal", "feasible") and plan.bound >= plan.objective - 1e-6
    assert len(plan.assignments) + len(plan.unassigned) == 200


def test_served_never_below_greedy():
    """The plan serves at least the weight of the greedy nearest-available pass."""
    p = _timed_instance(80, 15, seed=7)
    ix = build_index(p)
    cand = sort_pairs(build_candidates(ix))
    greedy = solve_greedy(ix, cand)
    plan = solve(p, time_limit=2)
    weight = dict(zip([r.id for r in p.requests], ix.r_weight, strict=True))
    assert sum(weight[a.request_id] for a in plan.assignments) >= sum(
        ix.r_weight[ri] for ri in greedy)


def test_independent_parts_are_solved_separately():
    """Two far-apart groups are solved as parts and both served."""
    far = 50_000
    plan = solve(problem([req("a", 0, window=[480, 600]), req("b", far, window=[480, 600])],
                         [resp("v1", 100), resp("v2", far + 100)]))
    assert {a.request_id for a in plan.assignments} == {"a", "b"}


def test_solver_is_a_pure_library():
    """No solver module imports service, FastAPI, SQLAlchemy or pydantic."""
    banned = {"service", "fastapi", "sqlalchemy", "pydantic", "starlette"}
    root = Path(__file__).resolve().parents[2] / "solver"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not {n.split(".")[0] for n in names} & banned, path.name


def test_team_with_an_unfillable_slot_stays_whole_across_parts():
    """A team whose second slot has no candidate is unserved, also when parts are split."""
    team = [{"role": "social_worker", "count": 1}, {"role": "organization", "count": 1}]
    plan = solve(problem([req("t", 0, team=team, window=[480, 600]),
                          req("far", 50_000, window=[480, 600])],
                         [resp("sw", 100, kind="social_worker"), resp("v", 50_100)]))
    assert {a.request_id for a in plan.assignments} == {"far"}


def test_pairs_beyond_memory_keep_each_request_s_nearest_and_widen(monkeypatch):
    """When the pairs in reach are too many to hold, each request keeps its nearest
    responders; those left out because the nearest filled up then get every responder with
    room in their reach, so a crowd by one responder is still served by the others. The
    widening is skipped when its estimate does not fit the budget."""
    import solver.engine as engine
    import solver.nearest as nearest
    from solver.check import check

    reqs = [req(f"r{i}", 10 * i, window=[480, 720]) for i in range(6)]
    resps = [resp("near", 0, max_tasks=1, shifts=[[480, 1000]])]
    resps += [resp(f"far{j}", 1500 + 300 * j, max_tasks=1, shifts=[[480, 1000]])
              for j in range(5)]
    p = problem(reqs, resps)
    monkeypatch.setattr(engine, "ALL_PAIRS_MAX", 0)
    monkeypatch.setattr(nearest, "NEAREST_K", 1)
    monkeypatch.setattr(nearest, "TREES_S", 1e3)  # no widening fits a 5 s budget
    assert len(solve(p, time_limit=5).assignments) == 1  # the nearest only: one served
    monkeypatch.setattr(nearest, "TREES_S", 0.0)
    plan = solve(p, time_limit=5)
    assert len(plan.assignments) == 6
    assert check(p.to_dict(), plan.to_dict()) == []


def test_solve_pauses_the_collector_on_what_exists_and_gives_it_back():
    """While a plan is solved the objects alive before it are frozen out of the cyclic
    collector's passes (at 100,000 requests each full pass cost 0.1-0.4 s); afterwards
    they are back, also when the caller had frozen nothing."""
    seen = []
    p = problem([req("r", 0)], [resp("a", 0)])
    assert gc.get_freeze_count() == 0
    solve(p, time_limit=5, on_progress=lambda _: seen.append(gc.get_freeze_count()))
    assert seen and min(seen) > 0
    assert gc.get_freeze_count() == 0
