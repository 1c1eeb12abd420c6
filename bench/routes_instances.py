"""Lockdown delivery scenarios around Pinghu (30.70 N, 121.02 E), deterministic by seed.

Residents' buildings sit in gaussian clusters around community centres; the city grows with
the instance (about 2.5 km across the centre for 1,000 orders, 9 km for 50,000). 20 pickup
points (pharmacies open 08:00-20:00, two hospital dispensaries open all day) hold stock of
five kinds of medicine, a little more than is ordered. Three zones: a sealed zone with a
gate (handoffs), a controlled zone (cleared responders at the door) and a precaution zone
(anyone). Responders (volunteers on foot, bicycle or e-bike) start from home in the same
clusters; about one in eight is cleared for each restricted zone, living near it.

The output is the JSON form of `solver.routes` (a dict), ready for `RoutesProblem.from_dict`.
"""

from __future__ import annotations

import numpy as np

CENTRE_LON, CENTRE_LAT = 121.02, 30.70
M_PER_DEG_LAT = 111_195.0
M_PER_DEG_LON = M_PER_DEG_LAT * np.cos(np.radians(CENTRE_LAT))
ITEMS = ["antihypertensive", "diabetes_oral", "insulin", "antiepileptic", "general"]
ITEM_SHARE = [0.35, 0.25, 0.08, 0.04, 0.28]
SPEEDS = [10.0, 15.0, 20.0]  # walking briskly with a trolley, bicycle, e-bike (km/h)


def _lonlat(xy: np.ndarray) -> list[list[float]]:
    lon = CENTRE_LON + xy[:, 0] / M_PER_DEG_LON
    lat = CENTRE_LAT + xy[:, 1] / M_PER_DEG_LAT
    return [[round(float(a), 6), round(float(b), 6)] for a, b in zip(lon, lat, strict=True)]


def generate(n_deliveries: int, n_responders: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    city_r = 2500.0 * (n_deliveries / 1000) ** (1 / 3)
    n_comm = max(6, n_deliveries // 800)
    ang = rng.uniform(0, 2 * np.pi, n_comm)
    rad = city_r * np.sqrt(rng.uniform(0, 1, n_comm))
    centres = np.stack([rad * np.cos(ang), rad * np.sin(ang)], axis=1)
    sigma = rng.uniform(0.08, 0.18, n_comm) * city_r

    # zones: three discs around community centres
    zone_c = centres[:3]
    zone_r = 0.22 * city_r
    zones = [
        {"id": "Z1", "status": "sealed", "gate_service_minutes": 2,
         "gate": _lonlat(zone_c[:1] + np.array([[zone_r, 0.0]]))[0]},
        {"id": "Z2", "status": "controlled", "gate": None},
        {"id": "Z3", "status": "precaution", "gate": None},
    ]

    # buildings and orders
    n_build = max(1, int(n_deliveries / 1.8))
    home = rng.choice(n_comm, size=n_build, p=rng.dirichlet(np.full(n_comm, 3.0)))
    bxy = centres[home] + rng.normal(size=(n_build, 2)) * sigma[home, None]
    bzone = np.full(n_build, -1)
    for z in range(3):
        inside = np.hypot(*(bxy - zone_c[z]).T) <= zone_r
        bzone[inside & (bzone < 0)] = z
    bldg = rng.choice(n_build, size=n_deliveries)
    item = rng.choice(len(ITEMS), size=n_deliveries, p=ITEM_SHARE)
    boxes = rng.integers(1, 4, size=n_deliveries)
    roll = rng.uniform(size=n_deliveries)
    blon = _lonlat(bxy)
    deliveries = []
    demand = np.zeros(len(ITEMS), dtype=np.int64)
    for i in range(n_deliveries):
        b = int(bldg[i])
        if ITEMS[item[i]] in ("insulin", "antiepileptic") and roll[i] < 0.5:
            urgency, window = "emergency", [480, 600 + int(rng.integers(0, 4)) * 30]
        elif roll[i] < 0.15:
            urgency, window = "urgent", [480, 720 + int(rng.integers(0, 4)) * 30]
        else:
            start = 480 + int(rng.integers(0, 5)) * 60
            urgency, window = "normal", [start, min(1200, start + 360)]
        demand[item[i]] += boxes[i]
        deliveries.append({
            "id": f"d{i}", "location": blon[b], "window": window, "boxes": int(boxes[i]),
            "item": ITEMS[item[i]], "urgency": urgency, "building_id": f"b{b}",
            "zone_id": zones[bzone[b]]["id"] if bzone[b] >= 0 else None,
            "service_minutes": 2})

    # pickup points: spread over the city, stock 1.15x demand shared out at random
    n_pick = 20
    pxy = centres[rng.choice(n_comm, n_pick)] + rng.normal(size=(n_pick, 2)) * 0.3 * city_r
    share = rng.dirichlet(np.full(n_pick, 4.0), size=len(ITEMS))  # (items, points)
    plon = _lonlat(pxy)
    pickups = []
    for p in range(n_pick):
        hours = [0, 1439] if p < 2 else [480, 1200]
        pickups.append({"id": f"P{p}", "location": plon[p], "hours": hours,
                        "service_minutes": 1,
                        "stock": {ITEMS[k]: int(np.ceil(1.15 * demand[k] * share[k, p]))
                                  for k in range(len(ITEMS))}})

    # responders
    vhome = rng.choice(n_comm, size=n_responders)
    vxy = centres[vhome] + rng.normal(size=(n_responders, 2)) * sigma[vhome, None] * 1.3
    vlon = _lonlat(vxy)
    responders = []
    dz = [np.hypot(*(vxy - zone_c[z]).T) for z in range(2)]
    near = [np.argsort(dz[z], kind="stable")[: max(1, n_responders // 8)] for z in range(2)]
    cleared = [set(map(int, near[z])) for z in range(2)]
    for j in range(n_responders):
        start = 480 + int(rng.integers(0, 3)) * 60
        responders.append({
            "id": f"v{j}", "base": vlon[j], "shift": [start, min(1260, start + 600)],
            "capacity": int(rng.integers(8, 21)),
            "speed_kmh": SPEEDS[int(rng.integers(0, 3))],
            "zone_clearances": [zones[z]["id"] for z in range(2) if j in cleared[z]],
            "max_route_minutes": 480 if rng.uniform() < 0.3 else None})
    return {"origin": "2022-04-12T00:00:00+08:00", "responders": responders,
            "pickup_points": pickups, "zones": zones, "deliveries": deliveries}
