"""Committing a routes run: one offer per served delivery, pickup stock drawn down.

One transaction locks the run, the requests (in id order), the responders (in id order, as
live matching does) and the pickup points (in id order), then checks each planned delivery
in the order the routes reach its door:
- the request must still be open (else `dropped`, as in assignment commits);
- its responders must be active and hold no other timed work during their routes, and its
  pickup point must be active and still hold its boxes (else `unplaced`: the delivery keeps
  its place in nobody's route, and a new routes run re-plans it).
What fits becomes offers (a handoff delivery: both leg responders, one offer each) and its
boxes leave the point's stock, which never goes below zero. Nothing is re-solved here: a
route with a stop taken out still holds every constraint.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session

import solver
from service.auth.principal import Principal
from service.db import get_sessionmaker
from service.dispatch import adapter, live
from service.dispatch import repository as dispatch_repo
from service.errors import Conflict
from service.pickups import repository as pickups_repo
from service.runs import repository as repo
from service.runs import schemas
from service.runs.publish import publish
from service.types import utcnow

REPLAN = "start a new routes run to re-plan it"


def commit(principal: Principal, run_id: str) -> schemas.CommitOut:
    from service.runs import service as runs

    with get_sessionmaker()() as session:
        session.info["actor"] = principal
        run = repo.get_run(session, run_id, lock=True)
        assert run is not None
        runs._committable(run)
        plan = dict(run.plan or {})
        if plan.get("kind") != "routes":
            raise Conflict("This run's plan is not a routes plan.")
        offered, written, changes = _apply(session, plan, run_id)
        run.plan = {
            **plan,
            "commit": {"offered": len(offered), "changes": changes, "at": utcnow().isoformat()},
        }
        run.state = "committed"
        what = [c["what"] for c in changes]
        publish(
            session,
            run,
            "run.committed",
            offered=len(offered),
            unassigned=len(plan.get("unassigned", [])) + what.count("unplaced"),
            dropped=what.count("dropped"),
            resolved=0,
        )
        session.flush()
        session.commit()
    return schemas.CommitOut(
        run_id=run_id,
        state="committed",
        offered=len(offered),
        assignment_ids=written,
        changes=[schemas.CommitChange.model_validate(c) for c in changes],
    )


def _apply(
    session: Session, plan: dict[str, Any], run_id: str
) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """Check and write each planned delivery: (request ids offered, assignment ids, changes)."""
    from service.runs import service as runs

    now = utcnow()
    origin = datetime.fromisoformat(plan["origin"])
    planned = sorted(plan["assignments"], key=lambda a: (a["start"], a["request_id"]))
    offered: list[str] = []
    written: list[str] = []
    changes: list[dict[str, Any]] = []
    if not planned:
        return offered, written, changes
    live.single_writer(session)
    requests = {}
    for rid in sorted({a["request_id"] for a in planned}):
        try:
            requests[rid] = dispatch_repo.lock_request(session, rid)
        except NoResultFound:
            pass
    responders = {
        r.id: r
        for r in dispatch_repo.lock_responders(
            session, {j for a in planned for j in a["responder_ids"]}
        )
    }
    points = pickups_repo.lock_points(
        session, {a["pickup_point_id"] for a in planned if a.get("pickup_point_id")}
    )
    busy = _busy_responders(session, plan, responders)
    week_start = origin - timedelta(days=origin.weekday())
    ctx = adapter.Context(
        origin=origin,
        day_end=origin + timedelta(days=1),
        week_start=week_start,
        week_end=week_start + timedelta(days=7),
        requests=dict(requests),
    )
    for a in planned:
        rid = a["request_id"]
        request = requests.get(rid)
        if request is None:
            changes.append(_change(rid, "dropped", "the request no longer exists"))
            continue
        why = runs._no_longer_open(session, request, now)
        if why:
            changes.append(_change(rid, "dropped", why))
            continue
        why = _does_not_fit(a, responders, busy, points)
        if why:
            changes.append(_change(rid, "unplaced", f"{why}; {REPLAN}"))
            continue
        point = points[a["pickup_point_id"]]
        point.stock = {**point.stock, a["item"]: point.stock[a["item"]] - a["boxes"]}
        outcome = live.offer(
            session, ctx, request, solver.Assignment.from_dict(a), now, note=f"routes run {run_id}"
        )
        offered.append(rid)
        written += [o["assignment_id"] for o in outcome.offers]
    session.flush()
    return offered, written, changes


def _change(request_id: str, what: str, why: str) -> dict[str, Any]:
    return {"request_id": request_id, "what": what, "why": why}


def _busy_responders(
    session: Session, plan: dict[str, Any], responders: dict[str, Any]
) -> dict[str, str]:
    """Responder id -> why, for those who took other timed work during their route since
    the plan was made (work of this plan's own requests aside)."""
    own = [a["request_id"] for a in plan["assignments"]]
    out: dict[str, str] = {}
    for route in plan.get("routes", []):
        j = route["responder_id"]
        if j not in responders:
            continue
        lo, hi = datetime.fromisoformat(route["start"]), datetime.fromisoformat(route["end"])
        for _, start, duration, travel in repo.busy_elsewhere(session, [j], own):
            if start - timedelta(minutes=travel) < hi and lo < start + timedelta(
                minutes=duration + travel
            ):
                out[j] = f"responder {j} took other work during the route meanwhile"
                break
    return out


def _does_not_fit(
    a: dict[str, Any], responders: dict[str, Any], busy: dict[str, str], points: dict[str, Any]
) -> str | None:
    for j in a["responder_ids"]:
        r = responders.get(j)
        if r is None or not r.active:
            return f"responder {j} is no longer active"
        if j in busy:
            return busy[j]
    point = points.get(a.get("pickup_point_id") or "")
    if point is None or not point.active:
        return f"pickup point {a.get('pickup_point_id')} is retired"
    left = int((point.stock or {}).get(a["item"], 0))
    if left < a["boxes"]:
        return (
            f"pickup point {point.id} holds {left} boxes of {a['item']} now, "
            f"the delivery needs {a['boxes']}"
        )
    return None
