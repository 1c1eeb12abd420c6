"""Column generation for the count variant: a few pairs per request, optimal for all pairs."""

import itertools
import random

import numpy as np
import pytest
from conftest import problem, req, resp

from bench.instances import generate
from solver import Problem, solve
from solver.candidates import build_candidates
from solver.certify import at_fault, full_costing, prices, solve_nearest
from solver.check import check
from solver.check import objective as check_objective
from solver.flow import potentials, solve_flow
from solver.index import build_index

CATS = ["medicine_delivery", "meal_delivery", "elder_care_visit"]


def _tight_city(seed: int, n_req: int = 120, n_resp: int = 30) -> Problem:
    """Clustered requests, too few task slots, mixed radii, categories, qualifications,
    own distance limits, communities, previous responders and a road-distance entry."""
    rng = random.Random(seed)
    reqs = []
    for i in range(n_req):
        cat = rng.choice(CATS)
        reqs.append(req(
            f"r{i}", rng.gauss(3000 * (i % 3), 900), category=cat,
            urgency=rng.choice(["normal"] * 6 + ["urgent", "emergency"]),
            resident_tags=rng.sample(["elderly", "child", "disabled"], rng.randint(0, 2)),
            qualifications=["elder_care"] if cat == "elder_care_visit" else [],
            community_id=rng.choice(["c1", "c2", None]),
            max_distance_m=rng.choice([None, None, 2500]),
            previous_responder=f"v{rng.randrange(n_resp)}" if rng.random() < 0.2 else None))
    resps = [resp(f"v{j}", rng.uniform(-2000, 8000), radius_m=rng.choice([1500, 3000, 7000]),
                  max_tasks=rng.randint(1, 4),
                  kind=rng.choice(["volunteer", "volunteer", "social_worker", "organization"]),
                  qualifications=rng.sample(["elder_care", "escort"], rng.randint(0, 2)),
                  categories=rng.choice([None, None, CATS[:2], CATS[2:]]),
                  community_ids=[rng.choice(["c1", "c2"])]) for j in range(n_resp)]
    travel = [{"responder": "v0", "request": "r0", "minutes": 9, "metres": 2100}]
    return problem(reqs, resps, travel=travel)


def _objective(p: Problem, plan) -> float:
    return check_objective(p.to_dict(), plan.to_dict())


def _full_flow_objective(p: Problem) -> tuple[float, int]:
    """(objective, served weight) of one flow over every pair, priced like the pruned one."""
    from solver.assemble import to_assignments
    from solver.engine import flow_choices
    from solver.objective import objective

    ix = build_index(p)
    cand = build_candidates(ix)
    res = solve_flow(ix, cand, costing=full_costing(ix))
    return objective(p, to_assignments(ix, cand, flow_choices(cand, res.chosen))), \
        res.served_bound


def test_pruned_flow_equals_full_flow_on_tight_cities():
    """On capacity-starved random cities the certified plan has the all-pairs optimum's
    objective, is feasible, and used fewer pairs."""
    for seed in range(8):
        p = _tight_city(seed)
        ix = build_index(p)
        cand, res = solve_nearest(ix)
        assert res.optimal
        plan = solve(p, time_limit=10)
        assert plan.status == "optimal" and plan.method == "flow"
        assert check(p.to_dict(), plan.to_dict()) == []
        full_obj, full_served = _full_flow_objective(p)
        assert res.served_bound == full_served
        assert abs(_objective(p, plan) - full_obj) < 1e-9, seed


def test_first_round_alone_is_not_optimal_and_pricing_sees_it():
    """With the nearest few responders only, the flow serves less than it could; pricing
    finds pairs with negative reduced cost (the certificate is what makes it exact)."""
    reqs = [req(f"r{i}", 0) for i in range(30)]
    near = [resp(f"n{j}", j * 10, max_tasks=1) for j in range(16)]
    far = [resp(f"f{j}", 1000 + j * 10, max_tasks=5) for j in range(20)]
    p = problem(reqs, near + far)
    ix = build_index(p)
    costing = full_costing(ix)
    cand = build_candidates(ix, knn=4)
    res = solve_flow(ix, cand, keep_arcs=True, costing=costing)
    assert int((res.chosen >= 0).sum()) < 30
    q, pr = prices(ix, cand, res, potentials(res.nodes, res.arcs), costing[0])
    new, n_requests = at_fault(ix, cand, q, pr, costing[0])
    assert new is not None and n_requests > 0
    assert int((solve_nearest(ix)[1].chosen >= 0).sum()) == 30


