"""MatchState.upsert_responder / remove_responder: a live state kept in step without a rebuild.

The reference is always a MatchState built from scratch on the same responders: after any
sequence of additions, replacements and removals, matching must give exactly its answers.
"""

import copy
import random

import pytest
from conftest import problem, req, resp
from instances import random_problem

from solver import MatchState, match_one
from solver.check import check
from solver.problem import Problem, ProblemError


def _answers(state: MatchState, requests: list[dict]) -> list:
    """Every request matched in turn (best committed), as comparable tuples."""
    out = []
    for r in requests:
        m = match_one(r, state)
        if m.best is None:
            out.append((r["id"], None, m.unassigned.reason))
        else:
            state.commit(m.best)
            out.append((r["id"], m.best.to_dict(), [a.responder_ids for a in m.alternatives]))
    return out


def _mutate(rng: random.Random, d: dict, fresh_id: str) -> dict:
    """A changed copy of responder `d` (new place, radius, caps, shifts, qualifications...)."""
    d = copy.deepcopy(d)
    d["id"] = fresh_id
    d["location"] = [d["location"][0] + rng.uniform(-0.01, 0.01),
                     d["location"][1] + rng.uniform(-0.01, 0.01)]
    d["radius_m"] = rng.choice([1000, 3000, 8000])
    d["qualifications"] = rng.sample(["medicine", "counselling", "care", "brand_new_skill"],
                                     rng.randint(0, 3))
    d["shifts"] = rng.choice([None, [[480, 720]], [[480, 560], [600, 700], [760, 900]]])
    d["max_tasks"] = rng.choice([None, 1, 3])
    d["max_minutes"] = rng.choice([None, 120])
    d["categories"] = rng.choice([None, ["medicine_delivery"]])
    d["community_ids"] = rng.choice([[], ["c1"], ["c2", "c9"]])
    d["zone_clearances"] = rng.choice([[], ["z1"]])
    d["kind"] = rng.choice(["volunteer", "social_worker", "organization", "community_staff"])
    return d


@pytest.mark.parametrize("seed", range(12))
def test_updated_state_answers_like_a_fresh_one(seed):
    """Random additions, replacements and removals, then the same answers as a rebuild."""
    rng = random.Random(seed)
    full = random_problem(seed, n_requests=14, n_responders=10, funds=False)
    responders = full["responders"]
    start = dict(full, responders=responders[:6], fixed=[])
    state = MatchState(Problem.from_dict(start))
    current = {d["id"]: d for d in responders[:6]}
    for step in range(12):
        action = rng.choice(["add", "replace", "remove"])
        if action == "add":
            d = _mutate(rng, rng.choice(responders), f"n{seed}_{step}")
            state.upsert_responder(d)
            current[d["id"]] = d
        elif action == "replace" and current:
            rid = rng.choice(sorted(current))
            d = _mutate(rng, current[rid], rid)
            state.upsert_responder(Problem.from_dict(
                {"requests": [], "responders": [d]}).responders[0])
            current[rid] = d
        elif current:
            rid = rng.choice(sorted(current))
            assert state.remove_responder(rid)
            del current[rid]
    order = [j.id for j in state.problem.responders]
    assert sorted(order) == sorted(current)
    rebuilt = MatchState(Problem.from_dict(dict(start, responders=[current[i] for i in order])))
    requests = full["requests"]
    assert _answers(state, requests) == _answers(rebuilt, requests)
    # and what it hands out breaks no rule of the final problem
    answers = _answers(MatchState(rebuilt.problem), requests)
    final = dict(start, responders=[current[i] for i in order])
    plan = {"assignments": [a for _, a, _ in answers if a],
            "unassigned": [{"request_id": rid, "reason": why, "message": "", "remedy": ""}
                           for rid, a, why in answers if a is None]}
    assert check(final, plan) == []


def test_replacement_keeps_the_work_already_counted():
    """New caps count the tasks already committed: 1 done and max_tasks 1 means full."""
    state = MatchState(problem([], [resp("a", 100, max_tasks=3)]))
    first = match_one(req("r1"), state)
    state.commit(first.best)
    state.upsert_responder(resp("a", 100, max_tasks=1))
    m = match_one(req("r2"), state)
    assert m.best is None and m.unassigned.reason == "capacity"
    state.upsert_responder(resp("a", 100, max_tasks=2))
    assert match_one(req("r3"), state).best.responder_ids == ("a",)


def test_replacement_keeps_busy_time_and_minutes():
    """A committed visit still blocks its time, and its minutes count against a new cap."""
    state = MatchState(problem([], [resp("a", 0)]))
    first = match_one(req("r1", window=[600, 700], duration=30), state)
    state.commit(first.best)
    state.upsert_responder(resp("a", 0, max_minutes=40))
    assert match_one(req("r2", window=[600, 700], duration=30), state).best is None
    state.upsert_responder(resp("a", 0, max_minutes=60))
    assert match_one(req("r3", window=[600, 700], duration=30), state).best.start == 630


def test_added_responder_with_a_new_qualification_is_found():
    """A qualification nobody held before works once a responder brings it."""
    state = MatchState(problem([], [resp("a", 100)]))
    ask = req("r1", qualifications=["sign_language"])
    assert match_one(ask, state).best is None
    state.upsert_responder(resp("b", 300, qualifications=["sign_language"]))
    assert match_one(ask, state).best.responder_ids == ("b",)


def test_removed_responder_is_not_matched_and_its_release_is_harmless():
    state = MatchState(problem([], [resp("a", 100), resp("b", 900)]))
    first = match_one(req("r1"), state)
    assert first.best.responder_ids == ("a",)
    state.commit(first.best)
    assert state.remove_responder("a") and not state.remove_responder("a")
    assert match_one(req("r2"), state).best.responder_ids == ("b",)
    state.release(first.best)  # its load left with it; nothing else changes
    assert match_one(req("r3"), state).best.responder_ids == ("b",)


def test_upsert_validates_like_the_problem():
    state = MatchState(problem([], [resp("a")]))
    with pytest.raises(ProblemError) as err:
        state.upsert_responder(resp("b", radius_m="far"))
    assert "radius_m" in err.value.path
    assert [j.id for j in state.problem.responders] == ["a"]
