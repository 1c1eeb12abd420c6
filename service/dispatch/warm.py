"""Warm live matching: one solver state per community and planning day, kept between requests.

Building a `solver.MatchState` means reading every responder of the community and their
counted work; at 10,000 responders that takes a quarter of a second of CPU (half a second the
first time), far too long for each request. So the state is built once per (database,
community, local day) and then kept in step:

- Offers live matching makes are counted in the state as they are written, while their
  responders are locked, and taken back if the transaction rolls back.
- An assignment of a warm request that leaves the counted states (declined, timed out,
  withdrawn, cancelled) gives its capacity back to the state when that transaction commits.
- Any other change that could matter (a responder, a responder's communities, a fund, an
  assignment written by hand or by a batch run) marks the community's states stale; a stale
  state is rebuilt on a background thread while the old one keeps answering.
- Other processes learn of those changes, and of capacity given back, through a change
  counter per community in the database (`WarmVersion`), raised in the same transaction.
  Every ``live_cache_ttl_s`` a state compares the counters with those it was built at and
  is rebuilt only if they moved; else it is rebuilt after ``MAX_AGE_TTLS`` times that, for
  writes that bypass the session (raw SQL). At 10,000 responders a rebuild holds the GIL
  for a fifth of a second, which a timer alone paid every minute under load.
- Work another process gave a responder (another API worker's offer, a batch run) is counted
  in the state, responder by responder, when live matching's locked re-check finds it
  (`live._catch_up`); its release elsewhere raises the counter and is seen at the next
  check, until which the state only thinks that responder busier than it is. A release
  this process makes, and gives back to its own states, raises the counter too; a state
  then takes the new value as its own when it was one behind (nobody else raised it
  meanwhile), so declines and timeouts do not rebuild the states of the process that
  handled them.

A state that is behind never causes a wrong offer: the database decides. Live matching locks
the candidates and re-reads their counted work and busy time (`live.fits`), and compares each
candidate's row with the signature the state was built from; a candidate whose row changed is
skipped. A stale state can only make a choice less good, never an unsafe one.
"""

import gc
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, inspect
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, sessionmaker

import solver
from service.assignments.models import Assignment
from service.config import get_settings
from service.dispatch import adapter
from service.dispatch import repository as repo
from service.dispatch.models import ANY_COMMUNITY
from service.funds.models import CharityFund
from service.places.models import Community
from service.responders.models import Responder, ResponderCommunity
from solver.problem import Request

MAX_STATES = 32
MIN_REBUILD_GAP_S = 2.0
MAX_AGE_TTLS = 10  # a state is rebuilt after this many TTLs even if no counter moved
# Changes to these rows can change who may serve; they make a community's states stale.
_STATIC_TYPES = (Responder, ResponderCommunity, CharityFund, Community)
_ALL = "*"


@dataclass
class Member:
    """One responder's share of a warm offer, as the state counted it."""

    assignment: solver.Assignment
    request: Request


@dataclass
class DayState:
    """The matching state of one community on one planning day."""

    community_id: str
    origin: datetime
    ctx: adapter.Context
    state: solver.MatchState
    signatures: dict[str, tuple[Any, ...]]
    fund_terms: list[tuple[Any, ...]]
    fixed_requests: frozenset[str]
    built_at: float
    # The change counters (community, any) read before the build read anything else, and
    # when they were last found unchanged.
    versions: tuple[int, int] = (0, 0)
    checked_at: float = 0.0
    lock: threading.RLock = field(default_factory=threading.RLock)
    # What this process committed to the state since it was built, by (request, responder).
    members: dict[tuple[str, str], Member] = field(default_factory=dict)
    stale: bool = False
    rebuilding: bool = False
    # Commits and releases that happened while a rebuild was reading the database.
    log: list[tuple[str, tuple[str, str], Member | None]] = field(default_factory=list)

    def commit(self, key: tuple[str, str], member: Member) -> None:
        with self.lock:
            self.state.commit(member.assignment, member.request)
            self.members[key] = member
            if self.rebuilding:
                self.log.append(("commit", key, member))

    def release(self, key: tuple[str, str]) -> None:
        with self.lock:
            member = self.members.pop(key, None)
            if member is not None:
                self.state.release(member.assignment, member.request)
            else:
                # Counted by the build itself: only a rebuild can give it back exactly.
                self.stale = True
            if self.rebuilding:
                self.log.append(("release", key, None))


