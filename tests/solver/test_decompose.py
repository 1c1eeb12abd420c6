"""Parts: requests sharing no responder and no fund are solved apart, also in parallel."""

from conftest import problem, req, resp

from solver import decompose, solve
from solver.candidates import build_candidates
from solver.index import build_index


def _two_towns(cost=0):
    far = 60_000
    reqs = [req(f"a{i}", i * 100, window=[480, 700], cost=cost) for i in range(3)]
    reqs += [req(f"b{i}", far + i * 100, window=[480, 700], cost=cost) for i in range(3)]
    resps = [resp("va", 0, max_tasks=2), resp("vb", far, max_tasks=2)]
    return problem(reqs, resps, funds=[{"id": "f1", "balance": 100_000}])


def test_far_apart_towns_are_two_parts():
    """Requests with disjoint responders form separate parts."""
    ix = build_index(_two_towns())
    assert len(decompose.parts(ix, build_candidates(ix))) == 2


def test_a_shared_fund_joins_parts():
    """Paid requests that may draw on one fund are solved together."""
    ix = build_index(_two_towns(cost=500))
    assert len(decompose.parts(ix, build_candidates(ix))) == 1


def test_parallel_parts_give_the_sequential_plan(monkeypatch):
    """Solving parts in worker processes returns the same plan as one by one."""
    p = _two_towns()
    sequential = solve(p, time_limit=5)
    monkeypatch.setattr(decompose, "PARALLEL_MIN_PAIRS", 1)
    parallel = solve(p, time_limit=5)
    assert parallel.assignments == sequential.assignments
    assert len(parallel.assignments) == 4
