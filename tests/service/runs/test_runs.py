"""Batch runs through the API: preview, plan with reasons, commit into offers, re-checks."""

import pytest
from sqlalchemy import select

from service.assignments.models import Assignment
from service.responders.models import Responder
from service.runs import executor, jobs
from tests.service.conftest import headers
from tests.service.dispatch.helpers import move, setup_category, submit, volunteer
from tests.service.runs.helpers import commit, finish, plan, start_run


@pytest.fixture
def manual(client, world):
    """Community A dispatches by hand, so submitted requests wait for a run."""
    setup_category(client, world)
    return world


def _offers(session, request_id):
    session.expire_all()
    stmt = select(Assignment).where(Assignment.request_id == request_id)
    return [a for a in session.scalars(stmt) if a.state == "offered"]


def test_preview_gives_a_plan_with_reasons_and_commit_makes_offers(client, session, manual):
    """A preview plans the open requests; the unplaceable one has a reason; commit offers."""
    v, _ = volunteer(client, session, manual, manual.a, max_tasks_per_day=1)
    first = submit(client, manual.a)
    second = submit(client, manual.a)
    run = start_run(client, manual.a.dispatcher, manual.a)
    assert run["state"] == "queued" and run["has_plan"] is False
    done = finish(client, manual.a.dispatcher, run["id"])
    assert done["state"] == "succeeded" and done["phase"] == "done" and done["attempts"] == 1
    assert done["progress"]["requests_considered"] == 2
    body = plan(client, manual.a.dispatcher, run["id"])
    assert len(body["assignments"]) == 1 and body["assignments"][0]["responder_ids"] == [v["id"]]
    (left,) = body["unassigned"]
    assert left["reason"] and left["message"] and left["remedy"]
    placed = body["assignments"][0]["request_id"]
    assert {placed, left["request_id"]} == {first["id"], second["id"]}
    assert _offers(session, placed) == []  # a preview writes nothing
    result = commit(client, manual.a.dispatcher, run["id"])
    assert result["state"] == "committed" and result["offered"] == 1 and result["changes"] == []
    (offer,) = _offers(session, placed)
    assert offer.responder_id == v["id"] and offer.id in result["assignment_ids"]
    again = client.post(
        f"/v1/dispatch-runs/{run['id']}/commit", headers=headers(manual.a.dispatcher)
    )
    assert again.status_code == 409


def test_plan_is_409_until_the_run_has_one(client, session, manual, monkeypatch):
    """A queued run has no plan (409); once executed, the plan is there."""
    monkeypatch.setattr(jobs, "_local_submit", lambda run_id, delay=0.0: None)
    run = start_run(client, manual.a.dispatcher, manual.a)
    url = f"/v1/dispatch-runs/{run['id']}/plan"
    response = client.get(url, headers=headers(manual.a.dispatcher))
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert executor.execute(run["id"]) == "succeeded"
    assert plan(client, manual.a.dispatcher, run["id"])["state"] == "succeeded"


def test_street_scope_and_named_requests(client, session, manual):
    """A street run covers its communities; a named request no longer open is reported."""
    volunteer(client, session, manual, manual.a)
    open_one = submit(client, manual.a)
    closed = submit(client, manual.a)
    response = client.post(
        f"/v1/requests/{closed['id']}/cancel",
        json={"reason": "no longer needed"},
        headers=headers(manual.a.dispatcher),
    )
    assert response.status_code == 200
    run = start_run(
        client,
        manual.admin,
        manual.a,
        scope="street",
        request_ids=[open_one["id"], closed["id"]],
    )
    assert run["community_ids"] == [manual.a.community_id]
    finish(client, manual.admin, run["id"])
    body = plan(client, manual.admin, run["id"])
    assert [a["request_id"] for a in body["assignments"]] == [open_one["id"]]
    assert [(u["request_id"], u["reason"]) for u in body["unassigned"]] == [
        (closed["id"], "not_open")
    ]
    foreign = {"scope": {"type": "community", "id": manual.a.community_id}, "request_ids": ["x"]}
    refused = client.post("/v1/dispatch-runs", json=foreign, headers=headers(manual.admin))
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "request_ids.0"


