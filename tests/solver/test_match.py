"""match_one: the best feasible responder now, given everyone's current load."""

from conftest import problem, req, resp

from solver import MatchState, match_one


def test_best_is_nearest_qualified_and_alternatives_ranked():
    """The nearest qualified responder is best; others follow by cost."""
    state = MatchState(problem([], [resp("a", 300, qualifications=["medicine"]),
                                    resp("b", 100), resp("c", 900, qualifications=["medicine"])]))
    m = match_one(req("r1", qualifications=["medicine"]), state)
    assert m.best.responder_ids == ("a",)
    assert [a.responder_ids for a in m.alternatives] == [("c",)]


def test_commit_uses_up_capacity_and_release_returns_it():
    """After commit a one-task responder is full; release frees it again."""
    state = MatchState(problem([], [resp("a", 100, max_tasks=1)]))
    first = match_one(req("r1"), state)
    state.commit(first.best)
    assert match_one(req("r2"), state).best is None
    state.release(first.best)
    assert match_one(req("r3"), state).best.responder_ids == ("a",)


def test_commit_blocks_busy_time():
    """A committed timed visit pushes the next one to a later start."""
    state = MatchState(problem([], [resp("a", 0)]))
    first = match_one(req("r1", window=[600, 700], duration=30), state)
    state.commit(first.best)
    second = match_one(req("r2", window=[600, 700], duration=30), state)
    assert (first.best.start, second.best.start) == (600, 630)


def test_fixed_work_counts_in_the_state():
    """Accepted work in the problem is load the state starts with."""
    state = MatchState(problem([req("old")], [resp("a", max_tasks=1)],
                               fixed=[{"request_id": "old", "responder_ids": ["a"]}]))
    m = match_one(req("new"), state)
    assert m.best is None and m.unassigned.reason == "capacity"


def test_team_match_fills_every_slot():
    """A team request gets one member per slot, all distinct and of the slot's role."""
    state = MatchState(problem([], [resp("sw", 100, kind="social_worker"), resp("v1", 200),
                                    resp("v2", 300)]))
    team = [{"role": "social_worker", "count": 1}, {"role": "volunteer", "count": 2}]
    m = match_one(req("t", team=team, window=[480, 600], duration=30), state)
    assert sorted(m.best.responder_ids) == ["sw", "v1", "v2"]


def test_no_match_names_the_reason():
    """With nobody cleared for a sealed zone the answer says so."""
    state = MatchState(problem([], [resp("a", 100)]))
    m = match_one(req("r1", zone_id="z9", zone_status="sealed"), state)
    assert m.best is None and m.unassigned.reason == "zone_not_cleared"


def test_fund_charged_and_balance_tracked():
    """A paid request is charged to a fund and the state remembers the spend."""
    state = MatchState(problem([], [resp("a")], funds=[{"id": "f1", "balance": 5000}]))
    m = match_one(req("r1", cost=3000), state)
    assert m.best.fund_id == "f1"
    state.commit(m.best)
    again = match_one(req("r2", cost=3000), state)
    assert again.best is None and again.unassigned.reason == "fund_exhausted"


def test_ranking_in_batches_equals_one_full_ordering(monkeypatch):
    """match_one orders and shift-checks its candidates a batch at a time; with batches of two
    (many rounds, most candidates off shift) it answers exactly as with one batch of all."""
    import random

    import solver.match as match_module

    rng = random.Random(7)
    kinds = ("volunteer", "social_worker", "organization")
    responders = [
        resp(f"j{k:03d}", rng.uniform(-3000, 3000), kind=rng.choice(kinds),
             shifts=[[s, s + rng.choice((60, 120, 240))]
                     for s in sorted(rng.sample(range(0, 1200, 30), rng.randint(0, 3)))])
        for k in range(300)
    ]
    team = [{"role": "social_worker", "count": 1}, {"role": "volunteer", "count": 2}]
    requests = []
    for k in range(60):
        start = rng.randrange(420, 1200, 15)
        shape = {"window": [start, start + rng.choice((30, 90, 240))] if k % 4 else None}
        if k % 10 == 0:
            shape = {"team": team, "window": [start, start + 240]}
        requests.append(req(f"r{k}", rng.uniform(-2000, 2000), duration=rng.choice((20, 45)),
                            **shape))

    def answers(chunk: int) -> list:
        monkeypatch.setattr(match_module, "ITER_CHUNK", chunk)
        state = MatchState(problem([], responders))
        found = []
        for r in requests:
            m = match_one(r, state)
            found.append((m.best, m.alternatives, m.unassigned))
            if m.best is not None and int(r["id"][1:]) % 3 == 0:
                state.commit(m.best)  # later requests see the load
        return found

    batched, whole = answers(2), answers(10**9)
    assert batched == whole
    assert sum(best is not None for best, _, _ in whole) >= 30
    assert sum(len(alternatives) == match_module.ALTERNATIVES for _, alternatives, _ in whole) >= 10
