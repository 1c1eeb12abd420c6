"""Augmenting paths: count plans serve more on the same pairs, leaving nobody out."""

import numpy as np
from conftest import problem, req, resp

from bench.instances import generate
from solver import Problem
from solver.assemble import build_plan
from solver.augment import augment
from solver.candidates import build_candidates
from solver.check import check
from solver.engine import flow_choices
from solver.greedy import sec_order, solve_greedy
from solver.index import build_index


def _state(p: Problem, served: dict[str, str]):
    """(index, every pair, chosen pair per unit, tasks used per responder) for a plan that
    serves `served` (request id -> responder id)."""
    ix = build_index(p)
    cand = build_candidates(ix)
    chosen = np.full(len(cand.u_req), -1, dtype=np.int64)
    used = np.zeros(len(ix.j_lon), dtype=np.int64)
    for rid, jid in served.items():
        ri, ji = ix.req_pos[rid], ix.resp_pos[jid]
        pair = int(np.flatnonzero((cand.p_req == ri) & (cand.p_resp == ji))[0])
        chosen[cand.p_unit[pair]] = pair
        used[ji] += 1
    return ix, cand, chosen, used


def _served(p: Problem, ix, cand, chosen) -> dict[str, str]:
    return {p.requests[int(cand.u_req[u])].id: p.responders[int(cand.p_resp[chosen[u]])].id
            for u in np.flatnonzero(chosen >= 0)}


def _always(_quiet_s: float) -> bool:
    return True


def test_a_request_left_out_is_served_by_moving_another_along():
    """y reaches only a, which x holds; x can move to b, which has room: y takes a."""
    p = problem([req("x", 100), req("y", -2000)],
                [resp("a", 0, max_tasks=1), resp("b", 3000, max_tasks=1, radius_m=4000)])
    ix, cand, chosen, used = _state(p, {"x": "a"})
    assert augment(ix, cand, chosen, used, _always) == 1
    assert _served(p, ix, cand, chosen) == {"x": "b", "y": "a"}
    assert used.tolist() == [1, 1]


def test_a_more_urgent_request_takes_the_room_first():
    """One place can be freed, at b. A normal request reaches it by the shorter path (x1
    moves on to b), an emergency by a longer one (x2 to a1, x1 to b): the emergency gets
    it, since a tier is searched to its end before the next starts."""
    p = problem([req("n", 4000), req("e", 1500, urgency="emergency"),
                 req("x1", 8000), req("x2", 4500)],
                [resp("b", 10000, max_tasks=1, radius_m=2500),
                 resp("a1", 6000, max_tasks=1, radius_m=2500),
                 resp("a2", 3000, max_tasks=1, radius_m=2000)])
    ix, cand, chosen, used = _state(p, {"x1": "a1", "x2": "a2"})
    assert augment(ix, cand, chosen, used, _always) == 1
    assert _served(p, ix, cand, chosen) == {"e": "a2", "x2": "a1", "x1": "b"}


def test_the_heavier_request_of_a_tier_takes_the_room_first():
    """Two normal requests reach the one place that can be freed by the same path: the
    more vulnerable one (an elderly resident) gets it, though listed second."""
    p = problem([req("plain", -2000), req("elderly", -2000, resident_tags=["elderly"]),
                 req("x", 100)],
                [resp("a", 0, max_tasks=1), resp("b", 3000, max_tasks=1, radius_m=4000)])
    ix, cand, chosen, used = _state(p, {"x": "a"})
    assert ix.r_weight[ix.req_pos["elderly"]] > ix.r_weight[ix.req_pos["plain"]]
    assert augment(ix, cand, chosen, used, _always) == 1
    assert _served(p, ix, cand, chosen) == {"x": "b", "elderly": "a"}


