"""The linkage-index (联动指数) figures and responders' daily load, for dispatchers.

Definitions (also in the README's Console section):
- requests counted are those *created* in [from, to) in the scope;
- met: completed; share met = met / counted (cancelled and expired count as not met);
- time to offer: from creation to the first offer; time to completion: from creation to the
  last member's completion (completed requests only); both medians, in minutes;
- volunteer hours: volunteers' assignments completed in the period, each from its start (or
  acceptance, or offer) to its completion, the way hours are credited;
- fund spending: spend entries of the period on requests of the scope.
"""

import math
import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from service.auth.principal import Principal
from service.dispatch.adapter import LOCAL, planning_origin
from service.errors import NotFound, Unprocessable
from service.indicators import repository as repo
from service.indicators import schemas
from service.types import utcnow

DEFAULT_PERIOD = timedelta(days=30)
OPEN_STATES = frozenset({"submitted", "offered", "accepted", "in_progress", "declined"})


def resolve_scope(
    session: Session, principal: Principal, scope_type: str | None, scope_id: str | None
) -> repo.Scope:
    """The caller's communities, narrowed to the named scope (404 for one not theirs)."""
    visible = None if principal.community_ids is None else sorted(principal.community_ids)
    if scope_type is None and scope_id is None:
        return repo.Scope(visible)
    if scope_type is None or scope_id is None:
        raise Unprocessable("Name both scope_type and scope_id, or neither.")
    if scope_type == "community":
        found = repo.community(session, scope_id)
        if found is None or not principal.sees(found.id):
            raise NotFound("No such community.")
        return repo.Scope([found.id])
    if scope_type == "grid":
        found_grid = repo.grid(session, scope_id)
        if found_grid is None or not principal.sees(found_grid.community_id):
            raise NotFound("No such grid.")
        return repo.Scope([found_grid.community_id], grid_id=found_grid.id)
    ids = [c for c in repo.street_communities(session, scope_id) if principal.sees(c)]
    if not ids:
        raise NotFound("No such street.")
    return repo.Scope(ids)


def _period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or utcnow()
    since = since or until - DEFAULT_PERIOD
    if since >= until:
        raise Unprocessable("`from` must be before `to`.")
    return since, until


def _median_minutes(spans: list[timedelta]) -> float | None:
    if not spans:
        return None
    return round(statistics.median(s.total_seconds() / 60 for s in spans), 1)


def _share(met: int, total: int) -> float | None:
    return round(met / total, 4) if total else None


def _shares(rows: list[repo.RequestRow], key: str, names: dict[str, str] | None = None) -> list:
    total: Counter[str | None] = Counter()
    met: Counter[str | None] = Counter()
    for row in rows:
        value = getattr(row, key)
        total[value] += 1
        met[value] += row.state == "completed"
    ordered = sorted(total, key=lambda k: (-total[k], k or ""))
    return [
        schemas.Share(
            key=k,
            name=(names or {}).get(k) if k else None,
            total=total[k],
            met=met[k],
            share_met=_share(met[k], total[k]),
        )
        for k in ordered
    ]


def indicators(
    session: Session,
    principal: Principal,
    scope_type: str | None,
    scope_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> schemas.Indicators:
    scope = resolve_scope(session, principal, scope_type, scope_id)
    since, until = _period(since, until)
    rows = repo.requests_created(session, scope, since, until)
    created = {r.id: r.created_at for r in rows}
    offers = repo.first_offers(session, scope, since, until)
    done = repo.completions(session, scope, since, until)
    states = Counter(r.state for r in rows)
    met = states["completed"]

    by_day: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        day = row.created_at.astimezone(LOCAL).date()
        by_day[day][0] += 1
        by_day[day][1] += row.state == "completed"

    minutes = 0.0
    volunteers = set()
    for work in repo.volunteer_work(session, scope, since, until):
        began = work.started_at or work.accepted_at or work.offered_at
        minutes += max(0, math.ceil((work.completed_at - began).total_seconds() / 60))
        volunteers.add(work.responder_id)

    spends = repo.fund_spends(session, scope, since, until)
    community_ids = scope.community_ids
    if community_ids is None:
        community_ids = repo.all_communities(session)
    return schemas.Indicators(
        scope_type=scope_type,
        scope_id=scope_id,
        community_ids=community_ids,
        period_from=since,
        period_to=until,
        requests_total=len(rows),
        requests_met=met,
        requests_open=sum(n for s, n in states.items() if s in OPEN_STATES),
        requests_cancelled=states["cancelled"],
        requests_expired=states["expired"],
        share_met=_share(met, len(rows)),
        median_minutes_to_offer=_median_minutes(
            [at - created[rid] for rid, at in offers.items() if rid in created]
        ),
        median_minutes_to_completion=_median_minutes(
            [at - created[rid] for rid, at in done.items() if rid in created]
        ),
        by_category=_shares(rows, "category_code"),
        by_grid=_shares(rows, "grid_id", repo.grid_names(session, {r.grid_id for r in rows})),
        by_day=[schemas.DayCount(day=d, created=c, met=m) for d, (c, m) in sorted(by_day.items())],
        volunteer_hours=round(minutes / 60, 1),
        volunteers_active=len(volunteers),
        fund_spent_fen=sum(fen for _, _, fen in spends),
        fund_spending=[
            schemas.FundSpend(fund_id=fid, name=name, spent_fen=fen) for fid, name, fen in spends
        ],
    )


def responder_load(
    session: Session, principal: Principal, community_id: str | None, day: date | None
) -> schemas.LoadOut:
    """Counted work of the caller's responders on a local day (today by default)."""
    from service.dispatch import repository as dispatch_repo

    if community_id is not None:
        found = repo.community(session, community_id)
        if found is None or not principal.sees(found.id):
            raise NotFound("No such community.")
        ids: list[str] | None = [found.id]
    else:
        ids = None if principal.community_ids is None else sorted(principal.community_ids)
    origin = planning_origin(utcnow())
    if day is not None:
        origin = datetime.combine(day, origin.timetz())
    responders = repo.responders_of(session, ids)
    counted = {r.id: [0, 0, 0] for r in responders}
    for work in dispatch_repo.work(session, counted, origin, origin + timedelta(days=1)):
        tally = counted[work.responder_id]
        tally[0] += 1
        tally[1] += work.minutes
        tally[2] += work.quantity
    return schemas.LoadOut(
        day=origin.date(),
        items=[
            schemas.ResponderLoad(
                responder_id=r.id,
                tasks=counted[r.id][0],
                minutes=counted[r.id][1],
                quantity=counted[r.id][2],
                max_tasks_per_day=r.max_tasks_per_day,
                max_minutes_per_day=r.max_minutes_per_day,
                slots_per_day=r.slots_per_day,
                load_capacity=r.load_capacity,
            )
            for r in responders
        ],
    )
