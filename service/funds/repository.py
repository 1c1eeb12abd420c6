"""Every query about charity funds and their ledgers, narrowed to what the caller may see."""

from collections.abc import Iterable

from sqlalchemy import Select, String, case, cast, func, or_, select
from sqlalchemy.orm import Session

from service.auth.principal import Principal
from service.funds.models import ENTRY_KINDS, CharityFund, FundEntry
from service.pagination import PageParams, fetch_page
from service.places.models import Community


def _visible(stmt: Select, principal: Principal) -> Select:  # type: ignore[type-arg]
    if principal.community_ids is None:
        return stmt
    streets = select(Community.street_id).where(Community.id.in_(principal.community_ids))
    return stmt.where(
        or_(
            CharityFund.community_id.in_(principal.community_ids),
            CharityFund.street_id.in_(streets),
        )
    )


def list_funds(  # type: ignore[no-untyped-def]
    session: Session,
    principal: Principal,
    page: PageParams,
    community_id: str | None,
    street_id: str | None,
    category: str | None,
    active: bool | None,
):
    stmt = _visible(select(CharityFund), principal)
    if community_id:
        stmt = stmt.where(CharityFund.community_id == community_id)
    if street_id:
        stmt = stmt.where(CharityFund.street_id == street_id)
    if category:
        # JSON containment is not portable (PostgreSQL json has no @>); a category code is
        # written quoted in the stored list, and codes never contain a quote, so a quoted
        # substring match is an exact element match.
        stmt = stmt.where(
            or_(
                CharityFund.eligible_categories.is_(None),
                cast(CharityFund.eligible_categories, String).contains(
                    f'"{category}"', autoescape=True
                ),
            )
        )
    if active is not None:
        stmt = stmt.where(CharityFund.active == active)
    return fetch_page(session, stmt, CharityFund.id, page)


def get_fund(session: Session, fund_id: str) -> CharityFund | None:
    return session.get(CharityFund, fund_id)


def lock_fund(session: Session, fund_id: str) -> CharityFund | None:
    """Load the fund holding its row lock until commit: ledger writers queue up behind it.

    SQLite ignores FOR UPDATE; it serialises writers on its own.
    """
    stmt = select(CharityFund).where(CharityFund.id == fund_id).with_for_update()
    return session.scalar(stmt.execution_options(populate_existing=True))


def street_has_visible(session: Session, street_id: str, principal: Principal) -> bool:
    if principal.community_ids is None:
        return True
    stmt = select(Community.id).where(
        Community.street_id == street_id, Community.id.in_(principal.community_ids)
    )
    return session.scalar(stmt.limit(1)) is not None


def street_wholly_visible(session: Session, street_id: str, principal: Principal) -> bool:
    """True if the caller sees every community of the street (a street-wide key)."""
    if principal.community_ids is None:
        return True
    stmt = select(Community.id).where(
        Community.street_id == street_id, Community.id.not_in(principal.community_ids)
    )
    return session.scalar(stmt.limit(1)) is None


def _sum_of(kind: str):  # type: ignore[no-untyped-def]
    return func.coalesce(func.sum(case((FundEntry.kind == kind, FundEntry.amount_fen), else_=0)), 0)


def ledger_totals(session: Session, fund_ids: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per fund, the sum of each entry kind (kinds with no entries are absent → 0)."""
    ids = list(set(fund_ids))
    if not ids:
        return {}
    stmt = (
        select(FundEntry.fund_id, *(_sum_of(kind).label(kind) for kind in ENTRY_KINDS))
        .where(FundEntry.fund_id.in_(ids))
        .group_by(FundEntry.fund_id)
    )
    return {
        row.fund_id: {kind: int(getattr(row, kind)) for kind in ENTRY_KINDS}
        for row in session.execute(stmt)
    }


def list_entries(  # type: ignore[no-untyped-def]
    session: Session,
    fund_id: str,
    page: PageParams,
    kind: str | None,
    request_id: str | None,
):
    stmt = select(FundEntry).where(FundEntry.fund_id == fund_id)
    if kind:
        stmt = stmt.where(FundEntry.kind == kind)
    if request_id:
        stmt = stmt.where(FundEntry.request_id == request_id)
    return fetch_page(session, stmt, FundEntry.id, page)
