"""Rules for charity funds: who owns and sees them, and a ledger that can never overdraw.

A fund's money is never stored, only summed from its entries:
balance = deposits − spends, reserved = reservations − releases, available = balance − reserved.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.auth.principal import Principal, Role
from service.catalogue import service as catalogue
from service.errors import Conflict, Forbidden, NotFound, Unprocessable
from service.funds import repository as repo
from service.funds import schemas
from service.funds.models import CharityFund, FundEntry
from service.places import repository as places_repo
from service.places import service as places


@dataclass(frozen=True)
class Ledger:
    balance_fen: int
    reserved_fen: int
    available_fen: int

    @classmethod
    def of(cls, totals: dict[str, int] | None) -> "Ledger":
        t = totals or {}
        balance = t.get("deposit", 0) - t.get("spend", 0)
        reserved = t.get("reservation", 0) - t.get("release", 0)
        return cls(balance_fen=balance, reserved_fen=reserved, available_fen=balance - reserved)


def ledgers(session: Session, fund_ids: Iterable[str]) -> dict[str, Ledger]:
    ids = list(fund_ids)
    totals = repo.ledger_totals(session, ids)
    return {fund_id: Ledger.of(totals.get(fund_id)) for fund_id in ids}


def ledger(session: Session, fund_id: str) -> Ledger:
    return ledgers(session, [fund_id])[fund_id]


def available_fen(session: Session, fund_id: str) -> int:
    """What the fund can still promise: its balance less what is reserved."""
    return ledger(session, fund_id).available_fen


def eligible(
    fund: CharityFund,
    category_code: str,
    resident_tags: Iterable[str],
    community_id: str,
    street_id: str,
) -> bool:
    """May this fund pay for a need of this category, resident and place? (Balance aside.)"""
    if not fund.active:
        return False
    if fund.community_id is not None and fund.community_id != community_id:
        return False
    if fund.street_id is not None and fund.street_id != street_id:
        return False
    if fund.eligible_categories is not None and category_code not in fund.eligible_categories:
        return False
    if fund.eligible_tags is not None and not set(fund.eligible_tags) & set(resident_tags):
        return False
    return True


def _sees(session: Session, principal: Principal, fund: CharityFund) -> bool:
    if fund.community_id is not None:
        return principal.sees(fund.community_id)
    return repo.street_has_visible(session, fund.street_id, principal)  # type: ignore[arg-type]


def _writer(principal: Principal) -> None:
    if principal.role not in (Role.admin, Role.dispatcher):
        raise Forbidden("Only dispatchers and admins manage charity funds.")


def _street_wide(session: Session, principal: Principal, street_id: str) -> None:
    # A street fund serves every community of the street, so one community's dispatcher
    # may draw on it but not set it up or change its rules.
    if not repo.street_wholly_visible(session, street_id, principal):
        raise Forbidden("Only a street-wide dispatcher or an admin manages a street fund.")


def get_fund(session: Session, principal: Principal, fund_id: str) -> CharityFund:
    fund = repo.get_fund(session, fund_id)
    if fund is None or not _sees(session, principal, fund):
        raise NotFound("No such charity fund.")
    return fund


def visible_fund(session: Session, principal: Principal, fund_id: str, field: str) -> CharityFund:
    """A fund named in a request body: unknown and invisible look the same (422)."""
    fund = repo.get_fund(session, fund_id)
    if fund is None or not _sees(session, principal, fund):
        raise Unprocessable.on(field, f"unknown fund {fund_id!r}")
    return fund


def _owner(session: Session, principal: Principal, data: schemas.FundCreate) -> None:
    if (data.community_id is None) == (data.street_id is None):
        field = "street_id" if data.community_id is not None else "community_id"
        raise Unprocessable.on(field, "a fund is owned by exactly one community or one street")
    if data.community_id is not None:
        places.visible_community(session, principal, data.community_id, "community_id")
        return
    street_id: str = data.street_id  # type: ignore[assignment]
    if places_repo.get_street(session, street_id) is None or not repo.street_has_visible(
        session, street_id, principal
    ):
        raise Unprocessable.on("street_id", f"unknown street {street_id!r}")
    _street_wide(session, principal, street_id)


def create_fund(session: Session, principal: Principal, data: schemas.FundCreate) -> CharityFund:
    _writer(principal)
    _owner(session, principal, data)
    if data.eligible_categories is not None:
        catalogue.require_categories(session, data.eligible_categories, "eligible_categories")
    fund = CharityFund(**data.model_dump(mode="json"))
    session.add(fund)
    session.flush()
    return fund


def update_fund(
    session: Session, principal: Principal, fund_id: str, data: schemas.FundUpdate
) -> CharityFund:
    fund = get_fund(session, principal, fund_id)
    _writer(principal)
    if fund.street_id is not None:
        _street_wide(session, principal, fund.street_id)
    changes = data.model_dump(exclude_unset=True, mode="json")
    if changes.get("eligible_categories") is not None:
        catalogue.require_categories(session, changes["eligible_categories"], "eligible_categories")
    for key, value in changes.items():
        setattr(fund, key, value)
    session.flush()
    return fund


def post_entry(
    session: Session,
    fund_id: str,
    kind: schemas.EntryKind,
    amount_fen: int,
    *,
    request_id: str | None = None,
    note: str | None = None,
    donor: str | None = None,
) -> tuple[FundEntry, Ledger]:
    """Append one ledger entry, refusing (409, nothing written) any that would overdraw.

    The fund's row lock serialises writers on PostgreSQL, so the totals read here cannot
    be changed by a concurrent spend before this entry commits.
    """
    fund = repo.lock_fund(session, fund_id)
    if fund is None:
        raise NotFound("No such charity fund.")
    before = ledger(session, fund_id)
    if kind in (schemas.EntryKind.reservation, schemas.EntryKind.spend):
        if not fund.active:
            raise Conflict("The fund is inactive: nothing more may be reserved or spent.")
        if amount_fen > before.available_fen:
            raise Conflict(
                f"The fund has {before.available_fen} fen available; "
                f"a {kind.value} of {amount_fen} fen would overdraw it."
            )
    if kind is schemas.EntryKind.release and amount_fen > before.reserved_fen:
        raise Conflict(
            f"Only {before.reserved_fen} fen are reserved; cannot release {amount_fen} fen."
        )
    entry = FundEntry(
        fund=fund,
        kind=kind.value,
        amount_fen=amount_fen,
        request_id=request_id,
        note=note,
        donor=donor,
    )
    session.add(entry)
    session.flush()
    return entry, ledger(session, fund_id)


def add_entry(
    session: Session, principal: Principal, fund_id: str, data: schemas.FundEntryCreate
) -> tuple[FundEntry, Ledger]:
    _writer(principal)
    get_fund(session, principal, fund_id)
    if data.donor is not None and data.kind is not schemas.EntryKind.deposit:
        raise Unprocessable.on("donor", "only a deposit has a donor")
    if data.request_id is not None:
        from service.requests.service import visible_request

        visible_request(session, principal, data.request_id, "request_id")
    return post_entry(
        session,
        fund_id,
        data.kind,
        data.amount_fen,
        request_id=data.request_id,
        note=data.note,
        donor=data.donor,
    )