def test_far_idle_responder_is_found_for_an_unserved_request():
    """An unserved request whose only free responder is far beyond its nearest ones gets it."""
    reqs = [req(f"r{i}", i) for i in range(10)]
    near = [resp(f"n{j}", 100 + j, max_tasks=1) for j in range(9)]
    far = [resp("far", 4500, radius_m=5000, max_tasks=1)]
    plan = solve(problem(reqs, near + far), time_limit=10)
    assert plan.status == "optimal" and len(plan.assignments) == 10


def test_unserved_request_explained_with_its_pairs():
    """A request left out because its responders went to heavier work is 'outranked', even
    when none of its pairs was needed by the flow."""
    reqs = [req(f"e{i}", 0, urgency="emergency") for i in range(20)] + [req("n", 0)]
    resps = [resp(f"v{j}", 10 * j, max_tasks=1) for j in range(20)]
    plan = solve(problem(reqs, resps), time_limit=10)
    assert plan.status == "optimal"
    assert {u.request_id: u.reason for u in plan.unassigned} == {"n": "outranked"}


def test_bench_city_small_matches_full_flow():
    """The bench's city-like count instance (1,000 x 200): same objective as all pairs."""
    d = generate(1000, 200, "count", 0)
    p = Problem.from_dict(d)
    plan = solve(p, time_limit=10)
    assert plan.status == "optimal"
    assert check(d, plan.to_dict()) == []
    full_obj, _ = _full_flow_objective(p)
    assert abs(_objective(p, plan) - full_obj) < 1e-6
    ix = build_index(p)
    cand, _ = solve_nearest(ix)
    assert len(cand.p_unit) < 0.7 * len(build_candidates(ix).p_unit)
    assert np.all(cand.p_metres >= 0)


def test_reoptimise_in_place_matches_a_fresh_solve():
    """Adding pairs to a solved flow and re-optimising in place gives a fresh solve's cost,
    with potentials that leave no residual arc negative."""
    from solver.candidates import join_candidates as _join
    from solver.flow import network_nodes, reoptimise

    repaired = 0
    for seed in range(6):
        p = _tight_city(seed)
        ix = build_index(p)
        costing = full_costing(ix)
        full = build_candidates(ix)
        rng = np.random.default_rng(seed)
        later = rng.random(len(full.p_unit)) < 0.1
        base = full.take(np.flatnonzero(~later))
        extra = full.take(np.flatnonzero(later))
        res = solve_flow(ix, base, keep_arcs=True, costing=costing)
        fixed = reoptimise(ix, base, res, potentials(res.nodes, res.arcs), extra)
        if network_nodes(ix, base, extra) is None:  # a pair needs what the network lacks
            assert fixed is None
            continue
        # otherwise the repair proves its result: the arcs it left out could not matter
        assert fixed is not None
        new_res, d = fixed
        repaired += 1
        tails, heads, caps, costs, flows = new_res.arcs
        fresh = solve_flow(ix, _join(base, extra), keep_arcs=True, costing=costing)
        assert int((costs * flows).sum()) == int((fresh.arcs[3] * fresh.arcs[4]).sum())
        fwd, back = flows < caps, flows > 0
        assert np.all(costs[fwd] + d[tails[fwd]] - d[heads[fwd]] >= 0)
        assert np.all(-costs[back] + d[heads[back]] - d[tails[back]] >= 0)
        assert new_res.served_bound == fresh.served_bound
    assert repaired >= 3


