from typing import Annotated

from fastapi import APIRouter, Depends

from service.auth.principal import Principal, Role, SessionDep, require
from service.errors import COMMON, Conflict, NotFound, responses
from service.funds import repository as repo
from service.funds import schemas
from service.funds import service as funds
from service.pagination import Page, PageParams

router = APIRouter(prefix="/v1", tags=["funds"])

# Grid apps and responders never handle money: funds and ledgers are the dispatchers' business.
Manager = Annotated[Principal, Depends(require(Role.dispatcher))]
Pages = Annotated[PageParams, Depends()]


@router.get("/funds", responses=responses(*COMMON))
def list_funds(
    session: SessionDep,
    principal: Manager,
    page: Pages,
    community_id: str | None = None,
    street_id: str | None = None,
    category: str | None = None,
    active: bool | None = None,
) -> Page[schemas.FundOut]:
    """Funds the caller sees; ``category`` keeps those that may pay for that category."""
    items, cursor = repo.list_funds(
        session, principal, page, community_id, street_id, category, active
    )
    ledgers = funds.ledgers(session, [f.id for f in items])
    return Page(items=[schemas.FundOut.of(f, ledgers[f.id]) for f in items], next_cursor=cursor)


@router.post("/funds", status_code=201, responses=responses(*COMMON))
def create_fund(
    session: SessionDep, principal: Manager, body: schemas.FundCreate
) -> schemas.FundOut:
    fund = funds.create_fund(session, principal, body)
    return schemas.FundOut.of(fund, funds.ledger(session, fund.id))


@router.get("/funds/{fund_id}", responses=responses(*COMMON, NotFound))
def get_fund(session: SessionDep, principal: Manager, fund_id: str) -> schemas.FundOut:
    fund = funds.get_fund(session, principal, fund_id)
    return schemas.FundOut.of(fund, funds.ledger(session, fund.id))


@router.patch("/funds/{fund_id}", responses=responses(*COMMON, NotFound))
def update_fund(
    session: SessionDep, principal: Manager, fund_id: str, body: schemas.FundUpdate
) -> schemas.FundOut:
    fund = funds.update_fund(session, principal, fund_id, body)
    return schemas.FundOut.of(fund, funds.ledger(session, fund.id))


@router.post(
    "/funds/{fund_id}/entries", status_code=201, responses=responses(*COMMON, NotFound, Conflict)
)
def create_fund_entry(
    session: SessionDep, principal: Manager, fund_id: str, body: schemas.FundEntryCreate
) -> schemas.FundEntryResult:
    """Append to the ledger; 409 (nothing written) if it would overdraw or over-release."""
    entry, ledger = funds.add_entry(session, principal, fund_id, body)
    return schemas.FundEntryResult(
        entry=schemas.FundEntryOut.model_validate(entry),
        **schemas.Balances.model_validate(ledger).model_dump(),
    )


@router.get("/funds/{fund_id}/entries", responses=responses(*COMMON, NotFound))
def list_fund_entries(
    session: SessionDep,
    principal: Manager,
    fund_id: str,
    page: Pages,
    kind: schemas.EntryKind | None = None,
    request_id: str | None = None,
) -> Page[schemas.FundEntryOut]:
    funds.get_fund(session, principal, fund_id)
    items, cursor = repo.list_entries(
        session, fund_id, page, kind.value if kind else None, request_id
    )
    return Page(items=[schemas.FundEntryOut.model_validate(e) for e in items], next_cursor=cursor)
