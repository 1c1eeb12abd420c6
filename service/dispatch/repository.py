"""Every query dispatch needs: responders and their work, funds and holds, locks."""

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Select, Text, bindparam, cast, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from service.assignments.models import LIVE_STATES, Assignment
from service.dispatch.models import ANY_COMMUNITY, WarmVersion
from service.funds.models import CharityFund, FundEntry
from service.places.models import Community
from service.requests.models import ServiceRequest
from service.residents.models import Resident
from service.responders.models import Responder, ResponderCommunity

# Work that uses up a responder's caps: what it holds now and what it already did.
COUNTED_STATES = (*LIVE_STATES, "completed")


@dataclass
class Work:
    """One counted task of a responder: what it costs against the caps."""

    assignment_id: str
    request_id: str
    responder_id: str
    state: str
    window_start: datetime
    minutes: int
    quantity: int
    planned_start: datetime | None = None
    duration: int = 0
    travel: int = 0

    def busy(self) -> tuple[datetime, datetime] | None:
        """The time the task holds its responder: out, the visit, and back (timed work only)."""
        if self.planned_start is None:
            return None
        trip = timedelta(minutes=self.travel)
        visit = timedelta(minutes=self.duration)
        return self.planned_start - trip, self.planned_start + visit + trip


def lock_request(session: Session, request_id: str) -> ServiceRequest:
    """The request row, locked and re-read, so its state is the committed one.

    SQLite has no row locks: a no-op write takes the database's single write lock instead,
    so every dispatch writer holds it before anything else (live matching's process lock
    is then always taken second, in the same order everywhere).
    """
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql(
            "UPDATE service_request SET id = id WHERE id = ?", (request_id,)
        )
    stmt = (
        select(ServiceRequest)
        .where(ServiceRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return session.scalars(stmt).one()


def lock_responders(
    session: Session, responder_ids: Iterable[str], *, skip_locked: bool = False
) -> list[Responder]:
    """Lock responders in id order: every writer takes them in the same order, so no deadlock.

    With ``skip_locked`` rows another transaction holds are left out instead of waited for
    (PostgreSQL; SQLite has a single writer and nothing to skip)."""
    ids = sorted(set(responder_ids))
    stmt = (
        select(Responder)
        .where(Responder.id.in_(ids))
        .order_by(Responder.id)
        .with_for_update(of=Responder, skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(stmt))


@dataclass(slots=True)
class ResponderTerms:
    """A responder's terms as plain values, for a solver problem or a locked re-check (no ORM
    object to build: at 10,000 responders that was nearly half of a warm state's build).

    Its JSON values (lists of qualifications, categories, shifts, clearances) are shared by
    every responder with the same text (`_decoded`): read them, never change them."""

    id: str
    active: bool
    kind: str
    lon: float
    lat: float
    radius_m: int
    speed_kmh: float
    qualifications: list[Any]
    licence_level: str
    service_categories: list[Any]
    weekly_shifts: list[Any]
    shift_exceptions: list[Any]
    max_tasks_per_day: int | None
    slots_per_day: int | None
    max_minutes_per_day: int | None
    max_tasks_per_week: int | None
    max_minutes_per_week: int | None
    emergency_team: bool
    emergency_max_tasks_per_day: int | None
    emergency_max_minutes_per_day: int | None
    load_capacity: int
    zone_clearances: list[Any]
    community_ids: list[str] = field(default_factory=list)


# What matching reads of a responder, in ResponderTerms' order: what the solver's responder
# is made of, which is also its signature (adapter.responder_signature) and caps; nothing
# else is loaded. Its communities come from the link table.
_TERMS = tuple(f.name for f in fields(ResponderTerms) if f.name != "community_ids")
_responders = Responder.__table__
_JSON_AT = tuple(i for i, name in enumerate(_TERMS) if isinstance(_responders.c[name].type, JSON))
# JSON columns come as their text, decoded by `_decoded`.
_TERM_COLUMNS = tuple(
    cast(_responders.c[name], Text).label(name) if i in _JSON_AT else _responders.c[name]
    for i, name in enumerate(_TERMS)
)
_links = ResponderCommunity.__table__
# A responder's communities, comma-joined (ids hold no comma), as one column of its own row.
_COMMUNITIES_OF = (
    select(func.aggregate_strings(_links.c.community_id, ","))
    .where(_links.c.responder_id == _responders.c.id)
    .scalar_subquery()
    .label("community_ids")
)
# Built once: the statements differ only in their parameters, so neither construction nor
# the compiled-cache key is paid per match. The communities come in the same statement (a
# subquery per locked row, a handful of rows), not in a second round trip; the lock is
# still on responder rows only.
_LOCK_TERMS = {
    skip: select(*_TERM_COLUMNS, _COMMUNITIES_OF)
    .where(_responders.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_responders.c.id)
    .with_for_update(skip_locked=skip)
    for skip in (False, True)
}


def lock_responder_terms(
    session: Session, responder_ids: Iterable[str], *, skip_locked: bool = False
) -> list[ResponderTerms]:
    """lock_responders for live matching: the same locks in the same order, but the rows come
    back as ResponderTerms, with their communities, from one plain statement."""
    ids = sorted(set(responder_ids))
    if not ids:
        return []
    found = []
    for row in session.execute(_LOCK_TERMS[skip_locked], {"ids": ids}):
        terms = _terms(row[:-1])
        terms.community_ids = row[-1].split(",") if row[-1] else []
        found.append(terms)
    return found


def serving_terms(
    session: Session, community_ids: Iterable[str], responder_ids: Iterable[str] | None = None
) -> list[ResponderTerms]:
    """active_responders as ResponderTerms, for building a solver problem."""
    serving = serving_ids(community_ids)
    stmt = select(*_TERM_COLUMNS).where(
        _responders.c.active.is_(True), _responders.c.id.in_(serving)
    )
    if responder_ids is not None:
        stmt = stmt.where(_responders.c.id.in_(list(responder_ids)))
    links = select(_links.c.responder_id, _links.c.community_id).where(
        _links.c.responder_id.in_(serving)
    )
    return _with_communities(session, session.execute(stmt.order_by(_responders.c.id)), links)


def serving_ids(community_ids: Iterable[str]) -> Select[Any]:
    """The ids of every responder serving one of these communities (active or not), as a query."""
    return select(_links.c.responder_id).where(_links.c.community_id.in_(list(community_ids)))


def _with_communities(session: Session, rows: Iterable[Any], links: Any) -> list[ResponderTerms]:
    """The rows as ResponderTerms, each with the communities ``links`` gives it."""
    found = [_terms(row) for row in rows]
    by_id = {r.id: r for r in found}
    for responder_id, community_id in session.execute(links):
        if responder_id in by_id:
            by_id[responder_id].community_ids.append(community_id)
    return found


def _terms(row: Any) -> ResponderTerms:
    values = list(row)
    for i in _JSON_AT:
        values[i] = _decoded(values[i])
    return ResponderTerms(*values)


@lru_cache(maxsize=4096)
def _decoded(text: str | None) -> Any:
    """A JSON text of responder terms, decoded once and then shared. Most of a community's
    responders have the same shifts and lists: at 10,000 responders decoding each row's
    own was ~40 % of a warm state's build, and a state kept 50,000 lists of its own, which
    every full garbage collection walks (one such pass took ~0.2 s, all threads stopped)."""
    return None if text is None else json.loads(text)


def community(session: Session, community_id: str) -> Community | None:
    return session.get(Community, community_id)


def active_responders(
    session: Session, community_ids: Iterable[str], responder_ids: Iterable[str] | None = None
) -> list[Responder]:
    serving = select(ResponderCommunity.responder_id).where(
        ResponderCommunity.community_id.in_(list(community_ids))
    )
    stmt = select(Responder).where(Responder.active.is_(True), Responder.id.in_(serving))
    if responder_ids is not None:
        stmt = stmt.where(Responder.id.in_(list(responder_ids)))
    return list(session.scalars(stmt.order_by(Responder.id)))


def responders_by_id(session: Session, responder_ids: Iterable[str]) -> list[Responder]:
    stmt = select(Responder).where(Responder.id.in_(list(responder_ids))).order_by(Responder.id)
    return list(session.scalars(stmt))


def _work_statement(among: Any) -> Select[Any]:
    return (
        select(
            Assignment.id,
            Assignment.request_id,
            Assignment.responder_id,
            Assignment.state,
            ServiceRequest.window_start,
            ServiceRequest.duration_min,
            Assignment.travel_minutes,
            ServiceRequest.quantity,
            Assignment.planned_start,
        )
        .join(ServiceRequest, ServiceRequest.id == Assignment.request_id)
        .where(
            Assignment.responder_id.in_(among),
            Assignment.state.in_(COUNTED_STATES),
            ServiceRequest.window_start >= bindparam("since"),
            ServiceRequest.window_start < bindparam("until"),
        )
    )


# Built once for a list of ids: live matching reads a few responders' work on every match,
# and building the statement and its cache key cost more than running it (0.38 ms against
# 0.24 ms per call, measured on 10,000 responders).
_WORK_OF = _work_statement(bindparam("ids", expanding=True))


def work(
    session: Session, responder_ids: Iterable[str] | Select[Any], since: datetime, until: datetime
) -> list[Work]:
    """Counted tasks of these responders whose request's window starts in [since, until).

    ``responder_ids`` may be a query of ids (`serving_ids`): with 10,000 ids as parameters the
    statement alone took 0.06-0.2 s to render and plan."""
    params: dict[str, Any] = {"since": since, "until": until}
    if isinstance(responder_ids, Select):
        stmt = _work_statement(responder_ids)
    else:
        params["ids"] = list(responder_ids)
        if not params["ids"]:
            return []
        stmt = _WORK_OF
    return [
        Work(
            aid,
            rid,
            jid,
            state,
            start,
            duration + 2 * (travel or 0),
            quantity,
            planned,
            duration,
            travel or 0,
        )
        for aid, rid, jid, state, start, duration, travel, quantity, planned in session.execute(
            stmt, params
        )
    ]


def live_assignments(session: Session, request_id: str) -> list[Assignment]:
    stmt = (
        select(Assignment)
        .where(Assignment.request_id == request_id, Assignment.state.in_(LIVE_STATES))
        .order_by(Assignment.id)
    )
    return list(session.scalars(stmt))


def assignments_of(session: Session, request_id: str) -> list[Assignment]:
    stmt = select(Assignment).where(Assignment.request_id == request_id).order_by(Assignment.id)
    return list(session.scalars(stmt))


def assignments_by_request(
    session: Session, request_ids: Iterable[str], states: Iterable[str]
) -> dict[str, list[Assignment]]:
    stmt = select(Assignment).where(
        Assignment.request_id.in_(list(request_ids)), Assignment.state.in_(list(states))
    )
    out: dict[str, list[Assignment]] = defaultdict(list)
    for a in session.scalars(stmt.order_by(Assignment.id)):
        out[a.request_id].append(a)
    return out


def requests_by_id(session: Session, request_ids: Iterable[str]) -> dict[str, ServiceRequest]:
    ids = list(request_ids)
    if not ids:
        return {}
    return {
        r.id: r for r in session.scalars(select(ServiceRequest).where(ServiceRequest.id.in_(ids)))
    }


def excluded_responders(session: Session, request_ids: Iterable[str]) -> dict[str, set[str]]:
    """Who declined or let an offer time out, per request: they are not asked again."""
    stmt = select(Assignment.request_id, Assignment.responder_id).where(
        Assignment.request_id.in_(list(request_ids)),
        Assignment.state.in_(("declined", "timed_out")),
    )
    out: dict[str, set[str]] = defaultdict(set)
    for request_id, responder_id in session.execute(stmt):
        out[request_id].add(responder_id)
    return out


def previous_responders(session: Session, resident_ids: Iterable[str]) -> dict[str, str]:
    """The responder of each resident's most recently completed assignment."""
    ids = [r for r in set(resident_ids) if r]
    if not ids:
        return {}
    stmt = (
        select(ServiceRequest.resident_id, Assignment.responder_id)
        .join(ServiceRequest, ServiceRequest.id == Assignment.request_id)
        .where(ServiceRequest.resident_id.in_(ids), Assignment.state == "completed")
        .order_by(Assignment.completed_at, Assignment.id)
    )
    return {resident: responder for resident, responder in session.execute(stmt)}


def in_emergency(session: Session, community_ids: Iterable[str]) -> bool:
    ids = list(community_ids)
    if not ids:
        return False
    stmt = select(Community.id).where(Community.id.in_(ids), Community.mode == "emergency")
    return session.scalar(stmt.limit(1)) is not None


def zone_statuses(session: Session, zone_ids: Iterable[str | None]) -> dict[str, str]:
    """The status of each zone id: a zone's own, or ``sealed`` for an id no zone has (the
    strict reading of a zone named before zones were drawn)."""
    from service.zones.models import Zone

    ids = {z for z in zone_ids if z}
    if not ids:
        return {}
    found = dict(session.execute(select(Zone.id, Zone.status).where(Zone.id.in_(ids))).all())
    return {z: found.get(z, "sealed") for z in ids}


def resident_tags(session: Session, resident_ids: Iterable[str]) -> dict[str, list[str]]:
    ids = [r for r in set(resident_ids) if r]
    if not ids:
        return {}
    stmt = select(Resident.id, Resident.tags).where(Resident.id.in_(ids))
    return {rid: list(tags or []) for rid, tags in session.execute(stmt)}


def funds_for(session: Session, community_ids: Iterable[str]) -> list[CharityFund]:
    """Active funds owned by these communities or by their streets."""
    ids = list(community_ids)
    streets = select(Community.street_id).where(Community.id.in_(ids))
    stmt = select(CharityFund).where(
        CharityFund.active.is_(True),
        (CharityFund.community_id.in_(ids)) | (CharityFund.street_id.in_(streets)),
    )
    return list(session.scalars(stmt.order_by(CharityFund.id)))


def street_communities(session: Session, street_ids: Iterable[str]) -> dict[str, list[str]]:
    stmt = select(Community.street_id, Community.id).where(
        Community.street_id.in_(list(street_ids))
    )
    out: dict[str, list[str]] = defaultdict(list)
    for street_id, community_id in session.execute(stmt):
        out[street_id].append(community_id)
    return out


def held_for_request(session: Session, request_id: str) -> dict[str, int]:
    """Fen still reserved for this request, per fund (reservations less releases)."""
    stmt = (
        select(FundEntry.fund_id, FundEntry.kind, func.sum(FundEntry.amount_fen))
        .where(FundEntry.request_id == request_id, FundEntry.kind.in_(("reservation", "release")))
        .group_by(FundEntry.fund_id, FundEntry.kind)
    )
    held: dict[str, int] = defaultdict(int)
    for fund_id, kind, amount in session.execute(stmt):
        held[fund_id] += int(amount) if kind == "reservation" else -int(amount)
    return {fund_id: amount for fund_id, amount in held.items() if amount > 0}


def task_counts(
    session: Session, community_id: str, since: datetime, until: datetime
) -> dict[str, int]:
    """Counted tasks per active responder of a community in [since, until) (for fair load)."""
    responders = active_responders(session, [community_id])
    counts = {r.id: 0 for r in responders}
    for w in work(session, counts, since, until):
        counts[w.responder_id] += 1
    return counts


def bump_versions(session: Session, community_ids: Iterable[str]) -> dict[str, int]:
    """Raise the change counters of these communities (ANY_COMMUNITY for all), in this
    transaction; their new values. Rows are taken in id order, so two bumping transactions
    never deadlock."""
    ids = sorted(set(community_ids))
    if not ids:
        return {}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(WarmVersion).values([{"community_id": c, "version": 1} for c in ids])
    stmt = stmt.on_conflict_do_update(
        index_elements=[WarmVersion.community_id],
        set_={"version": WarmVersion.version + 1},
    ).returning(WarmVersion.community_id, WarmVersion.version)
    return dict(session.execute(stmt).all())


def versions(session: Session, community_id: str) -> tuple[int, int]:
    """(the community's change counter, the counter of changes to any community); 0 for
    one never raised."""
    rows = dict(session.execute(
        select(WarmVersion.community_id, WarmVersion.version).where(
            WarmVersion.community_id.in_([community_id, ANY_COMMUNITY]))
    ).all())
    return rows.get(community_id, 0), rows.get(ANY_COMMUNITY, 0)