def test_two_repairs_in_a_row_keep_every_cap():
    """Pairs added in two batches, each worked in place: the plan read from the second
    repair respects task caps (checker) and costs what a fresh solve on all of them costs."""
    from solver.assemble import to_assignments
    from solver.candidates import join_candidates as _join
    from solver.engine import flow_choices
    from solver.flow import reoptimise
    from solver.plan import Plan

    done = 0
    for seed in range(6):
        p = _tight_city(seed)
        ix = build_index(p)
        costing = full_costing(ix)
        full = build_candidates(ix)
        batch = np.random.default_rng(seed).integers(0, 5, len(full.p_unit))
        cand = full.take(np.flatnonzero(batch >= 2))
        res = solve_flow(ix, cand, keep_arcs=True, costing=costing)
        d = potentials(res.nodes, res.arcs)
        for b in (1, 0):
            extra = full.take(np.flatnonzero(batch == b))
            fixed = reoptimise(ix, cand, res, d, extra)
            cand = _join(cand, extra)
            if fixed is None:
                res = solve_flow(ix, cand, keep_arcs=True, costing=costing)
                d = potentials(res.nodes, res.arcs)
            else:
                res, d = fixed
                done += 1
        fresh = solve_flow(ix, cand, keep_arcs=True, costing=costing)
        tails, heads, caps, costs, flows = res.arcs
        assert int((costs * flows).sum()) == int((fresh.arcs[3] * fresh.arcs[4]).sum())
        assignments = to_assignments(ix, cand, flow_choices(cand, res.chosen))
        plan = Plan("feasible", "flow", 0.0, 0.0, 0.0, 0.0, tuple(assignments), ())
        d_plan = plan.to_dict()
        d_plan["unassigned"] = [{"request_id": r.id, "reason": "outranked", "message": "",
                                 "remedy": ""} for r in p.requests
                                if r.id not in {a.request_id for a in assignments}]
        assert check(p.to_dict(), d_plan) == []
    assert done >= 4  # the second repair ran on most seeds


def _rounds_city() -> Problem:
    """Sixty requests in one spot whose twenty nearest responders take one each: the first
    round's pairs reach the forty far ones from a few requests only, so it serves fewer
    than all, and pricing finds the rest."""
    reqs = [req(f"r{i}", 0, urgency="urgent" if i % 5 == 0 else "normal") for i in range(60)]
    near = [resp(f"n{j}", j * 10, max_tasks=1) for j in range(20)]
    far = [resp(f"f{j}", 1000 + j * 10, max_tasks=1) for j in range(40)]
    return problem(reqs, near + far)


def test_served_ceiling_bounds_the_all_pairs_optimum():
    """The bound a stopped count solve reports holds: it is never below what the flow over
    every pair serves."""
    from solver.certify import served_ceiling

    for seed in range(6):
        p = _tight_city(seed)
        ix = build_index(p)
        _, full_served = _full_flow_objective(p)
        cand = build_candidates(ix, knn=4)
        assert served_ceiling(ix, cand) >= full_served, seed


def test_count_solve_keeps_to_a_short_time_limit():
    """A time limit too short for any flow gives the greedy plan on the nearest pairs,
    feasible, with a bound no lower than the optimum; a long one gives the optimum."""
    d = generate(3000, 600, "count", 0)
    p = Problem.from_dict(d)
    short = solve(p, time_limit=0.01)
    assert (short.method, short.status) == ("greedy", "feasible")
    assert check(d, short.to_dict()) == []
    best = solve(p, time_limit=60)
    assert best.status == "optimal"
    assert short.objective <= best.objective <= short.bound


def test_count_solve_stopped_after_a_round_keeps_that_rounds_flow():
    """A stop set while pricing is still finding pairs ends the rounds: the last restricted
    flow comes back as a valid, not proven, plan with a bound above the optimum."""
    import threading

    from solver.certify import Budget

    p = _rounds_city()
    ix = build_index(p)
    stop = threading.Event()
    rounds = []
    cand, res = solve_nearest(ix, Budget(1e9, 1.0, stop=stop),
                              on_round=lambda served, bound: (rounds.append(served),
                                                              stop.set()))
    assert len(rounds) == 1 and res.method == "flow" and not res.optimal
    assert int((res.chosen >= 0).sum()) < 60
    _, full_served = _full_flow_objective(p)
    assert rounds[0] < full_served <= res.served_bound
    plan = solve(p, time_limit=60, stop=stop)
    assert plan.status == "feasible" and check(p.to_dict(), plan.to_dict()) == []
    assert plan.objective <= solve(p, time_limit=60).objective <= plan.bound


def test_count_solve_reports_its_rounds():
    """on_progress follows the count path: each round's served weight and bound, then the
    plan's figures."""
    events = []
    plan = solve(_rounds_city(), time_limit=60, on_progress=events.append)
    rounds = [e for e in events if e["phase"] == "solving" and e["bound"] is not None]
    assert rounds and all(e["best_objective"] <= e["bound"] for e in rounds)
    assert events[-1]["phase"] == "done" and events[-1]["bound"] == plan.bound
    assert plan.status == "optimal"


