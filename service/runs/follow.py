"""``wushe dispatch-run``: start a run from the command line and follow it to its end.

The run is created as the system (an admin principal, audited as ``system`` like every CLI
write) through the same rules as POST /v1/dispatch-runs. Following reads the run every
``POLL_S`` in a short read of its own: on a terminal a bar redrawn in place (parts done of
parts, requests planned, elapsed), otherwise a plain line whenever something changed.
"""

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from service.runs.models import ENDED

POLL_S = 0.5
BAR = 24
SCOPES = ("grid", "community", "street", "district")


class BadScope(ValueError):
    """The scope named on the command line is malformed or unknown."""


def resolve_scope(session: Any, text: str) -> tuple[str, str]:
    """``type:<id or code>`` -> (type, id)."""
    from sqlalchemy import or_, select

    from service.places.models import Community, District, Grid, Street

    kind, _, ref = text.partition(":")
    if kind not in SCOPES or not ref:
        raise BadScope(f"--scope must be TYPE:ID-OR-CODE with TYPE one of {', '.join(SCOPES)}")
    model = {"grid": Grid, "community": Community, "street": Street, "district": District}[kind]
    found = session.scalar(select(model.id).where(or_(model.id == ref, model.code == ref)))
    if found is None:
        raise BadScope(f"unknown {kind} {ref!r}")
    return kind, found


def start(scope: str, mode: str, time_limit: int) -> str:
    """Create the run (nothing is written if the scope or the run is refused); its id."""
    from service.auth.principal import SYSTEM
    from service.db import get_sessionmaker
    from service.errors import ProblemError
    from service.runs import schemas
    from service.runs import service as runs

    with get_sessionmaker()() as session:
        kind, scope_id = resolve_scope(session, scope)
        try:
            body = schemas.RunCreate(
                scope=schemas.RunScope(type=kind, id=scope_id),  # type: ignore[arg-type]
                mode=mode,  # type: ignore[arg-type]
                time_limit_s=time_limit,
            )
            run = runs.create_run(session, SYSTEM, body)
        except ProblemError as exc:
            session.rollback()
            raise BadScope(str(exc.detail)) from None
        except ValueError as exc:  # pydantic: a time limit out of range
            session.rollback()
            raise BadScope(str(exc).splitlines()[-1].strip()) from None
        run_id = run.id
        session.commit()
    return run_id


def snapshot(run_id: str) -> dict[str, Any]:
    from service.db import get_sessionmaker
    from service.runs import repository as repo

    with get_sessionmaker()() as session:
        run = repo.get_run(session, run_id)
        assert run is not None
        plan = run.plan or {}
        return {
            "state": run.state,
            "phase": run.phase,
            "progress": dict(run.progress or {}),
            "error": run.error,
            "assigned": sum(1 for a in plan.get("assignments", []) if not a.get("fixed")),
            "unassigned": len(plan.get("unassigned", [])),
            "objective": plan.get("objective"),
            "offered": (plan.get("commit") or {}).get("offered"),
            # mode=commit: a succeeded run is committed next, unless that failed (error)
            "commit_pending": run.mode == "commit"
            and run.state == "succeeded"
            and plan.get("commit") is None
            and not run.error,
        }


def line(snap: dict[str, Any], elapsed: float, tty: bool) -> str:
    p = snap["progress"]
    total, done = p.get("parts_total"), p.get("parts_done") or 0
    considered = p.get("requests_considered")
    planned = p.get("requests_planned")
    if total:
        filled = round(BAR * done / total)
        head = f"[{'#' * filled}{'.' * (BAR - filled)}] parts {done}/{total}"
    else:
        head = f"{snap['state']}/{snap['phase']}"
    if planned is not None:
        head += f", requests planned {planned}/{considered if considered is not None else '?'}"
    elif considered is not None:
        head += f", requests {considered}"
    text = f"{head}, {elapsed:.1f}s"
    return text if tty else f"{snap['state']}: {text}"


def summary(snap: dict[str, Any], run_id: str) -> str:
    parts = [f"run {run_id} {snap['state']}"]
    if snap["objective"] is not None:
        parts.append(f"assigned {snap['assigned']}, unassigned {snap['unassigned']}")
        parts.append(f"objective {snap['objective']:g}")
    total = snap["progress"].get("parts_total")
    if total:
        parts.append(f"{total} parts")
    if snap["offered"] is not None:
        parts.append(f"offered {snap['offered']}")
    if snap["error"]:
        parts.append(f"error: {snap['error']}")
    return "; ".join(parts)


def follow(
    run_id: str,
    out: TextIO | None = None,
    *,
    show: bool = True,
    read: Callable[[str], dict[str, Any]] = snapshot,
) -> dict[str, Any]:
    """Poll the run until it has ended (committed, for a mode=commit run that succeeded
    and has not been committed yet); show its progress; return the last snapshot."""
    out = out or sys.stdout
    tty = out.isatty()
    started = time.monotonic()
    last = ""
    while True:
        snap = read(run_id)
        ended = snap["state"] in ENDED and not snap.get("commit_pending")
        text = line(snap, time.monotonic() - started, tty)
        if show and tty:
            out.write("\r" + text.ljust(len(last)))
            out.flush()
        elif show and _changed(text, last):
            out.write(text + "\n")
            out.flush()
        last = text
        if ended:
            break
        time.sleep(POLL_S)
    if show and tty:
        out.write("\n")
    out.write(summary(snap, run_id) + "\n")
    return snap


def _changed(text: str, last: str) -> bool:
    """Plain lines only when more than the clock moved."""
    return text.rsplit(", ", 1)[0] != last.rsplit(", ", 1)[0]
