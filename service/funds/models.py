from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    String,
    Text,
    inspect,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.orm.base import NO_VALUE

from service.db import Base
from service.models_base import Entity

ENTRY_KINDS = ("deposit", "reservation", "release", "spend")

# None must reach the database as SQL NULL ("any"), not the JSON literal null, so the
# repository can filter on IS NULL.
NullableList = JSON(none_as_null=True)


class CharityFund(Entity, Base):
    """A charity resource (慈善资源) owned by one community or one street.

    It holds no balance column: the balance is always summed from the ledger, so it
    cannot drift from the entries that justify it.
    """

    __tablename__ = "charity_fund"
    __table_args__ = (
        CheckConstraint(
            "(community_id IS NULL) <> (street_id IS NULL)", name="ck_charity_fund_one_owner"
        ),
    )

    name: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[str | None] = mapped_column(ForeignKey("community.id"), index=True)
    street_id: Mapped[str | None] = mapped_column(ForeignKey("street.id"), index=True)
    # None means any category / any resident.
    eligible_categories: Mapped[list[Any] | None] = mapped_column(NullableList)
    eligible_tags: Mapped[list[Any] | None] = mapped_column(NullableList)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(Text)


class FundEntry(Entity, Base):
    """One line of a fund's ledger. Append-only: nothing updates or deletes an entry."""

    __tablename__ = "fund_entry"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="ck_fund_entry_amount"),
        CheckConstraint(
            "kind IN ('deposit', 'reservation', 'release', 'spend')", name="ck_fund_entry_kind"
        ),
    )

    fund_id: Mapped[str] = mapped_column(ForeignKey("charity_fund.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # The service request the money is held or paid for.
    request_id: Mapped[str | None] = mapped_column(ForeignKey("service_request.id"), index=True)
    note: Mapped[str | None] = mapped_column(String(500))
    donor: Mapped[str | None] = mapped_column(String(200))

    fund: Mapped[CharityFund] = relationship(lazy="raise")

    def audit_scope(self) -> str | None:
        # Entries are only ever created, and always with their fund attached.
        fund = inspect(self).attrs.fund.loaded_value
        return None if fund is NO_VALUE or fund is None else fund.community_id