class _Registry:
    """The warm states of one database engine."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.states: OrderedDict[tuple[str, str], DayState] = OrderedDict()
        self.building: dict[tuple[str, str], threading.Lock] = {}


_registries: "WeakKeyDictionary[Engine, _Registry]" = WeakKeyDictionary()
_registries_lock = threading.Lock()


def _registry(engine: Engine) -> _Registry:
    with _registries_lock:
        registry = _registries.get(engine)
        if registry is None:
            registry = _registries[engine] = _Registry()
        return registry


def _key(community_id: str, origin: datetime) -> tuple[str, str]:
    return community_id, origin.date().isoformat()


def day_state(session: Session, community_id: str, origin: datetime) -> DayState:
    """The warm state for the community's day, built now if there is none yet."""
    engine = session.get_bind()
    registry = _registry(engine)  # type: ignore[arg-type]
    key = _key(community_id, origin)
    with registry.lock:
        found = registry.states.get(key)
        if found is not None:
            registry.states.move_to_end(key)
        build_lock = registry.building.setdefault(key, threading.Lock())
    if found is None:
        # One builder per key; the others wait for its state instead of building their own.
        with build_lock:
            with registry.lock:
                found = registry.states.get(key)
            if found is None:
                found = _build(session, community_id, origin)
                with registry.lock:
                    registry.states[key] = found
                    while len(registry.states) > MAX_STATES:
                        registry.states.popitem(last=False)
        return found
    settings = get_settings()
    now = time.monotonic()
    if not found.stale and now - found.checked_at > settings.live_cache_ttl_s:
        if (
            now - found.built_at <= MAX_AGE_TTLS * settings.live_cache_ttl_s
            and repo.versions(session, community_id) == found.versions
        ):
            found.checked_at = now  # nothing changed elsewhere: keep it
        else:
            found.stale = True
    if found.stale:
        if settings.background:
            _rebuild_in_background(engine, found)  # type: ignore[arg-type]
        else:
            # No background threads (tests, one-shot tools): catch up before answering.
            with found.lock:
                found.rebuilding, found.log = True, []
            _rebuild(engine, found, session)  # type: ignore[arg-type]
    return found


def _build(session: Session, community_id: str, origin: datetime) -> DayState:
    from service.metrics import WARM_BUILD_SECONDS

    with WARM_BUILD_SECONDS.time(), _no_cycle_collection():
        return _read(session, community_id, origin)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The garbage collector's cycle search off for a while (reference counting still frees),
    and what was built then frozen (``gc_freeze``).

    A build holds ~100,000 short-lived rows, lists and tuples at once; kept alive across
    many young collections they were promoted and set off one or two full collections per
    build, each walking every object of the process with all threads stopped (0.1-0.4 s of a
    0.6-0.8 s build at 10,000 responders). Of concurrent builds only one turns it
    back on (the one that found it on), so it is never left off.

    The state then lives until it is rebuilt, and the collector would walk it again on every
    pass: frozen, a worker's full pass under load took 8-10 ms instead of 20-35, and a young
    one 1.5-2 ms instead of 13-26. A build leaves no cyclic garbage behind (a full collection
    after three rebuilds at 10,000 responders found none), so a replaced state is still freed
    by reference counting. What the freeze also catches from requests in flight at that moment
    stays unless freed the same way: a few sessions' worth per build."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
            if get_settings().gc_freeze:
                gc.freeze()


def _read(session: Session, community_id: str, origin: datetime) -> DayState:
    # Read first: a change committed while the build reads is then seen at the next check.
    versions = repo.versions(session, community_id)
    problem, ctx = adapter.build_problem(
        session,
        [community_id],
        [],
        origin,
        fixed_states=adapter.LIVE_FIXED_STATES,
        days=adapter.MAX_DAYS,
    )
    funds = adapter.fund_dicts(session, [community_id], {})
    return DayState(
        community_id=community_id,
        origin=ctx.origin,
        # Without the rows it was built from (10,000 responders' terms, the fixed requests):
        # live matching brings its own request and locks its own responders, and the state
        # lives long, so every full garbage collection would walk them.
        ctx=replace(ctx, requests={}, request_dicts={}, responders={}),
        state=solver.MatchState(problem),
        signatures=ctx.signatures,
        fund_terms=fund_terms(funds),
        fixed_requests=frozenset(f.request_id for f in problem.fixed),
        built_at=time.monotonic(),
        versions=versions,
        checked_at=time.monotonic(),
    )


