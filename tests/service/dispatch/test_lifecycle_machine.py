"""A hypothesis state machine over the request lifecycle and manual dispatch.

Random sequences of submissions (some paid from a small fund), acceptances, declines, starts,
completions, cancellations, manual assignments, unassignments and timeout rounds, through the
API as each role would call it. After every step the database must show: no responder beyond
a daily task cap, no request in two live assignments, no fund below zero, and an audit entry
for every request and assignment and for each transition an assignment went through.
"""

from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from service import background
from service.assignments.models import LIVE_STATES, Assignment
from service.audit.models import AuditEntry
from service.dispatch.repository import COUNTED_STATES
from service.funds.service import ledgers
from service.requests.models import ServiceRequest
from service.responders.models import Responder
from tests.service.conftest import headers
from tests.service.dispatch.helpers import auto_dispatch, setup_category, submit, volunteer

CAP = 2
PLACES = [[121.03, 30.71], [121.035, 30.712], [121.028, 30.706]]


def _fund(client, world, amount_fen: int) -> str:
    body = {"name": "社区慈善基金", "community_id": world.a.community_id}
    fund = client.post("/v1/funds", json=body, headers=headers(world.a.dispatcher)).json()
    response = client.post(
        f"/v1/funds/{fund['id']}/entries",
        json={"kind": "deposit", "amount_fen": amount_fen, "donor": "某公司"},
        headers=headers(world.a.dispatcher),
    )
    assert response.status_code == 201, response.text
    return fund["id"]


class Lifecycle(RuleBasedStateMachine):
    client = session = world = None  # set by the test before the machine runs
    responders: list[tuple[str, str]] = []
    fund_id = ""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[str] = []

    # --- helpers
    def _live(self) -> list[Assignment]:
        self.session.expire_all()
        return list(
            self.session.scalars(select(Assignment).where(Assignment.state.in_(LIVE_STATES)))
        )

    def _key_of(self, responder_id: str) -> str:
        return dict(self.responders)[responder_id]

    def _ok(self, response) -> None:  # noqa: ANN001
        # Refusals are part of the game; a server error never is.
        assert response.status_code < 500, response.text

    # --- rules
    @rule(place=st.sampled_from(PLACES), paid=st.booleans(), hours=st.integers(1, 30))
    def submit_request(self, place, paid, hours) -> None:
        created = submit(
            self.client,
            self.world.a,
            location={"type": "Point", "coordinates": place},
            cost_fen=300 if paid else 0,
            **_window(hours),
        )
        self.requests.append(created["id"])

    @rule(data=st.data(), verb=st.sampled_from(["accept", "decline", "start", "complete"]))
    def responder_moves(self, data, verb) -> None:
        live = self._live()
        if not live:
            return
        a = data.draw(st.sampled_from(live))
        body = {"reason": "busy"} if verb == "decline" else None
        self._ok(
            self.client.post(
                f"/v1/assignments/{a.id}/{verb}",
                json=body,
                headers=headers(self._key_of(a.responder_id)),
            )
        )

    @rule(data=st.data())
    def dispatcher_cancels(self, data) -> None:
        if self.requests:
            rid = data.draw(st.sampled_from(self.requests))
            self._ok(
                self.client.post(
                    f"/v1/requests/{rid}/cancel",
                    json={"reason": "resident moved"},
                    headers=headers(self.world.a.dispatcher),
                )
            )

    @rule(data=st.data())
    def dispatcher_assigns(self, data) -> None:
        if self.requests:
            rid = data.draw(st.sampled_from(self.requests))
            jid = data.draw(st.sampled_from([j for j, _ in self.responders]))
            self._ok(
                self.client.post(
                    f"/v1/requests/{rid}/assign",
                    json={"responder_ids": [jid]},
                    headers=headers(self.world.a.dispatcher),
                )
            )

    @rule(data=st.data())
    def dispatcher_unassigns(self, data) -> None:
        if self.requests:
            rid = data.draw(st.sampled_from(self.requests))
            self._ok(
                self.client.post(
                    f"/v1/requests/{rid}/unassign",
                    json={"reason": "reassigning"},
                    headers=headers(self.world.a.dispatcher),
                )
            )

    @rule(minutes=st.integers(0, 120))
    def time_passes(self, minutes) -> None:
        background.tick(datetime.now().astimezone() + timedelta(minutes=minutes))

    # --- invariants
    @invariant()
    def caps_hold(self) -> None:
        self.session.expire_all()
        rows = self.session.execute(
            select(Assignment.responder_id, ServiceRequest.window_start)
            .join(ServiceRequest, ServiceRequest.id == Assignment.request_id)
            .where(Assignment.state.in_(COUNTED_STATES))
        ).all()
        per_day: dict[tuple[str, str], int] = {}
        for responder_id, start in rows:
            day = (start + timedelta(hours=8)).date().isoformat()  # Asia/Shanghai
            per_day[(responder_id, day)] = per_day.get((responder_id, day), 0) + 1
        assert max(per_day.values(), default=0) <= CAP, per_day

    @invariant()
    def one_live_assignment_per_request(self) -> None:
        doubled = self.session.execute(
            select(Assignment.request_id, func.count())
            .where(Assignment.state.in_(LIVE_STATES))
            .group_by(Assignment.request_id)
            .having(func.count() > 1)
        ).all()
        assert not doubled

    @invariant()
    def funds_never_below_zero(self) -> None:
        if self.fund_id:
            ledger = ledgers(self.session, [self.fund_id])[self.fund_id]
            assert ledger.available_fen >= 0 and ledger.balance_fen >= 0

    @invariant()
    def every_change_is_audited(self) -> None:
        audited = dict(
            self.session.execute(
                select(AuditEntry.entity_id, func.count()).group_by(AuditEntry.entity_id)
            ).all()
        )
        for a in self.session.scalars(select(Assignment)):
            moves = sum(t is not None for t in (a.accepted_at, a.started_at, a.completed_at)) + (
                a.state not in ("offered", "accepted", "in_progress", "completed")
            )
            assert audited.get(a.id, 0) >= 1 + moves, (a.id, a.state)
        for r in self.session.scalars(select(ServiceRequest)):
            assert audited.get(r.id, 0) >= 1 + (r.state != "submitted"), (r.id, r.state)


def _window(hours: int) -> dict[str, str]:
    start = datetime.now().astimezone().replace(microsecond=0) + timedelta(hours=hours)
    return {
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=3)).isoformat(),
    }


@pytest.mark.parametrize("seed", [0])
def test_lifecycle_keeps_its_invariants(client, session, world, seed):
    auto_dispatch(session, world.a)
    setup_category(client, world)
    Lifecycle.responders = []
    for place in PLACES:
        responder, key = volunteer(
            client,
            session,
            world,
            world.a,
            max_tasks_per_day=CAP,
            location={"type": "Point", "coordinates": place},
        )
        Lifecycle.responders.append((responder["id"], key))
    Lifecycle.client, Lifecycle.session, Lifecycle.world = client, session, world
    Lifecycle.fund_id = _fund(client, world, 1_000)
    run_state_machine_as_test(
        Lifecycle,
        settings=settings(
            max_examples=6,
            stateful_step_count=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    assert session.scalar(select(func.count()).select_from(Responder)) == len(PLACES)
