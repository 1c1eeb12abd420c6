"""City-like dispatch problems around Pinghu (30.70 N, 121.02 E), deterministic by seed.

Residents live in gaussian clusters around community centres scattered over the city; the
city grows with the instance (about 2.5 km across for 1,000 requests, 12 km for 100,000).
Responders live in the same clusters but spread wider.  The category mix, the kinds of
responder and what each kind can do follow the domain notes (DOMAIN.md).

Two variants:
- ``count``: every request needs one responder, untimed, free; responders have task caps
  only.  Eligibility still depends on qualifications, licence, categories and distance.
- ``full``: windows, shifts, minute and load caps, lockdown zones, 1+2+N teams, charity
  funds, licences, continuity and exclusions.

The output is the JSON form of the contract (a dict), ready for ``Problem.from_dict``.
"""

from __future__ import annotations

import numpy as np

CENTRE_LON, CENTRE_LAT = 121.02, 30.70
M_PER_DEG_LAT = 111_195.0
M_PER_DEG_LON = M_PER_DEG_LAT * np.cos(np.radians(CENTRE_LAT))

# category: (share, qualifications, min_licence, duration range, quantity range, cost range fen)
CATEGORIES = {
    "medicine_delivery": (0.25, [], "none", (10, 30), (1, 4), (0, 0)),
    "elder_care_visit": (0.18, ["elder_care"], "none", (30, 60), (0, 0), (0, 0)),
    "meal_delivery": (0.18, [], "none", (10, 20), (1, 2), (0, 1500)),
    "child_care": (0.08, ["child_care"], "none", (60, 120), (0, 0), (0, 0)),
    "hospital_escort": (0.08, ["escort"], "none", (90, 180), (0, 0), (0, 0)),
    "counselling": (0.07, ["counselling"], "assistant", (45, 90), (0, 0), (0, 0)),
    "dispute_mediation": (0.06, ["mediation"], "none", (30, 90), (0, 0), (0, 0)),
    "micro_wish": (0.10, [], "none", (10, 30), (1, 1), (3000, 30000)),
}
# kind: (share, radius range m, speed range km/h, qualification pool, max_tasks range)
KINDS = {
    "volunteer": (0.72, (1500, 3500), (5.0, 18.0),
                  ["elder_care", "child_care", "escort", "medicine"], (2, 5)),
    "social_worker": (0.15, (3000, 6000), (15.0, 25.0),
                      ["counselling", "mediation", "elder_care", "child_care"], (3, 6)),
    "organization": (0.08, (4000, 9000), (20.0, 30.0),
                     ["elder_care", "child_care", "escort"], (8, 20)),
    "community_staff": (0.05, (1500, 3000), (10.0, 15.0), ["mediation", "elder_care"], (3, 6)),
}
ORG_MENUS = [["meal_delivery", "micro_wish"], ["elder_care_visit", "hospital_escort"],
             ["child_care"], ["medicine_delivery", "meal_delivery"]]
TAGS = ["elderly", "lives_alone", "disabled", "child", "chronic_illness", "low_income"]
CATEGORY_TAGS = {"elder_care_visit": ["elderly", "lives_alone"], "child_care": ["child"],
                 "medicine_delivery": ["chronic_illness", "elderly"],
                 "micro_wish": ["child", "low_income"], "meal_delivery": ["elderly", "disabled"]}
LICENCES = ["assistant", "intermediate", "senior"]


def _lonlat(x: np.ndarray, y: np.ndarray) -> list[list[float]]:
    lon = CENTRE_LON + x / M_PER_DEG_LON
    lat = CENTRE_LAT + y / M_PER_DEG_LAT
    return [[round(float(a), 6), round(float(b), 6)] for a, b in zip(lon, lat, strict=True)]


def _clustered(rng: np.random.Generator, centres: np.ndarray, sigma: np.ndarray, n: int,
               spread: float) -> tuple[np.ndarray, np.ndarray]:
    """n points in gaussian clusters (metres east/north of the city centre) and their cluster."""
    weights = rng.dirichlet(np.full(len(centres), 2.0))
    home = rng.choice(len(centres), size=n, p=weights)
    xy = centres[home] + rng.normal(size=(n, 2)) * (sigma[home, None] * spread)
    return xy, home