def fund_terms(funds: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a fund pays for, without its balance, for comparing a state with the database."""
    return [
        (f["id"], repr(f["categories"]), repr(f["community_ids"]), repr(f["resident_tags"]))
        for f in funds
    ]


def _rebuild_in_background(engine: Engine, day: DayState) -> None:
    with day.lock:
        if day.rebuilding or time.monotonic() - day.built_at < MIN_REBUILD_GAP_S:
            return
        day.rebuilding = True
        day.log = []
    threading.Thread(
        target=_rebuild, args=(engine, day), name="wushe-warm-rebuild", daemon=True
    ).start()


def _rebuild(engine: Engine, day: DayState, session: Session | None = None) -> None:
    try:
        if session is not None:
            fresh = _build(session, day.community_id, day.origin)
        else:
            with sessionmaker(bind=engine)() as own_session:
                fresh = _build(own_session, day.community_id, day.origin)
    except Exception:
        with day.lock:
            day.rebuilding = False
            day.log = []
            day.built_at = time.monotonic()  # try again after the gap, not on every request
        raise
    with day.lock:
        fresh.lock = day.lock
        for what, key, member in day.log:
            if what == "commit" and member is not None:
                # Committed after the rebuild read that request's work: count it again.
                if member.request.id not in fresh.fixed_requests:
                    fresh.commit(key, member)
            elif key in fresh.members:
                fresh.release(key)
            else:
                fresh.stale = True
        day.ctx, day.state, day.signatures = fresh.ctx, fresh.state, fresh.signatures
        day.fund_terms, day.fixed_requests = fresh.fund_terms, fresh.fixed_requests
        day.members, day.stale = fresh.members, fresh.stale
        day.versions = fresh.versions
        day.built_at = day.checked_at = time.monotonic()
        day.rebuilding, day.log = False, []


def refresh_funds(session: Session, day: DayState) -> bool:
    """Set the state's fund balances from the ledgers; False if the funds themselves changed."""
    funds = adapter.fund_dicts(session, [day.community_id], {})
    if fund_terms(funds) != day.fund_terms:
        return False
    with day.lock:
        for f in funds:
            day.state.loads.funds[day.state.ix.fund_pos[f["id"]]] = f["balance"]
    return True


def rebuild_now(session: Session, day: DayState) -> DayState:
    """Replace a state that cannot answer correctly (its funds changed) before matching."""
    fresh = _build(session, day.community_id, day.origin)
    registry = _registry(session.get_bind())  # type: ignore[arg-type]
    with registry.lock:
        registry.states[_key(day.community_id, day.origin)] = fresh
    return fresh


def on_rollback(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` if this session's transaction rolls back instead of committing."""
    session.info.setdefault("warm_on_rollback", []).append(action)


# --- keeping states in step with the session's changes


def own(session: Session, assignment_ids: list[str]) -> None:
    """Assignments live matching itself writes; the state learns of them through `commit`."""
    session.info.setdefault("warm_own", set()).update(assignment_ids)


@sa_event.listens_for(Session, "after_flush")
def _note_changes(session: Session, _context: Any) -> None:
    stale: set[str] = session.info.setdefault("warm_stale", set())
    released: set[tuple[str, str, str]] = session.info.setdefault("warm_released", set())
    mine = session.info.get("warm_own", set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, _STATIC_TYPES):
            stale.add(_ALL)
        elif isinstance(obj, Assignment):
            if obj in session.new:
                if obj.id not in mine:
                    stale.add(obj.community_id)
                continue
            history = inspect(obj).attrs.state.history
            before = history.deleted[0] if history.deleted else None
            if before in repo.COUNTED_STATES and obj.state not in repo.COUNTED_STATES:
                released.add((obj.community_id, obj.request_id, obj.responder_id))
            elif (
                before is not None
                and before not in repo.COUNTED_STATES
                and (obj.state in repo.COUNTED_STATES)
            ):
                stale.add(obj.community_id)
            elif inspect(obj).attrs.planned_start.history.has_changes():
                stale.add(obj.community_id)


@sa_event.listens_for(Session, "before_commit")
def _raise_versions(session: Session) -> None:
    """Raise the change counters of what this transaction changed, for other processes."""
    session.flush()  # what is still pending is noted now, not after the counters were raised
    stale = session.info.get("warm_stale", set())
    released = session.info.get("warm_released", set())
    if stale or released:
        communities = {ANY_COMMUNITY if c == _ALL else c for c in stale}
        communities.update(community_id for community_id, _, _ in released)
        raised = repo.bump_versions(session, communities)
        # Only releases can be followed in place (see _apply_changes); stale states rebuild.
        session.info["warm_raised"] = {
            c: v for c, v in raised.items() if c not in stale and _ALL not in stale
        }


@sa_event.listens_for(Session, "after_commit")
def _apply_changes(session: Session) -> None:
    session.info.pop("warm_on_rollback", None)
    stale = session.info.pop("warm_stale", set())
    released = session.info.pop("warm_released", set())
    raised = session.info.pop("warm_raised", {})
    session.info.pop("warm_own", None)
    if not (stale or released):
        return
    registry = _registry(session.get_bind())  # type: ignore[arg-type]
    with registry.lock:
        states = list(registry.states.values())
    for day in states:
        if _ALL in stale or day.community_id in stale:
            day.stale = True
        for community_id, request_id, responder_id in released:
            if community_id == day.community_id:
                with day.lock:
                    if (request_id, responder_id) in day.members:
                        day.release((request_id, responder_id))
                    elif request_id in day.fixed_requests:
                        day.stale = True
        new = raised.get(day.community_id)
        with day.lock:
            if new is not None and not day.stale and day.versions[0] == new - 1:
                day.versions = (new, day.versions[1])


@sa_event.listens_for(Session, "after_rollback")
def _forget_changes(session: Session) -> None:
    for action in session.info.pop("warm_on_rollback", []):
        action()
    for name in ("warm_stale", "warm_released", "warm_own", "warm_raised"):
        session.info.pop(name, None)
