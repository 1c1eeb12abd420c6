from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from service.types import Name, OutModel, Point, StrictModel


class ResidentTag(StrEnum):
    """The resident groups the seeds single out for care (and funds target)."""

    elderly = "elderly"
    lives_alone = "lives_alone"
    disabled = "disabled"
    child = "child"
    chronic_illness = "chronic_illness"
    low_income = "low_income"


Phone = Annotated[str, Field(min_length=3, max_length=32, pattern=r"^\+?[0-9][0-9 \-]*$")]
Address = Annotated[str, Field(min_length=1, max_length=500)]
Notes = Annotated[str, Field(max_length=4000)]
Tags = Annotated[list[ResidentTag], Field(max_length=len(ResidentTag))]


class ResidentCreate(StrictModel):
    community_id: str
    grid_id: str | None = None
    name: Name
    phone: Phone | None = None
    address: Address | None = None
    location: Point
    tags: Tags = Field(default_factory=list)
    notes: Notes | None = None


class ResidentUpdate(StrictModel):
    # Typed without None where null means nothing: an explicit null is refused.
    grid_id: str | None = None
    name: Name = None  # type: ignore[assignment]
    phone: Phone | None = None
    address: Address | None = None
    location: Point = None  # type: ignore[assignment]
    tags: Tags = None  # type: ignore[assignment]
    notes: Notes | None = None


class ResidentOut(OutModel):
    id: str
    community_id: str
    grid_id: str | None
    name: str
    phone: str | None
    address: str | None
    location: Point
    tags: list[str]
    notes: str | None = Field(description="Withheld (null) unless revealed")
    zone_id: str | None
    masked: bool = Field(
        description="Phone and address masked and notes withheld; ask with ?reveal=true"
    )
    created_at: datetime
    updated_at: datetime
