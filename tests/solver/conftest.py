"""Small builders for solver tests: places by metres east of a base point, sane defaults."""

from __future__ import annotations

import math

import pytest

from solver import Problem, solve

BASE = (121.0, 30.7)


def east(metres: float) -> list[float]:
    """A [lon, lat] point `metres` east of BASE (great-circle, to within a metre)."""
    dlon = math.degrees(metres / (6_371_000.0 * math.cos(math.radians(BASE[1]))))
    return [BASE[0] + dlon, BASE[1]]


def req(id: str, at: float = 0, **kw) -> dict:
    d = {"id": id, "location": east(at), "category": "medicine_delivery", "duration": 10}
    d.update(kw)
    return d


def resp(id: str, at: float = 0, **kw) -> dict:
    d = {"id": id, "kind": "volunteer", "location": east(at), "radius_m": 5000,
         "speed_kmh": 15.0}
    d.update(kw)
    return d


def problem(requests, responders, **kw) -> Problem:
    d = {"requests": requests, "responders": responders}
    d.update(kw)
    return Problem.from_dict(d)


def plan_of(requests, responders, time_limit: float = 5.0, **kw):
    return solve(problem(requests, responders, **kw), time_limit=time_limit, seed=0)


def who_serves(plan) -> dict[str, tuple[str, ...]]:
    return {a.request_id: a.responder_ids for a in plan.assignments}


def reason_of(plan, request_id: str) -> str | None:
    return next((u.reason for u in plan.unassigned if u.request_id == request_id), None)


@pytest.fixture
def small_problem() -> Problem:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "solver" / "examples" / "small.json"
    return Problem.from_dict(json.loads(path.read_text()))
