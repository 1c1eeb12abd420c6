"""Static hard constraints: each test has a nearer, better-looking responder that is not allowed."""

from conftest import plan_of, reason_of, req, resp, who_serves


def test_qualification_required():
    """A request needing 'medicine' skips the nearer responder without it."""
    plan = plan_of([req("r1", qualifications=["medicine"])],
                   [resp("near", 100), resp("far", 2000, qualifications=["medicine"])])
    assert who_serves(plan) == {"r1": ("far",)}


def test_licence_level_required():
    """A senior-licence request skips the nearer intermediate social worker."""
    plan = plan_of([req("r1", min_licence="senior")],
                   [resp("near", 100, kind="social_worker", licence="intermediate"),
                    resp("far", 2000, kind="social_worker", licence="senior")])
    assert who_serves(plan) == {"r1": ("far",)}


def test_organization_serves_only_its_categories():
    """An organization offering only meals does not take a medicine delivery."""
    plan = plan_of([req("r1")], [resp("org", 100, kind="organization", categories=["meal"]),
                                 resp("far", 2000)])
    assert who_serves(plan) == {"r1": ("far",)}


def test_responder_radius():
    """A responder never serves beyond its own travel radius."""
    plan = plan_of([req("r1")], [resp("near", 1500, radius_m=1000), resp("far", 3000)])
    assert who_serves(plan) == {"r1": ("far",)}


def test_request_distance_limit():
    """A request's own max_distance_m rules out a responder its radius would allow."""
    plan = plan_of([req("r1", max_distance_m=1000)], [resp("v1", 2000, radius_m=5000)])
    assert who_serves(plan) == {}
    assert reason_of(plan, "r1") == "out_of_range"


def test_sealed_zone_needs_clearance():
    """Only a responder cleared for the sealed zone may serve inside it."""
    plan = plan_of([req("r1", zone_id="z1", zone_status="sealed")],
                   [resp("near", 100), resp("far", 2000, zone_clearances=["z1"])])
    assert who_serves(plan) == {"r1": ("far",)}


def test_precaution_zone_is_open_to_all():
    """A precaution zone needs no clearance, so the nearest responder serves."""
    plan = plan_of([req("r1", zone_id="z1", zone_status="precaution")],
                   [resp("near", 100), resp("far", 2000, zone_clearances=["z1"])])
    assert who_serves(plan) == {"r1": ("near",)}


def test_excluded_responder_never_serves():
    """An excluded responder is skipped even when nearest."""
    plan = plan_of([req("r1", excluded_responders=["near"])],
                   [resp("near", 100), resp("far", 2000)])
    assert who_serves(plan) == {"r1": ("far",)}


def test_travel_entry_replaces_distance_for_feasibility():
    """A `travel` entry's metres decide the radius check, not the great-circle distance."""
    plan = plan_of([req("r1")], [resp("near", 100, radius_m=3000), resp("far", 2000)],
                   travel=[{"responder": "near", "request": "r1", "minutes": 30,
                            "metres": 4000}])
    assert who_serves(plan) == {"r1": ("far",)}


def test_travel_entry_metres_are_reported():
    """The plan reports the `travel` entry's minutes and metres for that pair."""
    plan = plan_of([req("r1")], [resp("v1", 100)],
                   travel=[{"responder": "v1", "request": "r1", "minutes": 7, "metres": 900}])
    a = plan.assignments[0]
    assert (a.travel_minutes, a.distance_m) == ((7,), (900,))


def test_untimed_task_must_fit_a_shift():
    """An untimed task needs a shift at least 2 * travel + duration long."""
    plan = plan_of([req("r1", duration=50)],
                   [resp("near", 100, shifts=[[480, 520]]), resp("far", 2000)])
    assert who_serves(plan) == {"r1": ("far",)}


def test_pairs_in_reach_counts_the_pairs_within_the_radii():
    """The count that decides whether every pair is formed is the pairs within the
    responders' radii (one radius here, every request counted; the chord's slack may take
    in a pair at the very edge), and scales a sample up."""
    import numpy as np
    from conftest import problem

    from solver.candidates import pairs_in_reach
    from solver.geo import pair_distance_m
    from solver.index import build_index

    rng = np.random.default_rng(3)
    p = problem([req(f"r{i}", float(x)) for i, x in enumerate(rng.uniform(0, 20000, 300))],
                [resp(f"v{j}", float(x), radius_m=2500)
                 for j, x in enumerate(rng.uniform(0, 20000, 60))])
    ix = build_index(p)
    pr, pj = np.meshgrid(np.arange(300), np.arange(60), indexing="ij")
    exact = int((pair_distance_m(ix.j_trig, pj.ravel(), ix.r_trig, pr.ravel()) <= 2500).sum())
    assert exact <= pairs_in_reach(ix) <= exact + 5
    assert abs(pairs_in_reach(ix, sample=100) - exact) <= 0.25 * exact


def test_pairs_among_some_responders_are_all_pairs_of_those():
    """Pairs built among some responders (a widening's responders with room) are exactly
    the feasible pairs of those responders, for the requests asked about."""
    import numpy as np
    from conftest import problem

    from solver.candidates import build_candidates
    from solver.index import build_index

    rng = np.random.default_rng(5)
    p = problem([req(f"r{i}", float(x)) for i, x in enumerate(rng.uniform(0, 8000, 120))],
                [resp(f"v{j}", float(x), radius_m=int(rng.integers(800, 3000)))
                 for j, x in enumerate(rng.uniform(0, 8000, 400))])
    ix = build_index(p)
    among = rng.random(400) < 0.3
    only = np.arange(0, 120, 3)
    everything = build_candidates(ix)
    keep = among[everything.p_resp] & np.isin(everything.p_req, only)
    want = set(zip(everything.p_req[keep].tolist(), everything.p_resp[keep].tolist(),
                   strict=True))
    got = build_candidates(ix, only=only, among=among)
    assert len(want) > 100
    assert set(zip(got.p_req.tolist(), got.p_resp.tolist(), strict=True)) == want
    assert len(got.p_req) == len(want)