def test_greedy_fallback_refills_from_responders_with_room():
    """The greedy fallback on the first pairs leaves out requests whose nearest responders
    are full; refill rounds give them the nearest with room. Caps hold throughout."""
    from solver.assemble import build_plan
    from solver.certify import Budget, _greedy

    p = _rounds_city()
    ix = build_index(p)
    first = build_candidates(ix, knn=4, per_task=1)
    _, plain = _greedy(ix, first, Budget(0.0, 1.0))
    cand, refilled = _greedy(ix, first, Budget(1e9, 1.0))
    assert int((plain.chosen >= 0).sum()) < int((refilled.chosen >= 0).sum()) == 60
    assert len(cand.p_unit) > len(first.p_unit)
    from solver.engine import flow_choices

    plan = build_plan(ix, cand, flow_choices(cand, refilled.chosen), status="feasible",
                      method="greedy", started=0.0, served_bound=refilled.served_bound,
                      optimal=False)
    assert check(p.to_dict(), plan.to_dict()) == []


def test_greedy_fallback_serves_a_tier_before_the_next_starts():
    """Two urgent requests share one nearest responder; a normal request has the other as
    its nearest. Tier by tier, the second urgent request's refill finds that responder
    before the normal request's pass takes it."""
    from solver.certify import Budget, _greedy

    p = problem([req("u1", 0, urgency="urgent"), req("u2", 0, urgency="urgent"),
                 req("n", 1000)],
                [resp("a", 10, max_tasks=1), resp("b", 600, max_tasks=1)])
    ix = build_index(p)
    cand, res = _greedy(ix, build_candidates(ix, knn=1), Budget(1e9, 1.0))
    served = {p.requests[int(r)].id for r in cand.u_req[res.chosen >= 0]}
    assert served == {"u1", "u2"}


@pytest.mark.parametrize("direct", [0, 10_000], ids=["balls", "every pair in reach"])
def test_a_pass_after_a_repair_finds_what_a_full_pass_finds(monkeypatch, direct):
    """After a repair, pricing only the requests whose price rose, the responders whose
    price fell and the requests left capped finds exactly the pairs a full pass finds,
    by balls or by every pair in reach of those few."""
    import solver.certify
    from solver.candidates import join_candidates as _join
    from solver.certify import _moved
    from solver.flow import reoptimise

    monkeypatch.setattr(solver.certify, "DIRECT_REQUESTS", direct)
    monkeypatch.setattr(solver.certify, "DIRECT_RESPONDERS", direct)
    compared = narrowed = 0
    for seed, per_request in itertools.product(range(8), (2, 50)):
        p = _tight_city(seed, n_req=160)
        ix = build_index(p)
        g = full_costing(ix)[0]
        cand = build_candidates(ix, knn=3)
        res = solve_flow(ix, cand, keep_arcs=True, costing=full_costing(ix))
        d = potentials(res.nodes, res.arcs)
        q0, p0 = prices(ix, cand, res, d, g)
        capped = np.zeros(len(p.requests), dtype=bool)
        new, _ = at_fault(ix, cand, q0, p0, g, per_request=per_request, capped=capped)
        fixed = reoptimise(ix, cand, res, d, new) if new is not None else None
        if fixed is None:
            continue
        cand = _join(cand, new)
        q, pr = prices(ix, cand, fixed[0], fixed[1], g)
        rose, fell = _moved(q0, p0, q, pr, cand.u_req)
        unserved = np.ones(len(p.requests), dtype=bool)
        unserved[cand.u_req[fixed[0].chosen >= 0]] = False
        full, _ = at_fault(ix, cand, q, pr, g, per_request=2, unserved=unserved)
        part, _ = at_fault(ix, cand, q, pr, g, per_request=2, only=rose | capped,
                           responders=fell, unserved=unserved)
        assert _pair_keys(part) == _pair_keys(full)
        compared += 1
        narrowed += int((rose | capped).sum() < len(p.requests)) * bool(full)
    assert compared >= 10 and narrowed >= 4


def _faults_by_brute_force(ix, cand, q, p, g):
    """Every left-out feasible pair with a negative reduced cost, from all pairs."""
    full = build_candidates(ix)
    nj = len(ix.j_lon)
    rc = full.p_sec // g - q[full.p_req] + p[full.p_resp]
    left_out = ~np.isin(full.p_req * nj + full.p_resp, cand.p_req * nj + cand.p_resp)
    at = np.flatnonzero((rc < 0) & left_out)
    return sorted(zip(full.p_req[at].tolist(), full.p_resp[at].tolist(), strict=True))


