"""The independent route checker: a valid plan passes, and each broken rule is named."""

from __future__ import annotations

import copy

import pytest

from solver.problem import ProblemError
from solver.routes import RoutesProblem
from solver.routes.check import check
from tests.solver.routes_builders import order, pickup, problem, responder, solved


@pytest.fixture(scope="module")
def case():
    d = problem([responder("v", capacity=4)], [pickup("P", 300, stock={"general": 5})],
                [order("a", 1200, boxes=2), order("b", 1500, boxes=2),
                 order("c", 900, boxes=1, window=[480, 1080])])
    return d, solved(d)


def rules(d, plan):
    return {v.rule for v in check(d, plan)}


def test_valid_plan_passes(case):
    """The solver's own plan has no violation."""
    d, plan = case
    assert check(d, plan) == []


def test_capacity_is_checked(case):
    """A responder carrying more than its capacity is flagged."""
    d, plan = copy.deepcopy(case)
    d["responders"][0]["capacity"] = 1
    assert "capacity" in rules(d, plan)


def test_window_is_checked(case):
    """A door reached outside its window is flagged."""
    d, plan = copy.deepcopy(case)
    for x in d["deliveries"]:
        x["window"] = [1000, 1080]
    assert "window" in rules(d, plan)


def test_opening_hours_are_checked(case):
    """A pickup while the pharmacy is closed is flagged."""
    d, plan = copy.deepcopy(case)
    d["pickup_points"][0]["hours"] = [900, 1200]
    assert "opening_hours" in rules(d, plan)


def test_stock_is_checked(case):
    """Taking more boxes than the point holds is flagged."""
    d, plan = copy.deepcopy(case)
    d["pickup_points"][0]["stock"]["general"] = 2
    assert "stock" in rules(d, plan)


def test_zone_is_checked(case):
    """A door in a controlled zone served by an uncleared responder is flagged."""
    d, plan = copy.deepcopy(case)
    d["zones"] = [{"id": "Z", "status": "controlled"}]
    d["deliveries"][0]["zone_id"] = "Z"
    assert "zone" in rules(d, plan)


def test_delivery_without_pickup_is_checked(case):
    """Removing the pickup stops leaves deliveries with nothing on board."""
    d, plan = copy.deepcopy(case)
    for r in plan["routes"]:
        r["stops"] = [s for s in r["stops"] if s["kind"] != "pickup"]
    assert "pickup_delivery" in rules(d, plan)


def test_load_bookkeeping_is_checked(case):
    """A wrong load_after figure is flagged."""
    d, plan = copy.deepcopy(case)
    plan["routes"][0]["stops"][0]["load_after"] += 1
    assert "load" in rules(d, plan)


def test_every_order_is_accounted_for(case):
    """An order neither delivered nor listed unserved is flagged."""
    d, plan = copy.deepcopy(case)
    d["deliveries"].append(order("ghost", 100))
    assert "accounted" in rules(d, plan)


@pytest.fixture(scope="module")
def handoff_case():
    zones = [{"id": "Z", "status": "sealed", "gate": [121.0, 30.71],
              "gate_service_minutes": 3}]
    d = problem([responder("out", -2500), responder("in", 0, 1200, zone_clearances=["Z"])],
                [pickup("P", -2000)], [order("a", 300, 1300, zone_id="Z")], zones)
    plan = solved(d)
    assert any(s["kind"] == "gate_pickup" for r in plan["routes"] for s in r["stops"])
    return d, plan


def test_handoff_precedence_is_checked(handoff_case):
    """A second leg leaving the gate before the handover ends is flagged."""
    d, plan = copy.deepcopy(handoff_case)
    drop = next(s for r in plan["routes"] for s in r["stops"] if s["kind"] == "gate_drop")
    d["zones"][0]["gate_service_minutes"] = 10_000
    assert drop and "handoff" in rules(d, plan)


def test_handoff_both_legs_are_checked(handoff_case):
    """A first leg whose second leg is missing is flagged."""
    d, plan = copy.deepcopy(handoff_case)
    for r in plan["routes"]:
        r["stops"] = [s for s in r["stops"] if s["kind"] not in ("gate_pickup", "deliver")]
    assert "handoff" in rules(d, plan)


@pytest.mark.parametrize("path, mutate", [
    ("deliveries[0].window", lambda d: d["deliveries"][0].update(window=[700, 600])),
    ("deliveries[0].zone_id", lambda d: d["deliveries"][0].update(zone_id="nowhere")),
    ("responders[0].capacity", lambda d: d["responders"][0].update(capacity=0)),
    ("pickup_points[0].stock.general",
     lambda d: d["pickup_points"][0]["stock"].update(general=-1)),
    ("deliveries[1].id", lambda d: d["deliveries"][1].update(id="a")),
    ("responders[0].base", lambda d: d["responders"][0].update(base=[500, 30])),
])
def test_problem_errors_name_the_field(case, path, mutate):
    """Malformed input raises ProblemError naming the first offending field."""
    d = copy.deepcopy(case[0])
    mutate(d)
    with pytest.raises(ProblemError) as err:
        RoutesProblem.from_dict(d)
    assert err.value.path == path


def test_problem_round_trips(case):
    """to_dict then from_dict gives the same problem."""
    p = RoutesProblem.from_dict(case[0])
    assert RoutesProblem.from_dict(p.to_dict()) == p


def test_cli_routes_writes_a_checked_plan(case, tmp_path, capsys):
    """`python -m solver routes FILE` prints a plan the checker accepts; bad input exits 2."""
    import json

    from solver.__main__ import main
    path = tmp_path / "routes.json"
    path.write_text(json.dumps(case[0]))
    assert main(["routes", str(path), "--time-limit", "2"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert check(case[0], plan) == []
    path.write_text(json.dumps({**case[0], "deliveries": [{"id": "a"}]}))
    assert main(["routes", str(path)]) == 2
    assert "deliveries[0].location" in capsys.readouterr().err


def test_routes_is_a_pure_library():
    """No solver.routes module imports the service, web or database stacks, or VROOM."""
    import ast
    from pathlib import Path
    banned = {"service", "fastapi", "sqlalchemy", "pydantic", "starlette", "vroom", "bench"}
    root = Path(__file__).resolve().parents[2] / "solver" / "routes"
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not {n.split(".")[0] for n in names} & banned, path.name
