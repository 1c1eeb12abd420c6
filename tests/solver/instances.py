"""Small hand-made and generated problems shared by the solver tests (JSON-shaped dicts).

The hand-made `base_problem` touches every hard constraint at least once: a sealed-zone
medicine run, a licensed counselling visit, a 1+2+N team, a fund-paid meal from an
organization, a fixed assignment and a request nobody can serve.  `base_plan` is a plan
for it that breaks nothing; the checker tests each break one rule of it.
"""

from __future__ import annotations

import copy
import random

from solver.check import haversine_m, travel_minutes

CENTRE = (121.02, 30.70)  # Pinghu
URGENCIES = ("emergency", "urgent", "normal")
TAGS = ("elderly", "lives_alone", "disabled", "child", "chronic_illness", "low_income")
CATEGORIES = ("medicine_delivery", "elder_care_visit", "meal_delivery", "counselling")
KINDS = ("volunteer", "social_worker", "organization", "community_staff")
LICENCES = ("none", "assistant", "intermediate", "senior")


def at(dx_m: float, dy_m: float) -> list[float]:
    """A [lon, lat] point dx_m east and dy_m north of the Pinghu centre (flat-earth offset)."""
    return [round(CENTRE[0] + dx_m / 95_700.0, 6), round(CENTRE[1] + dy_m / 111_200.0, 6)]


def request(rid: str, **kw) -> dict:
    """A request dict with the contract's neutral defaults, overridden by ``kw``."""
    d = {
        "id": rid,
        "location": at(0, 0),
        "category": "medicine_delivery",
        "community_id": "c1",
        "resident_id": None,
        "resident_tags": [],
        "urgency": "normal",
        "window": None,
        "duration": 20,
        "quantity": 0,
        "cost": 0,
        "qualifications": [],
        "min_licence": "none",
        "max_distance_m": None,
        "team": None,
        "zone_id": None,
        "zone_status": None,
        "excluded_responders": [],
        "previous_responder": None,
    }
    d.update(kw)
    return d


def responder(rid: str, kind: str = "volunteer", **kw) -> dict:
    """A responder dict with generous defaults (no caps, no shifts), overridden by ``kw``."""
    d = {
        "id": rid,
        "kind": kind,
        "location": at(0, 0),
        "radius_m": 5000,
        "speed_kmh": 15.0,
        "qualifications": [],
        "licence": "none",
        "categories": None,
        "community_ids": ["c1"],
        "shifts": None,
        "max_tasks": None,
        "max_minutes": None,
        "load_capacity": None,
        "zone_clearances": [],
    }
    d.update(kw)
    return d


def problem(
    requests: list[dict], responders: list[dict], funds=(), fixed=(), travel=None, params=None
) -> dict:
    """A problem dict around the given parts."""
    return {
        "origin": "2026-11-21T00:00:00+08:00",
        "requests": list(requests),
        "responders": list(responders),
        "funds": list(funds),
        "fixed": list(fixed),
        "travel": travel,
        "params": params or {},
    }


def assignment(
    prob: dict, request_id: str, responder_ids: list[str], start=None, fund_id=None, fixed=False
) -> dict:
    """An assignment dict whose reported travel is the true (haversine or matrix) travel."""
    req = next(r for r in prob["requests"] if r["id"] == request_id)
    resp = {r["id"]: r for r in prob["responders"]}
    matrix = {(t["responder"], t["request"]): t for t in prob.get("travel") or []}
    minutes, metres = [], []
    for rid in responder_ids:
        if (rid, request_id) in matrix:
            t = matrix[(rid, request_id)]
            minutes.append(t["minutes"])
            metres.append(t["metres"])
        else:
            m = round(haversine_m(resp[rid]["location"], req["location"]))
            metres.append(m)
            minutes.append(travel_minutes(m, resp[rid]["speed_kmh"]))
    return {
        "request_id": request_id,
        "responder_ids": list(responder_ids),
        "roles": [resp[r]["kind"] for r in responder_ids],
        "start": start,
        "travel_minutes": minutes,
        "distance_m": metres,
        "fund_id": fund_id,
        "fixed": fixed,
    }


def plan(assignments: list[dict], unassigned: list[tuple[str, str]] = ()) -> dict:
    """A plan dict; ``unassigned`` is (request_id, reason) pairs."""
    return {
        "status": "feasible",
        "method": "greedy",
        "objective": 0.0,
        "bound": 0.0,
        "gap": 0.0,
        "time_s": 0.0,
        "assignments": assignments,
        "unassigned": [
            {"request_id": r, "reason": why, "message": "", "remedy": ""} for r, why in unassigned
        ],
    }


