"""Work nobody calls an endpoint for: offers past their answer time, requests past their window.

``tick(now)`` does one round; the app's lifespan runs it every ``WUSHE_BACKGROUND_INTERVAL_S``
on a daemon thread. Each due row is handled in its own short transaction that first locks
the request and then the assignment (the order live matching uses too) with SKIP LOCKED, and
re-checks the row is still due: two processes ticking at once split the work instead of
doing it twice, and one row that fails is logged and retried next round without undoing the
others. (SQLite has a single writer and no row locks; there the re-check does the job.)
"""

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import anyio
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.assignments.models import Assignment
from service.config import get_settings
from service.db import get_sessionmaker
from service.requests.models import ServiceRequest
from service.types import utcnow

log = logging.getLogger(__name__)

# Rows handled per kind per round; the rest wait for the next round, so one round stays short.
BATCH = 200
EXPIRABLE = ("submitted", "offered")


@dataclass
class TickReport:
    timed_out: int = 0
    rematched: int = 0
    expired: int = 0
    zones_changed: int = 0
    failed: int = 0


def tick(now: datetime | None = None) -> TickReport:
    """One round: time out offers past ``respond_by``, expire requests past their window, and
    re-tag where a zone came into force or ran out."""
    now = now or utcnow()
    report = TickReport()
    # Timeouts first: a timed-out offer on a request whose window has also ended is not
    # matched again, and the expiry below then closes the request.
    for assignment_id in _due_offers(now):
        _one(report, "time out offer", lambda s, a=assignment_id: _time_out(s, a, now, report))
    for request_id in _due_requests(now):
        _one(report, "expire request", lambda s, r=request_id: _expire(s, r, now, report))
    _one(report, "follow zone periods", lambda s: _follow_zones(s, now, report))
    return report


def _follow_zones(session: Session, now: datetime, report: TickReport) -> None:
    from service.zones.service import follow_the_clock

    report.zones_changed += follow_the_clock(session, now)


def _due_offers(now: datetime) -> list[str]:
    with get_sessionmaker()() as session:
        stmt = (
            select(Assignment.id)
            .where(Assignment.state == "offered", Assignment.respond_by < now)
            .order_by(Assignment.respond_by)
            .limit(BATCH)
        )
        return list(session.scalars(stmt))


def _due_requests(now: datetime) -> list[str]:
    with get_sessionmaker()() as session:
        stmt = (
            select(ServiceRequest.id)
            .where(ServiceRequest.state.in_(EXPIRABLE), ServiceRequest.window_end < now)
            .order_by(ServiceRequest.window_end)
            .limit(BATCH)
        )
        return list(session.scalars(stmt))


def _one(report: TickReport, what: str, work: Callable[[Session], None]) -> None:
    with get_sessionmaker()() as session:
        try:
            work(session)
            session.commit()
        except Exception:
            session.rollback()
            report.failed += 1
            log.exception("background: could not %s", what)


def _lock_request(session: Session, request_id: str) -> ServiceRequest | None:
    stmt = (
        select(ServiceRequest)
        .where(ServiceRequest.id == request_id)
        .with_for_update(skip_locked=True)
    )
    return session.scalar(stmt)


def _time_out(session: Session, assignment_id: str, now: datetime, report: TickReport) -> None:
    from service.dispatch import lifecycle, live

    request_id = session.scalar(select(Assignment.request_id).where(Assignment.id == assignment_id))
    request = _lock_request(session, request_id) if request_id else None
    if request is None:
        return  # another process holds it; it will do the work or leave it for next round
    assignment = session.scalar(
        select(Assignment)
        .where(
            Assignment.id == assignment_id,
            Assignment.state == "offered",
            Assignment.respond_by < now,
        )
        .with_for_update(skip_locked=True)
    )
    if assignment is None:
        return  # answered, or handled by another process, since we looked
    # withdraw = transition_assignment(timed_out) plus what a lapsed offer sets off: the rest
    # of a team's offer cancelled, the fund hold released, the request back to submitted.
    lifecycle.withdraw(session, request, assignment, "timed_out", "no answer in time")
    report.timed_out += 1
    if request.state in EXPIRABLE and request.window_end > now:
        live.rematch(session, request)
        report.rematched += 1


def _expire(session: Session, request_id: str, now: datetime, report: TickReport) -> None:
    from service.dispatch import lifecycle

    request = _lock_request(session, request_id)
    if request is None or request.state not in EXPIRABLE or request.window_end >= now:
        return
    # expire = transition_request(expired) after cancelling live offers and releasing holds.
    lifecycle.expire(session, request)
    report.expired += 1


class BackgroundLoop:
    """Runs ``tick`` every ``interval`` seconds on a daemon thread until stopped."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wushe-background", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                report = tick()
                if report.timed_out or report.expired or report.failed:
                    log.info("background: %s", report)
            except Exception:
                log.exception("background: round failed")
            self.rounds += 1


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """FastAPI lifespan: start the loop with the app (unless WUSHE_BACKGROUND=false)."""
    settings = get_settings()
    loop = BackgroundLoop(settings.background_interval_s) if settings.background else None
    app.state.background = loop
    if loop is not None:
        loop.start()
    try:
        yield
    finally:
        if loop is not None:
            # Joining waits for a round in progress; off the event loop so nothing else stalls.
            await anyio.to_thread.run_sync(loop.stop)
