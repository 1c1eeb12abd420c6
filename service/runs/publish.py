"""A run's life in the outbox: run.* events, written in the transaction that changes the run.

Each event carries the run's first community as ``community_id`` and is about the
``dispatch_run``; the feed shows it to whoever may read the run itself (every one of its
communities visible: see service.events.repository.visible_to), never to grid apps or
responders.
"""

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.events.service import record
from service.runs.models import DispatchRun

ENDED_KINDS = {
    "succeeded": "run.finished",
    "failed": "run.failed",
    "cancelled": "run.cancelled",
}
KINDS = (
    "run.created",
    "run.started",
    "run.progress",
    "run.retrying",
    "run.finished",
    "run.failed",
    "run.cancelled",
    "run.committed",
    "run.commit_failed",
)


def publish(session: Session, run: DispatchRun, kind: str, **details: Any) -> None:
    """Record ``kind`` for ``run`` in ``session``'s transaction."""
    assert kind in KINDS, kind
    record(
        session,
        community_id=run.community_ids[0],
        kind=kind,
        subject_type="dispatch_run",
        subject_id=run.id,
        payload={
            "run_id": run.id,
            "state": run.state,
            "mode": run.mode,
            "scope_type": run.scope_type,
            "scope_id": run.scope_id,
            "community_ids": list(run.community_ids),
            "attempts": run.attempts,
            **details,
        },
    )


def end(
    session: Session,
    run: DispatchRun,
    state: str,
    now: datetime,
    *,
    error: str | None = None,
    **details: Any,
) -> None:
    """Move ``run`` to a final state (succeeded, failed or cancelled) and say so."""
    run.state, run.phase, run.finished_at = state, "done", now
    if error is not None:
        run.error = error
    if state != "succeeded":
        details.setdefault("error", run.error)
    details.setdefault("has_plan", run.plan is not None)
    publish(session, run, ENDED_KINDS[state], **details)