def base_problem() -> dict:
    """Five requests, six responders, one fund, one fixed assignment (see module docstring)."""
    requests = [
        request(
            "r1",
            location=at(1000, 0),
            window=[540, 600],
            quantity=2,
            qualifications=["medicine"],
            zone_id="z1",
            zone_status="sealed",
            urgency="emergency",
            resident_tags=["elderly", "chronic_illness"],
        ),
        request(
            "r2",
            location=at(0, 1500),
            category="counselling",
            duration=60,
            qualifications=["counselling"],
            min_licence="intermediate",
            max_distance_m=3000,
        ),
        request(
            "r3",
            location=at(-800, 0),
            category="elder_care_visit",
            window=[660, 700],
            duration=45,
            urgency="urgent",
            team=[
                {
                    "role": "community_staff",
                    "count": 1,
                    "qualifications": [],
                    "min_licence": "none",
                },
                {
                    "role": "social_worker",
                    "count": 2,
                    "qualifications": [],
                    "min_licence": "assistant",
                },
                {"role": "volunteer", "count": 1, "qualifications": [], "min_licence": "none"},
            ],
        ),
        request(
            "r4",
            location=at(500, 500),
            category="meal_delivery",
            cost=3000,
            resident_tags=["low_income"],
            quantity=1,
        ),
        request("r5", location=at(20_000, 0), category="counselling", min_licence="senior"),
    ]
    responders = [
        responder(
            "v1",
            location=at(0, 0),
            qualifications=["medicine"],
            shifts=[[480, 720]],
            max_tasks=3,
            max_minutes=240,
            load_capacity=4,
            zone_clearances=["z1"],
        ),
        responder(
            "sw1",
            "social_worker",
            location=at(200, 200),
            qualifications=["counselling"],
            licence="intermediate",
            speed_kmh=20.0,
            shifts=[[480, 1080]],
        ),
        responder("sw2", "social_worker", location=at(-200, 100), licence="assistant"),
        responder("st1", "community_staff", location=at(-500, -500)),
        responder(
            "org1",
            "organization",
            location=at(800, 800),
            categories=["meal_delivery"],
            max_tasks=10,
            load_capacity=20,
        ),
        responder("v2", location=at(300, -300), radius_m=2000, community_ids=["c2"]),
    ]
    funds = [
        {
            "id": "f1",
            "balance": 5000,
            "categories": ["meal_delivery"],
            "community_ids": None,
            "resident_tags": None,
        }
    ]
    fixed = [{"request_id": "r4", "responder_ids": ["org1"], "start": None, "fund_id": "f1"}]
    return problem(requests, responders, funds, fixed)


def base_plan(prob: dict) -> dict:
    """A plan for `base_problem` that breaks no hard constraint."""
    return plan(
        [
            assignment(prob, "r1", ["v1"], start=560),
            assignment(prob, "r2", ["sw1"]),
            assignment(prob, "r3", ["st1", "sw1", "sw2", "v2"], start=680),
            assignment(prob, "r4", ["org1"], fund_id="f1", fixed=True),
        ],
        unassigned=[("r5", "no_qualified_responder")],
    )


def random_problem(
    seed: int,
    n_requests: int = 5,
    n_responders: int = 4,
    *,
    teams: bool = True,
    funds: bool = True,
    timed: bool = True,
    spread_m: float = 2500.0,
) -> dict:
    """A small random problem mixing windows, shifts, caps, teams, zones and funds.

    Windows are short (<= 20 min) and everything sits within a few km, so most pairs are
    feasible and what binds is the interesting part: caps, overlaps and fund balances.
    """
    rng = random.Random(seed)

    def pos() -> list[float]:
        return at(rng.uniform(-spread_m, spread_m), rng.uniform(-spread_m, spread_m))

    quals = ["medicine", "counselling", "care"]
    responders = []
    for k in range(n_responders):
        kind = KINDS[k % 3] if k < 3 else rng.choice(KINDS)
        org = kind == "organization"
        responders.append(responder(
            f"p{k}", kind, location=pos(), radius_m=rng.choice([3000, 5000, 8000]),
            speed_kmh=rng.choice([5.0, 15.0, 30.0]),
            qualifications=rng.sample(quals, rng.randint(1, 3)),
            licence=rng.choice(LICENCES) if kind == "social_worker" else "none",
            categories=rng.choice([None, ["meal_delivery", "elder_care_visit"]]) if org else None,
            community_ids=[rng.choice(["c1", "c2"])],
            shifts=rng.choice([None, [[480, 720]], [[480, 600], [660, 900]]]) if timed else None,
            max_tasks=rng.choice([None, 1, 2]), max_minutes=rng.choice([None, 90, 150]),
            load_capacity=rng.choice([None, 2, 4]), zone_clearances=rng.choice([[], ["z1"]])))
    requests = []
    for i in range(n_requests):
        window = None
        if timed and rng.random() < 0.6:
            a = rng.randrange(480, 800, 10)
            window = [a, a + rng.choice([0, 10, 20])]
        team = None
        if teams and rng.random() < 0.2:
            team = [{"role": "social_worker", "count": 1, "qualifications": [],
                     "min_licence": "none"},
                    {"role": "volunteer", "count": 1, "qualifications": [], "min_licence": "none"}]
        zone = rng.choice([None, None, None, "sealed", "precaution"])
        requests.append(request(
            f"q{i}", location=pos(), category=rng.choice(CATEGORIES),
            community_id=rng.choice(["c1", "c2", None]),
            resident_tags=rng.sample(TAGS, rng.randint(0, 2)), urgency=rng.choice(URGENCIES),
            window=window, duration=rng.choice([0, 15, 30, 60]), quantity=rng.randint(0, 2),
            cost=rng.choice([0, 0, 0, 1000, 2500]) if funds else 0,
            qualifications=[] if team or rng.random() < 0.6 else [rng.choice(quals)],
            max_distance_m=rng.choice([None, None, 4000]), team=team,
            zone_id="z1" if zone else None, zone_status=zone,
            excluded_responders=[f"p{rng.randrange(n_responders)}"] if rng.random() < 0.2 else [],
            previous_responder=f"p{rng.randrange(n_responders)}" if rng.random() < 0.3 else None))
    fund_list = []
    if funds:
        fund_list = [
            {"id": "f1", "balance": rng.choice([2000, 3500, 5000]), "categories": None,
             "community_ids": rng.choice([None, ["c1"]]), "resident_tags": None},
            {"id": "f2", "balance": rng.choice([0, 2500]), "categories": ["meal_delivery"],
             "community_ids": None, "resident_tags": ["elderly", "low_income"]},
        ]
    return problem(requests, responders, fund_list)


def broken(prob: dict, pl: dict) -> tuple[dict, dict]:
    """Deep copies of a problem and plan, for tests that mutate one of them."""
    return copy.deepcopy(prob), copy.deepcopy(pl)
