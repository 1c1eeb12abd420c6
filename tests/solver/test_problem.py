"""Problem.from_dict: validation names the offending field; to_dict inverts it."""

import pytest
from conftest import req, resp

from solver import Problem, ProblemError


def _error(d) -> str:
    with pytest.raises(ProblemError) as info:
        Problem.from_dict(d)
    return info.value.path


def test_window_end_before_start_names_the_field():
    """A window ending before it starts is reported at requests[i].window."""
    assert _error({"requests": [req("a", window=[700, 600])], "responders": []}) == (
        "requests[0].window")


def test_missing_location_names_the_field():
    """A responder without a location is reported at responders[i].location."""
    bad = resp("v1")
    del bad["location"]
    assert _error({"requests": [], "responders": [bad]}) == "responders[0].location"


def test_unknown_fixed_responder_names_the_field():
    """A fixed assignment naming an unknown responder is rejected."""
    path = _error({"requests": [req("a")], "responders": [resp("v1")],
                   "fixed": [{"request_id": "a", "responder_ids": ["v1", "v9"]}]})
    assert path == "fixed[0].responder_ids[1]"


def test_duplicate_ids_rejected():
    """Two requests with one id are rejected at the second one."""
    assert _error({"requests": [req("a"), req("a")], "responders": []}) == "requests[1].id"


def test_bad_enum_and_negative_numbers_rejected():
    """Unknown urgency and a negative duration are rejected with their paths."""
    assert _error({"requests": [req("a", urgency="asap")], "responders": []}) == (
        "requests[0].urgency")
    assert _error({"requests": [req("a", duration=-5)], "responders": []}) == (
        "requests[0].duration")


def test_sealed_zone_needs_zone_id():
    """A sealed request without zone_id is malformed."""
    assert _error({"requests": [req("a", zone_status="sealed")], "responders": []}) == (
        "requests[0].zone_id")


def test_defaults_and_round_trip():
    """Omitted keys take documented defaults and to_dict/from_dict round-trips."""
    p = Problem.from_dict({"requests": [req("a", team=[{"role": "volunteer", "count": 2}])],
                           "responders": [resp("v1", shifts=[[480, 600]])],
                           "params": {"fairness_weight": 2}})
    assert p.requests[0].urgency == "normal" and p.params.travel_weight_per_km == 10.0
    assert p.params.fairness_weight == 2.0 and p.requests[0].members == 2
    assert Problem.from_dict(p.to_dict()) == p


def test_fast_path_builds_the_same_request_as_the_checked_path():
    """A plain request parses identically through the fast and the checked path."""
    from solver.parse import _Obj, _request, _request_fast

    d = req("a", 100, window=[480, 600], resident_tags=["elderly"], community_id="c1",
            cost=300, zone_id="z", zone_status="sealed", previous_responder="v1")
    assert _request_fast(d) == _request(_Obj(d, "requests[0]"))


def test_category_must_be_a_string():
    """A numeric category is rejected at requests[i].category."""
    assert _error({"requests": [req("a", category=5)], "responders": []}) == (
        "requests[0].category")


def test_parsed_responders_pass_through_and_are_still_checked_for_duplicates():
    """A Responder from an earlier problem is used as it is; ids stay unique across kinds."""
    first = Problem.from_dict({"requests": [], "responders": [
        {"id": "a", "kind": "volunteer", "location": [121.0, 30.7], "radius_m": 900}]})
    [a] = first.responders
    mixed = Problem.from_dict({"requests": [], "responders": [
        a, {"id": "b", "kind": "volunteer", "location": [121.01, 30.7], "radius_m": 500}]})
    assert mixed.responders[0] is a and mixed.responders[1].radius_m == 500
    with pytest.raises(ProblemError, match="duplicate id"):
        Problem.from_dict({"requests": [], "responders": [
            a, {"id": "a", "kind": "volunteer", "location": [121.0, 30.7], "radius_m": 1}]})