def test_pricing_finds_every_pair_at_fault_and_no_other(monkeypatch):
    """A full pricing pass (balls for the served, the search turned around for the left
    out) returns exactly the left-out pairs whose reduced cost is negative, as a brute
    force over every pair finds them, when it may keep them all; so does a pass that gives
    the left-out requests balls too (too many distinct prices to group them)."""
    import solver.certify
    checked = 0
    for seed in range(6):
        p = _tight_city(seed, n_req=160)
        ix = build_index(p)
        g = full_costing(ix)[0]
        cand = build_candidates(ix, knn=3)
        res = solve_flow(ix, cand, keep_arcs=True, costing=full_costing(ix))
        q, pr = prices(ix, cand, res, potentials(res.nodes, res.arcs), g)
        unserved = np.ones(len(p.requests), dtype=bool)
        unserved[cand.u_req[res.chosen >= 0]] = False
        expected = _faults_by_brute_force(ix, cand, q, pr, g)
        for left_out, groups in ((None, 64), (unserved, 64), (unserved, 0)):
            monkeypatch.setattr(solver.certify, "TURNED_PRICES", groups)
            new, _ = at_fault(ix, cand, q, pr, g, per_request=10_000, unserved=left_out)
            got = [] if new is None else sorted(zip(new.p_req.tolist(), new.p_resp.tolist(),
                                                    strict=True))
            assert got == expected
        # a narrowed pass over every request and responder, each priced with every pair
        # in reach (no balls), finds them too
        monkeypatch.setattr(solver.certify, "DIRECT_REQUESTS", len(p.requests))
        monkeypatch.setattr(solver.certify, "DIRECT_RESPONDERS", len(p.responders))
        for everyone in (np.ones(len(p.requests), dtype=bool),
                         np.zeros(len(p.requests), dtype=bool)):
            new, _ = at_fault(ix, cand, q, pr, g, per_request=10_000, unserved=unserved,
                              only=everyone, responders=np.arange(len(p.responders)))
            assert _pair_keys(new) == expected
        monkeypatch.undo()
        checked += bool(expected) and bool(unserved[cand.u_req].any())
    assert checked >= 3


def test_the_l1_frame_never_lengthens_a_chord():
    """In the turned, scaled frame the L1 distance of two points is at most their chord
    (what makes an L1 ball a superset), for a city's frame and for a degenerate one."""
    from solver import geo
    from solver.certify import _l1_frame

    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(-180, 180, 400), rng.uniform(-80, 80, 400)
    pts = geo.to_sphere(lon, lat)
    a, b = rng.integers(0, 400, 2000), rng.integers(0, 400, 2000)
    chord = np.linalg.norm(pts[a] - pts[b], axis=1)
    for toward in (pts[:50].sum(axis=0), np.zeros(3), -np.full(3, 1.0)):
        turned = _l1_frame(pts, toward)
        assert np.all(np.isfinite(turned))
        assert np.all(np.abs(turned[a] - turned[b]).sum(axis=1) <= chord + 1e-6)
    city = _l1_frame(pts[:1], pts[0])
    assert np.allclose(np.abs(city[0]), city[0][0])  # the city lies on the (1,1,1) axis


def _pair_keys(c) -> list[tuple[int, int]]:
    return [] if c is None else sorted(zip(c.p_req.tolist(), c.p_resp.tolist(), strict=True))


def _true_cost(res) -> int:
    return int((res.arcs[3] * res.arcs[4]).sum())


def test_quick_scale_flow_is_proven_at_the_true_scale():
    """solve_proven hands OR-Tools a small scale, yet its flow costs, at the true scale,
    what the true scale's own flow costs, and the potentials returned prove it."""
    from solver.flow import solve_proven

    for seed in range(6):
        p = _tight_city(seed)
        ix = build_index(p)
        costing = full_costing(ix)
        cand = build_candidates(ix)
        res, d = solve_proven(ix, cand, costing)
        exact = solve_flow(ix, cand, keep_arcs=True, costing=costing)
        assert res.optimal and d is not None
        assert _true_cost(res) == _true_cost(exact)
        assert res.served_bound == exact.served_bound
        tails, heads, caps, costs, flows = res.arcs
        fwd, back = flows < caps, flows > 0
        assert np.all(costs[fwd] + d[tails[fwd]] - d[heads[fwd]] >= 0)
        assert np.all(-costs[back] + d[heads[back]] - d[tails[back]] >= 0)


