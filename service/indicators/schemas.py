from datetime import date, datetime
from typing import Literal

from service.types import OutModel

ScopeType = Literal["grid", "community", "street"]


class Share(OutModel):
    """Requests of one kind (a category, a grid) and how many of them were met."""

    key: str | None
    name: str | None = None
    total: int
    met: int
    share_met: float | None


class DayCount(OutModel):
    day: date
    created: int
    met: int


class FundSpend(OutModel):
    fund_id: str
    name: str
    spent_fen: int


class Indicators(OutModel):
    """The linkage-index (联动指数) figures of a scope over [from, to)."""

    scope_type: ScopeType | None
    scope_id: str | None
    community_ids: list[str]
    period_from: datetime
    period_to: datetime
    requests_total: int
    requests_met: int
    requests_open: int
    requests_cancelled: int
    requests_expired: int
    share_met: float | None
    median_minutes_to_offer: float | None
    median_minutes_to_completion: float | None
    by_category: list[Share]
    by_grid: list[Share]
    by_day: list[DayCount]
    volunteer_hours: float
    volunteers_active: int
    fund_spent_fen: int
    fund_spending: list[FundSpend]


class ResponderLoad(OutModel):
    """One responder's counted work on a day against its daily caps."""

    responder_id: str
    tasks: int
    minutes: int
    quantity: int
    max_tasks_per_day: int | None
    max_minutes_per_day: int | None
    slots_per_day: int | None
    load_capacity: int | None


class LoadOut(OutModel):
    day: date
    items: list[ResponderLoad]
