from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, field_validator

from service.types import Code, Name, OutModel, StrictModel, Tag


class Licence(StrEnum):
    """Social-worker licence levels (持证), weakest first: a need asks for at least one."""

    none = "none"
    assistant = "assistant"
    intermediate = "intermediate"
    senior = "senior"


class TeamRole(StrEnum):
    community_staff = "community_staff"
    social_worker = "social_worker"
    volunteer = "volunteer"
    organization = "organization"


class TeamSlot(StrictModel):
    """How many of one kind of responder a team needs (the "2" of "1+2+N")."""

    role: TeamRole
    count: int = Field(ge=1, le=50)


Minutes = Annotated[int, Field(gt=0, le=7 * 24 * 60)]
Qualifications = Annotated[list[Tag], Field(max_length=20)]
Team = Annotated[list[TeamSlot], Field(max_length=len(TeamRole))]


def _distinct_tags(value: list[str] | None) -> list[str] | None:
    if value is not None and len(set(value)) != len(value):
        raise ValueError("each qualification may appear once")
    return value


def _distinct_roles(value: list[TeamSlot] | None) -> list[TeamSlot] | None:
    # Two slots for one role would leave the dispatcher guessing which count holds.
    if value is not None and len({slot.role for slot in value}) != len(value):
        raise ValueError("each role may appear once; put the total in its count")
    return value


class CategoryCreate(StrictModel):
    code: Code
    name_zh: Name
    name_en: Name
    default_duration_min: Minutes
    required_qualifications: Qualifications = Field(default_factory=list)
    min_licence: Licence = Licence.none
    default_team: Team = Field(default_factory=list, description="Empty: one responder")
    needs_fund: bool = False
    active: bool = True

    _tags = field_validator("required_qualifications")(_distinct_tags)
    _roles = field_validator("default_team")(_distinct_roles)


class CategoryUpdate(StrictModel):
    # Typed without None: an explicit null is refused, an omitted field is left alone.
    # The code is the key other domains hold, so it cannot change.
    name_zh: Name = None  # type: ignore[assignment]
    name_en: Name = None  # type: ignore[assignment]
    default_duration_min: Minutes = None  # type: ignore[assignment]
    required_qualifications: Qualifications = None  # type: ignore[assignment]
    min_licence: Licence = None  # type: ignore[assignment]
    default_team: Team = None  # type: ignore[assignment]
    needs_fund: bool = None  # type: ignore[assignment]
    active: bool = None  # type: ignore[assignment]

    _tags = field_validator("required_qualifications")(_distinct_tags)
    _roles = field_validator("default_team")(_distinct_roles)


class CategoryOut(OutModel):
    id: str
    code: str
    name_zh: str
    name_en: str
    default_duration_min: int
    required_qualifications: list[str]
    min_licence: Licence
    default_team: list[dict[str, Any]]
    needs_fund: bool
    active: bool
    created_at: datetime
    updated_at: datetime
