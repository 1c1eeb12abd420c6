"""Great-circle metres, travel minutes and the sphere embedding used by the KD-tree."""

import numpy as np

from solver import geo


def test_one_degree_of_latitude():
    """One degree of latitude is about 111.2 km on the 6,371 km sphere."""
    assert abs(geo.haversine_m(121.0, 30.0, 121.0, 31.0) - 111_194.9) < 1


def test_pair_distance_matches_haversine():
    """The precomputed-trig pair distance equals the rounded haversine."""
    a = geo.trig([121.0, 121.3], [30.7, 30.9])
    b = geo.trig([121.1], [30.6])
    got = geo.pair_distance_m(a, np.array([0, 1]), b, np.array([0, 0]))
    want = geo.distance_m([121.0, 121.3], [30.7, 30.9], 121.1, 30.6)
    assert got.tolist() == want.tolist()


def test_travel_minutes_round_up_without_float_noise():
    """1000 m at 15 km/h is 4 minutes; 1001 m is 5; 240 m at 14.4 km/h is exactly 1."""
    assert geo.travel_minutes([1000, 1001], 15.0).tolist() == [4, 5]
    assert int(geo.travel_minutes(240, 14.4)) == 1


def test_chord_ball_contains_every_point_within_the_arc():
    """Points within d metres of great-circle distance are within the padded chord."""
    rng = np.random.default_rng(0)
    lon, lat = 121 + rng.random(200) * 0.2, 30.6 + rng.random(200) * 0.2
    pts = geo.to_sphere(lon, lat)
    arc = geo.haversine_m(lon[0], lat[0], lon, lat)
    chord = np.linalg.norm(pts - pts[0], axis=1)
    inside = arc <= 5000
    assert np.all(chord[inside] <= geo.chord_for(5000))
