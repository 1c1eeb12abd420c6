"""Polishing: stage B's routes regrouped across the cuts between parts and solved again from
where they are (`solver/routes/polish.py`). Plans are judged by the independent checker."""

from __future__ import annotations

import time

import pytest

from bench.routes_instances import generate
from solver.routes import RoutePlan, RoutesProblem, model, polish, solve_routes
from solver.routes.check import check
from solver.routes.decompose import decompose
from solver.routes.explain import explain
from solver.routes.prepare import prepare
from solver.routes.solve import _drops, _finish, _polish, _run

PART = 12   # jobs per part: small, so the instance has many cuts between parts
GROUP = 40  # jobs per polish group


@pytest.fixture(scope="module")
def staged():
    """A 300-delivery lockdown (bench generator) routed as stage B would be with polishing
    on: its direct tasks in small parts, each stopped at its first local optimum."""
    d = generate(300, 40, seed=2)
    prep = prepare(RoutesProblem.from_dict(d))
    jobs = [(t.id, model.DIRECT, 0, 0) for t in prep.tasks if not t.handoff]
    vehicles = list(range(len(prep.problem.vehicles)))
    parts = decompose(prep, jobs, PART, vehicles)
    routes = _run(prep, jobs, parts, 5.0, 1, 60.0, gls=False)
    part_of = {v: k for k, (_, vids) in enumerate(parts) for v in vids}
    return d, prep, jobs, vehicles, routes, part_of


def _plan(prep, routes) -> dict:
    built = _finish(prep, routes)
    done = {o for r in built for s in r.stops if s.kind == "deliver" for o in s.orders}
    return RoutePlan(status="feasible", time_s=0.0, routes=tuple(built),
                     unserved=tuple(explain(prep, done))).to_dict()


def test_groups_take_each_route_once_and_cross_the_parts_cuts(staged):
    _, prep, jobs, vehicles, routes, part_of = staged
    grp = polish.groups(prep, routes, jobs, vehicles, GROUP)
    assert grp == polish.groups(prep, routes, jobs, vehicles, GROUP)  # a pure function
    seen: list[int] = []
    spans = []
    for js, vids, initial in grp:
        busy = [v for v in vids if v in routes]
        idle = [v for v in vids if v not in routes]
        seen += vids
        assert len(busy) >= 2 and len(idle) <= polish.IDLE
        assert len(js) <= GROUP
        # the group's jobs are exactly its routes' jobs, and each route starts as it was
        held = {(jobs[j][0], drop) for j in js for drop in (False, True)}
        visits = {(x.task, x.kind in (model.DELIVER, model.GATE_DROP))
                  for v in busy for x in routes[v][1:-1]}
        assert held == visits
        for v, seq in zip(vids, initial, strict=True):
            assert [jobs[js[j]][0] for j, _ in seq] == [x.task for x in routes.get(
                v, [None, None])[1:-1]]
        spans.append(len({part_of[v] for v in busy}))
    assert len(seen) == len(set(seen))  # no responder in two groups
    assert max(spans) >= 2  # polishing reaches across the parts' cuts


def test_each_group_solved_from_its_routes_serves_them_all_over_no_more_metres(staged):
    """The warm start is read as given (a route it could not read would come back empty)
    and the search only improves on it."""
    _, prep, jobs, vehicles, routes, _ = staged
    for js, vids, initial in polish.groups(prep, routes, jobs, vehicles, GROUP)[:4]:
        new = model.solve_part(prep, [jobs[j] for j in js], vids, 0, 30.0, initial)
        old = {v: routes[v] for v in vids if v in routes}
        fresh = {v: r for v, r in zip(vids, new, strict=True) if len(r) > 2}
        assert _drops(fresh) == _drops(old)
        assert polish.length(prep, fresh) <= polish.length(prep, old)


def test_polish_shortens_the_routes_and_keeps_every_hard_constraint(staged):
    d, prep, jobs, vehicles, routes, _ = staged
    polished = _polish(prep, routes, jobs, vehicles, 1, GROUP, 4.0, time.perf_counter() + 30)
    assert _drops(polished) == _drops(routes)
    assert polish.length(prep, polished) < polish.length(prep, routes)
    assert check(d, _plan(prep, polished)) == []
    assert check(d, _plan(prep, routes)) == []


def test_polish_out_of_time_leaves_the_routes_as_they_are(staged):
    _, prep, jobs, vehicles, routes, _ = staged
    assert _polish(prep, routes, jobs, vehicles, 1, GROUP, 4.0, time.perf_counter()) == routes


def test_a_polished_plan_serves_every_feasible_delivery():
    """Whole solves with small parts, so stage B is polished: handoffs, zones and stock
    as generated for the benchmark."""
    d = generate(400, 50, seed=5)
    plan = solve_routes(RoutesProblem.from_dict(d), time_limit=8.0, workers=1, part_size=15)
    out = plan.to_dict()
    assert check(d, out) == []
    assert plan.figures["served"] == plan.figures["feasible"] > 0
