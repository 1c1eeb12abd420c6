from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from service.catalogue.schemas import Licence, Qualifications, Team
from service.types import Code, Instant, OutModel, Point, StrictModel

Urgency = Literal["emergency", "urgent", "normal"]
Source = Literal["grid_app", "console", "import"]
RequestState = Literal[
    "submitted",
    "offered",
    "accepted",
    "in_progress",
    "completed",
    "declined",
    "cancelled",
    "expired",
]
# Answers then show the instant as stored (UTC), whatever offset the client wrote.
UTCInstant = Annotated[Instant, AfterValidator(lambda value: value.astimezone(UTC))]
Description = Annotated[str, Field(max_length=4000)]
Minutes = Annotated[int, Field(ge=1, le=7 * 24 * 60)]
Metres = Annotated[int, Field(gt=0)]


class RequestCreate(StrictModel):
    community_id: str | None = Field(
        default=None, description="Defaults to the grid's community; required without a grid"
    )
    grid_id: str | None = Field(
        default=None, description="Required for grid apps: one of its grids"
    )
    resident_id: str | None = None
    category_code: Code
    location: Point | None = Field(
        default=None, description="Defaults to the resident's location when a resident is given"
    )
    window_start: UTCInstant
    window_end: UTCInstant
    urgency: Urgency = "normal"
    duration_min: Minutes | None = Field(default=None, description="Defaults from the category")
    quantity: int = Field(default=0, ge=0, description="Boxes or items to carry")
    cost_fen: int = Field(default=0, ge=0)
    required_qualifications: Qualifications | None = Field(
        default=None, description="Defaults from the category"
    )
    min_licence: Licence | None = Field(default=None, description="Defaults from the category")
    team: Team | None = Field(default=None, description="Defaults to the category's default team")
    max_distance_m: Metres | None = None
    description: Description | None = None
    source: Source | None = Field(
        default=None, description="console unless given; grid app keys always give grid_app"
    )
    external_id: Annotated[str, Field(min_length=1, max_length=128)] | None = Field(
        default=None, description="Unique per source"
    )
    zone_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class RequestUpdate(StrictModel):
    """Descriptive fields only, and only while the request is still submitted."""

    # Typed without None where null means nothing: an explicit null is refused.
    location: Point = None  # type: ignore[assignment]
    window_start: UTCInstant = None  # type: ignore[assignment]
    window_end: UTCInstant = None  # type: ignore[assignment]
    urgency: Urgency = None  # type: ignore[assignment]
    duration_min: Minutes = None  # type: ignore[assignment]
    quantity: int = Field(default=None, ge=0)
    cost_fen: int = Field(default=None, ge=0)
    required_qualifications: Qualifications = None  # type: ignore[assignment]
    min_licence: Licence = None  # type: ignore[assignment]
    team: Team = None  # type: ignore[assignment]
    max_distance_m: Metres | None = None
    description: Description | None = None


class TeamSlotOut(OutModel):
    role: str
    count: int


class OfferOut(OutModel):
    assignment_id: str
    responder_id: str
    role: str
    respond_by: datetime | None


class DispatchOutcome(OutModel):
    """What live matching did: offered (to whom, answer by when) or queued (why, what helps)."""

    outcome: Literal["offered", "queued"]
    offers: list[OfferOut] | None = None
    reason: str | None = None
    message: str | None = None
    remedy: str | None = None


class RequestOut(OutModel):
    id: str
    community_id: str
    grid_id: str | None
    resident_id: str | None
    category_code: str
    location: Point
    window_start: datetime
    window_end: datetime
    urgency: Urgency
    duration_min: int
    quantity: int
    cost_fen: int
    required_qualifications: list[str]
    min_licence: Licence
    team: list[TeamSlotOut]
    max_distance_m: int | None
    description: str | None
    source: Source
    external_id: str | None
    state: RequestState
    zone_id: str | None
    created_by_key_id: str | None
    rating: int | None = None
    rating_comment: str | None = None
    dispatch: DispatchOutcome | None = Field(
        default=None,
        description="Only in the answer to POST, and only where the community dispatches "
        "automatically: what live matching did",
    )
    created_at: datetime
    updated_at: datetime


class RejectedRow(OutModel):
    row: int = Field(description="1-based data row (CSV: after the header; GeoJSON: feature)")
    field: str
    reason: str


class ImportOut(OutModel):
    """What an import did: stored, already there (same external id), refused."""

    stored: int
    unchanged: int
    rejected: list[RejectedRow]
    stored_ids: list[str]
    unchanged_ids: list[str]