def generate(n_requests: int, n_responders: int, variant: str = "full", seed: int = 0) -> dict:
    """A problem dict with the given counts; ``variant`` is ``count`` or ``full``."""
    if variant not in ("count", "full"):
        raise ValueError(f"unknown variant {variant!r}")
    full = variant == "full"
    rng = np.random.default_rng(seed)
    n_comm = max(5, n_requests // 1500)
    city_r = 2500.0 * (n_requests / 1000) ** (1 / 3)
    ang = rng.uniform(0, 2 * np.pi, n_comm)
    rad = city_r * np.sqrt(rng.uniform(0, 1, n_comm))
    centres = np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)
    sigma = rng.uniform(350, 900, n_comm)
    comm_ids = [f"c{k}" for k in range(n_comm)]
    # Two lockdown zones (sealed, controlled) around the first two communities.
    zones = [("z0", "sealed", 0), ("z1", "controlled", 1)] if full else []

    responders = []
    rxy, rhome = _clustered(rng, centres, sigma, n_responders, 1.6)
    kind_names = list(KINDS)
    kinds = rng.choice(len(kind_names), size=n_responders, p=[KINDS[k][0] for k in kind_names])
    for j, (loc, home, kk) in enumerate(zip(_lonlat(rxy[:, 0], rxy[:, 1]), rhome, kinds,
                                            strict=True)):
        kind = kind_names[kk]
        _, (r0, r1), (s0, s1), pool, (t0, t1) = KINDS[kind]
        quals = [q for q in pool if rng.random() < 0.5]
        d = {"id": f"{kind[:3]}{j}", "kind": kind, "location": loc,
             "radius_m": int(rng.integers(r0, r1 + 1)),
             "speed_kmh": float(round(rng.uniform(s0, s1), 1)), "qualifications": quals,
             "licence": str(rng.choice(LICENCES, p=[0.5, 0.35, 0.15]))
             if kind == "social_worker" else "none",
             "categories": ORG_MENUS[int(rng.integers(len(ORG_MENUS)))]
             if kind == "organization" else None,
             "community_ids": [comm_ids[home]], "shifts": None,
             "max_tasks": int(rng.integers(t0, t1 + 1)), "max_minutes": None,
             "load_capacity": None, "zone_clearances": []}
        if full:
            if kind == "volunteer":
                a = int(rng.integers(7, 15)) * 60
                d["shifts"] = [[a, a + int(rng.integers(3, 5)) * 60]]
                if rng.random() < 0.3:
                    d["shifts"].append([d["shifts"][0][1] + 60, d["shifts"][0][1] + 240])
                d["max_minutes"] = int(rng.choice([180, 240, 360]))
                d["load_capacity"] = int(rng.choice([6, 10, 20]))
            else:
                d["shifts"] = [[480, 1080]]
                d["max_minutes"] = 480 if kind != "organization" else None
            d["zone_clearances"] = [z for z, _, c in zones
                                    if home == c and rng.random() < 0.6 or rng.random() < 0.05]
        responders.append(d)

    cat_names = list(CATEGORIES)
    cats = rng.choice(len(cat_names), size=n_requests, p=[CATEGORIES[c][0] for c in cat_names])
    qxy, qhome = _clustered(rng, centres, sigma, n_requests, 1.0)
    urg = rng.choice(["emergency", "urgent", "normal"], size=n_requests, p=[0.04, 0.16, 0.8])
    resp_ids = [r["id"] for r in responders]
    requests = []
    for i, (loc, home, ck) in enumerate(zip(_lonlat(qxy[:, 0], qxy[:, 1]), qhome, cats,
                                            strict=True)):
        cat = cat_names[ck]
        _, quals, lic, (d0, d1), (n0, n1), (c0, c1) = CATEGORIES[cat]
        tags = [t for t in CATEGORY_TAGS.get(cat, []) if rng.random() < 0.5]
        if rng.random() < 0.1:
            tags.append(TAGS[int(rng.integers(len(TAGS)))])
        d = {"id": f"r{i}", "location": loc, "category": cat, "community_id": comm_ids[home],
             "resident_id": f"res{i}", "resident_tags": sorted(set(tags)),
             "urgency": str(urg[i]), "window": None,
             "duration": int(rng.integers(d0, d1 + 1)), "quantity": int(rng.integers(n0, n1 + 1)),
             "cost": 0, "qualifications": list(quals), "min_licence": lic,
             "max_distance_m": int(rng.choice([3000, 5000])) if rng.random() < 0.2 else None,
             "team": None, "zone_id": None, "zone_status": None, "excluded_responders": [],
             "previous_responder": None}
        if full:
            if rng.random() < 0.6:
                a = int(rng.integers(16, 38)) * 30
                d["window"] = [a, a + int(rng.choice([30, 60, 120, 180]))]
            if c1 > 0 and (cat == "micro_wish" or rng.random() < 0.3):
                d["cost"] = int(rng.integers(c0, c1 + 1)) // 100 * 100 or 500
            if cat in ("dispute_mediation", "elder_care_visit") and rng.random() < 0.05:
                d["qualifications"] = []
                d["min_licence"] = "none"
                d["team"] = [
                    {"role": "community_staff", "count": 1, "qualifications": [],
                     "min_licence": "none"},
                    {"role": "social_worker", "count": 2, "qualifications": [],
                     "min_licence": "assistant"},
                    {"role": "volunteer", "count": int(rng.integers(1, 3)), "qualifications": [],
                     "min_licence": "none"}]
                d["window"] = d["window"] or [600, 900]
            for z, status, c in zones:
                if home == c and rng.random() < 0.7:
                    d["zone_id"], d["zone_status"] = z, status
            if rng.random() < 0.1:
                d["previous_responder"] = resp_ids[int(rng.integers(len(resp_ids)))]
            if rng.random() < 0.02:
                d["excluded_responders"] = [resp_ids[int(rng.integers(len(resp_ids)))]]
        requests.append(d)

    funds = []
    if full:
        total_cost = sum(r["cost"] for r in requests)
        funds = [{"id": f"fund_{c}", "balance": int(total_cost / n_comm * rng.uniform(0.4, 1.2)),
                  "categories": None, "community_ids": [c], "resident_tags": None}
                 for c in comm_ids]
        funds.append({"id": "foundation_micro_wish", "balance": int(total_cost * 0.2),
                      "categories": ["micro_wish"], "community_ids": None,
                      "resident_tags": ["child", "low_income"]})
    return {"origin": "2026-11-21T00:00:00+08:00", "requests": requests,
            "responders": responders, "funds": funds, "fixed": [], "travel": None, "params": {}}