def test_no_search_is_started_without_budget():
    """A search that does not fit the budget is not started: the plan stays as it was."""
    p = problem([req("x", 100), req("y", -2000)],
                [resp("a", 0, max_tasks=1), resp("b", 3000, max_tasks=1, radius_m=4000)])
    ix, cand, chosen, used = _state(p, {"x": "a"})
    asked = []
    assert augment(ix, cand, chosen, used, lambda s: asked.append(s) and False) == 0
    assert asked and _served(p, ix, cand, chosen) == {"x": "a"}


def test_greedy_plans_grow_and_stay_valid():
    """On generated cities, paths added to a greedy plan keep everyone it served, serve
    more, and the plan still passes the independent checker."""
    grew = 0
    for seed in range(4):
        d = generate(300, 40, "count", seed)
        p = Problem.from_dict(d)
        ix = build_index(p)
        cand = build_candidates(ix, knn=8)
        ordered = cand.take(sec_order(cand))
        chosen = np.full(len(cand.u_req), -1, dtype=np.int64)
        used = np.zeros(len(ix.j_lon), dtype=np.int64)
        for ri, choice in solve_greedy(ix, ordered, presorted=True).items():
            chosen[cand.r_units[ri, 0]] = ordered.p_id[choice.pairs[0]]
            used[ordered.p_resp[choice.pairs[0]]] += 1
        before = set(_served(p, ix, cand, chosen))
        added = augment(ix, cand, chosen, used, _always)
        after = set(_served(p, ix, cand, chosen))
        assert before <= after and len(after) == len(before) + added
        assert np.array_equal(used, np.bincount(cand.p_resp[chosen[chosen >= 0]],
                                                minlength=len(ix.j_lon)))
        plan = build_plan(ix, cand, flow_choices(cand, chosen), status="feasible",
                          method="greedy", started=0.0, served_bound=0, optimal=False)
        assert check(d, plan.to_dict()) == []
        grew += added > 0
    assert grew


def test_one_phase_serves_disjoint_paths_of_different_lengths():
    """Far apart, y1 needs one move (x1 from a to b) and y2 two (x2 from c to d, x3 from d
    to e). One phase serves both: paths are followed down the layers from every request
    left out, not only the shortest ones of a single search tree."""
    far = 50_000
    reqs = [req("y1", far - 1500), req("x1", far + 1500),
            req("y2", -1500), req("x2", 1500), req("x3", 4500)]
    resps = [resp(j, at, max_tasks=1, radius_m=2000)
             for j, at in (("a", far), ("b", far + 3000), ("c", 0), ("d", 3000), ("e", 6000))]
    p = problem(reqs, resps)
    ix, cand, chosen, used = _state(p, {"x1": "a", "x2": "c", "x3": "d"})
    asked = []
    assert augment(ix, cand, chosen, used, lambda s: asked.append(s) or True) == 2
    assert len(asked) == 1
    assert _served(p, ix, cand, chosen) == {"y1": "a", "x1": "b", "y2": "c", "x2": "d",
                                            "x3": "e"}
    assert used.tolist() == [1, 1, 1, 1, 1]


def test_a_path_of_hundreds_of_moves_is_followed_to_its_end():
    """A chain: y reaches only c0; each x_i holds c_i and reaches c_{i+1}; only the last
    responder has room. Serving y moves all 480 (under MAX_LAYERS): the depth-first part
    must take one stack frame per move, or a path this long breaks the recursion limit."""
    n = 480
    reqs = [req("y", -1500)] + [req(f"x{i}", 3000 * i + 1500) for i in range(n)]
    resps = [resp(f"c{i}", 3000 * i, max_tasks=1, radius_m=2000) for i in range(n + 1)]
    p = problem(reqs, resps)
    ix, cand, chosen, used = _state(p, {f"x{i}": f"c{i}" for i in range(n)})
    assert augment(ix, cand, chosen, used, _always) == 1
    served = _served(p, ix, cand, chosen)
    assert served == {"y": "c0", **{f"x{i}": f"c{i + 1}" for i in range(n)}}
    assert used.tolist() == [1] * (n + 1)
