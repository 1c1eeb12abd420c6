from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, field_validator

from service.types import Code, Name, OutModel, StrictModel, Tag

# Null means "any"; an empty list would mean "nothing", a fund nobody could draw on.
CategoryCodes = Annotated[list[Code], Field(min_length=1, max_length=100)]
ResidentTags = Annotated[list[Tag], Field(min_length=1, max_length=20)]
Description = Annotated[str, Field(max_length=4000)]
# Positive, and small enough for a BIGINT column (10^12 fen is ten billion yuan).
AmountFen = Annotated[int, Field(gt=0, le=10**12)]


class EntryKind(StrEnum):
    deposit = "deposit"
    reservation = "reservation"
    release = "release"
    spend = "spend"


def _distinct(value: list[str] | None) -> list[str] | None:
    if value is not None and len(set(value)) != len(value):
        raise ValueError("each value may appear once")
    return value


class FundCreate(StrictModel):
    name: Name
    community_id: str | None = Field(default=None, description="Owner: exactly one of these two")
    street_id: str | None = None
    eligible_categories: CategoryCodes | None = Field(default=None, description="Null: any")
    eligible_tags: ResidentTags | None = Field(
        default=None, description="Null: any resident; otherwise a resident needs any one"
    )
    active: bool = True
    description: Description | None = None

    _distinct = field_validator("eligible_categories", "eligible_tags")(_distinct)


class FundUpdate(StrictModel):
    # The owner is fixed: moving a fund would move its ledger's history with it.
    name: Name = None  # type: ignore[assignment]
    eligible_categories: CategoryCodes | None = None
    eligible_tags: ResidentTags | None = None
    active: bool = None  # type: ignore[assignment]
    description: Description | None = None

    _distinct = field_validator("eligible_categories", "eligible_tags")(_distinct)


class Balances(OutModel):
    """Derived from the ledger: balance = deposits − spends, reserved = reservations − releases."""

    balance_fen: int
    reserved_fen: int
    available_fen: int


class FundFields(OutModel):
    id: str
    name: str
    community_id: str | None
    street_id: str | None
    eligible_categories: list[str] | None
    eligible_tags: list[str] | None
    active: bool
    description: str | None
    created_at: datetime
    updated_at: datetime


class FundOut(FundFields, Balances):
    @classmethod
    def of(cls, fund: Any, balances: Any) -> "FundOut":
        """The fund's columns and the balances summed from its ledger, in one document."""
        return cls(
            **FundFields.model_validate(fund).model_dump(),
            **Balances.model_validate(balances).model_dump(),
        )


class FundEntryCreate(StrictModel):
    kind: EntryKind
    amount_fen: AmountFen
    request_id: Annotated[str, Field(min_length=1, max_length=36)] | None = None
    note: Annotated[str, Field(max_length=500)] | None = None
    donor: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        default=None, description="Who gave the money; deposits only"
    )


class FundEntryOut(OutModel):
    id: str
    fund_id: str
    kind: EntryKind
    amount_fen: int
    request_id: str | None
    note: str | None
    donor: str | None
    created_at: datetime


class FundEntryResult(Balances):
    """The entry just written and the fund's balances after it."""

    entry: FundEntryOut
