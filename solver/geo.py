"""Great-circle distances and travel minutes, vectorised.

Points are also embedded on a sphere in 3-D so a KD-tree can answer "everyone within d metres"
exactly: the chord between two points grows monotonically with their great-circle distance.
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_M = 6_371_000.0
BIG_M = 10**12  # "no distance limit"


def haversine_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle metres (float) between arrays of points, broadcasting."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(a, dtype=np.float64))
                              for a in (lon1, lat1, lon2, lat2))
    h = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0)))


def distance_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Integer metres as the solver uses them: the great-circle distance rounded."""
    return np.rint(haversine_m(lon1, lat1, lon2, lat2)).astype(np.int64)


def trig(lon, lat) -> np.ndarray:
    """(3, n): radians lon, radians lat, cos lat (rows contiguous), for pair_distance_m."""
    lon = np.radians(np.asarray(lon, dtype=np.float64))
    lat = np.radians(np.asarray(lat, dtype=np.float64))
    return np.ascontiguousarray(np.vstack((lon, lat, np.cos(lat))))


def pair_distance_m(trig_a: np.ndarray, ia: np.ndarray, trig_b: np.ndarray,
                    ib: np.ndarray) -> np.ndarray:
    """Rounded great-circle metres between points a[ia] and b[ib]: haversine_m's formula,
    operation for operation (so the same floats), with per-point trigonometry done once and
    temporaries reused (millions of pairs)."""
    x = trig_b[1][ib]
    x -= trig_a[1][ia]
    x /= 2
    np.sin(x, out=x)
    x *= x
    y = trig_b[0][ib]
    y -= trig_a[0][ia]
    y /= 2
    np.sin(y, out=y)
    y *= y
    c = trig_a[2][ia]
    c *= trig_b[2][ib]
    c *= y
    x += c
    np.minimum(x, 1.0, out=x)
    np.sqrt(x, out=x)
    np.arcsin(x, out=x)
    x *= 2 * EARTH_RADIUS_M
    return np.rint(x).astype(np.int64)


def travel_minutes(metres, speed_kmh) -> np.ndarray:
    """ceil(metres * 60 / (speed_kmh * 1000) - 1e-9), at least 0: whole minutes, rounded up,
    with a hair of tolerance so float noise (14.4 km/h) never adds a minute."""
    m = np.asarray(metres, dtype=np.float64)
    x = m * 60.0 / (np.asarray(speed_kmh, dtype=np.float64) * 1000.0)
    return np.maximum(np.ceil(x - 1e-9), 0).astype(np.int64)


def to_sphere(lon, lat) -> np.ndarray:
    """(n, 3) points on the sphere of radius EARTH_RADIUS_M."""
    lon = np.radians(np.asarray(lon, dtype=np.float64))
    lat = np.radians(np.asarray(lat, dtype=np.float64))
    c = np.cos(lat)
    return EARTH_RADIUS_M * np.column_stack((c * np.cos(lon), c * np.sin(lon), np.sin(lat)))


def chord_for(metres: float) -> float:
    """Chord length of a great-circle arc, padded so rounding never loses a point."""
    arc = min(float(metres) + 1.0, np.pi * EARTH_RADIUS_M)
    return 2 * EARTH_RADIUS_M * np.sin(arc / (2 * EARTH_RADIUS_M)) + 1e-3