def test_commit_resolves_only_what_changed(client, session, manual):
    """A responder gone inactive and a request cancelled since the preview: the cancelled one is
    dropped, the other request is re-solved onto the remaining responder, the rest stands."""
    v1, _ = volunteer(client, session, manual, manual.a, max_tasks_per_day=1)
    v2, _ = volunteer(client, session, manual, manual.a, max_tasks_per_day=2)
    reqs = [submit(client, manual.a) for _ in range(3)]
    run = start_run(client, manual.a.dispatcher, manual.a)
    finish(client, manual.a.dispatcher, run["id"])
    body = plan(client, manual.a.dispatcher, run["id"])
    by_request = {a["request_id"]: a["responder_ids"][0] for a in body["assignments"]}
    assert len(by_request) == 3
    on_v1 = next(r for r, j in by_request.items() if j == v1["id"])
    on_v2 = [r for r, j in by_request.items() if j == v2["id"]]
    cancelled = on_v2[0]
    response = client.post(
        f"/v1/requests/{cancelled}/cancel",
        json={"reason": "resident went to hospital"},
        headers=headers(manual.a.dispatcher),
    )
    assert response.status_code == 200, response.text
    session.get(Responder, v1["id"]).active = False
    session.commit()
    result = commit(client, manual.a.dispatcher, run["id"])
    changes = {c["request_id"]: c for c in result["changes"]}
    assert changes[cancelled]["what"] == "dropped"
    assert changes[on_v1]["what"] == "resolved" and changes[on_v1]["responder_ids"] == [v2["id"]]
    assert on_v2[1] not in changes
    assert result["offered"] == 2
    assert [a.responder_id for a in _offers(session, on_v1)] == [v2["id"]]
    assert [a.responder_id for a in _offers(session, on_v2[1])] == [v2["id"]]
    assert _offers(session, cancelled) == []
    assert {r["id"] for r in reqs} == set(by_request)


def test_mode_commit_applies_the_plan_when_done(client, session, manual):
    """mode=commit ends committed, with the offers written and the report in the plan."""
    v, _ = volunteer(client, session, manual, manual.a)
    request = submit(client, manual.a)
    run = start_run(client, manual.a.dispatcher, manual.a, mode="commit")
    done = finish(client, manual.a.dispatcher, run["id"])
    assert done["state"] == "committed"
    assert plan(client, manual.a.dispatcher, run["id"])["commit"]["offered"] == 1
    assert [a.responder_id for a in _offers(session, request["id"])] == [v["id"]]


def test_accepted_work_is_fixed_and_never_moved(client, session, manual):
    """Work a responder accepted enters as fixed: the plan keeps it, commit leaves it alone."""
    v, key = volunteer(client, session, manual, manual.a, max_tasks_per_day=2)
    held = submit(client, manual.a)
    response = client.post(
        f"/v1/requests/{held['id']}/assign",
        json={"responder_ids": [v["id"]]},
        headers=headers(manual.a.dispatcher),
    )
    assert response.status_code == 200, response.text
    aid = response.json()["assignments"][0]["id"]
    assert move(client, key, aid, "accept").status_code == 200
    fresh = submit(client, manual.a)
    run = start_run(client, manual.a.dispatcher, manual.a)
    finish(client, manual.a.dispatcher, run["id"])
    body = plan(client, manual.a.dispatcher, run["id"])
    planned = {a["request_id"]: a for a in body["assignments"]}
    assert held["id"] not in planned or planned[held["id"]]["fixed"] is True
    assert planned[fresh["id"]]["fixed"] is False
    commit(client, manual.a.dispatcher, run["id"])
    session.expire_all()
    kept = session.get(Assignment, aid)
    assert kept.state == "accepted" and kept.responder_id == v["id"]
    rows = session.scalars(select(Assignment).where(Assignment.request_id == held["id"])).all()
    assert len(rows) == 1


def test_other_community_is_404_and_grid_app_is_403(client, session, manual):
    """B's dispatcher cannot see A's run; a grid app may not start runs; a foreign scope is 422."""
    run = start_run(client, manual.a.dispatcher, manual.a)
    other = headers(manual.b.dispatcher)
    assert client.get(f"/v1/dispatch-runs/{run['id']}", headers=other).status_code == 404
    assert client.get(f"/v1/dispatch-runs/{run['id']}/plan", headers=other).status_code == 404
    assert client.post(f"/v1/dispatch-runs/{run['id']}/commit", headers=other).status_code == 404
    assert client.delete(f"/v1/dispatch-runs/{run['id']}", headers=other).status_code == 404
    listed = client.get("/v1/dispatch-runs", headers=other).json()["items"]
    assert run["id"] not in [r["id"] for r in listed]
    mine = client.get("/v1/dispatch-runs", headers=headers(manual.a.dispatcher)).json()["items"]
    assert run["id"] in [r["id"] for r in mine]
    body = {"scope": {"type": "community", "id": manual.a.community_id}, "mode": "preview"}
    assert (
        client.post("/v1/dispatch-runs", json=body, headers=headers(manual.a.grid_app)).status_code
        == 403
    )
    refused = client.post("/v1/dispatch-runs", json=body, headers=other)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "scope.id"
    too_long = {**body, "time_limit_s": 301}
    assert (
        client.post(
            "/v1/dispatch-runs", json=too_long, headers=headers(manual.a.dispatcher)
        ).status_code
        == 422
    )
    finish(client, manual.a.dispatcher, run["id"])