def test_a_quick_flow_that_is_not_optimal_is_solved_again(monkeypatch):
    """With a quick scale far too small to rank serving above travel, the quick flow leaves
    requests out; its potentials find the negative cycle and the true scale solves it."""
    from solver import flow
    from solver.flow import solve_proven

    monkeypatch.setattr(flow, "QUICK_SPREADS", 0)
    p = _tight_city(1)
    ix = build_index(p)
    costing = full_costing(ix)
    cand = build_candidates(ix)
    quick = solve_flow(ix, cand, keep_arcs=True, costing=costing, quick=True)
    exact = solve_flow(ix, cand, keep_arcs=True, costing=costing)
    assert not quick.optimal and quick.served_bound < exact.served_bound
    assert potentials(quick.nodes, quick.arcs) is None
    res, d = solve_proven(ix, cand, costing)
    assert res.optimal and d is not None
    assert _true_cost(res) == _true_cost(exact) and res.served_bound == exact.served_bound


def _arcs(edges):
    tails, heads, costs = (np.array(x, dtype=np.int64) for x in zip(*edges, strict=True))
    ones = np.ones(len(edges), dtype=np.int64)
    return tails, heads, ones, costs, np.zeros(len(edges), dtype=np.int64)


def test_potentials_are_shortest_distances_from_a_virtual_root():
    """Against a plain Bellman-Ford on random graphs without negative cycles (costs >= 0
    plus a potential difference, so every cycle costs >= 0)."""
    rng = random.Random(3)
    for _ in range(20):
        n = rng.randint(2, 30)
        pot = [rng.randint(-50, 50) for _ in range(n)]
        edges = []
        for _ in range(rng.randint(1, 4 * n)):
            a, b = rng.randrange(n), rng.randrange(n)
            edges.append((a, b, rng.randint(0, 20) + pot[a] - pot[b]))
        want = [0] * n
        for _ in range(n):
            for a, b, c in edges:
                want[b] = min(want[b], want[a] + c)
        assert potentials(n, _arcs(edges)).tolist() == want


def test_a_negative_cycle_is_found_within_a_few_passes(monkeypatch):
    """A negative cycle feeding a long chain: the links of the last improvements close a
    cycle, seen at the first look, not after the chain's thousands of passes."""
    from solver import flow

    looks = []
    real = flow._has_cycle
    monkeypatch.setattr(flow, "_has_cycle", lambda parent: looks.append(1) or real(parent))
    chain = 5000
    edges = [(0, 1, -3), (1, 2, 1), (2, 0, 1)]  # costs -1 around
    edges += [(i, i + 1, -1) for i in range(2, 2 + chain)]
    assert potentials(3 + chain, _arcs(edges)) is None
    assert 1 <= len(looks) <= 2
    assert not real(np.array([3, 3, 0, 3]))  # 0 -> root, 1 -> root, 2 -> 0
    assert real(np.array([1, 2, 0, 3]))  # 0 -> 1 -> 2 -> 0


def test_the_deadline_moves_earlier_only_when_the_steps_run_slow():
    """Budget: one quiet second charged that took 10 s of wall time is a pace of 10, and
    4 quiet seconds of work after the steps then need 40 s before `end`; at a pace of 1
    the fixed deadline, earlier, stays. A pace not yet measured (too little charged)
    leaves the fixed deadline."""
    import time

    from solver.certify import Budget

    now = time.perf_counter()
    slow = Budget(100.0, 2.0, deadline=now + 50, end=now + 60, after_s=4.0)
    slow.charge(0.25)
    slow.started -= 10.0
    assert slow.deadline == now + 50  # 0.25 quiet seconds: the pace is not trusted yet
    slow.charge(0.75)
    assert abs(slow.deadline - (now + 20)) < 1.0
    steady = Budget(100.0, 2.0, deadline=now + 50, end=now + 60, after_s=4.0)
    steady.charge(1.0)
    steady.started -= 1.0
    assert steady.deadline == now + 50
    assert not slow.halted() and slow.spend(1.0)
    slow.started -= 1000.0  # a pace of about 500: the work after could not end in time
    assert slow.halted() and not slow.spend(1.0)
