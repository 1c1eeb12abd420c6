import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import Field, model_validator

from service.types import Code, Latitude, Longitude, Name, OutModel, Point, StrictModel, Tag


class ResponderKind(StrEnum):
    social_worker = "social_worker"
    volunteer = "volunteer"
    organization = "organization"
    # The "1" of a "1+2+N" team.
    community_staff = "community_staff"


class TravelMode(StrEnum):
    walk = "walk"
    bicycle = "bicycle"
    ebike = "ebike"
    car = "car"


class LicenceLevel(StrEnum):
    none = "none"
    assistant = "assistant"
    intermediate = "intermediate"
    senior = "senior"


class VolunteerGroup(StrEnum):
    daily_care = "daily_care"
    emergency_team = "emergency_team"


# Zero-padded, so string order is time order; "24:00" lets a shift run to midnight.
ClockTime = Annotated[
    str, Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$", examples=["08:30"])
]
Phone = Annotated[str, Field(min_length=3, max_length=32, pattern=r"^\+?[0-9][0-9 \-]*$")]
ZoneId = Annotated[str, Field(min_length=1, max_length=64)]
Count = Annotated[int, Field(ge=0)]


class WeeklyShift(StrictModel):
    """A recurring window, local time; weekday 0 is Monday."""

    weekday: int = Field(ge=0, le=6)
    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("the shift must end after it starts")
        return self


class ShiftException(StrictModel):
    """One date that differs from the weekly pattern: away all day, or a different window."""

    date: dt.date
    available: bool
    start: ClockTime | None = None
    end: ClockTime | None = None

    @model_validator(mode="after")
    def _window(self) -> Self:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end, or neither")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("the window must end after it starts")
        return self


class Area(StrictModel):
    """A GeoJSON Polygon (WGS-84, range-checked): where an organization works."""

    type: Literal["Polygon"] = "Polygon"
    coordinates: list[Annotated[list[tuple[Longitude, Latitude]], Field(min_length=4)]] = Field(
        min_length=1
    )


Tags = Annotated[list[Tag], Field(max_length=50)]
Shifts = Annotated[list[WeeklyShift], Field(max_length=100)]
Exceptions = Annotated[list[ShiftException], Field(max_length=400)]
Zones = Annotated[list[ZoneId], Field(max_length=100)]
CommunityIds = Annotated[list[str], Field(min_length=1, max_length=50)]


class ResponderCreate(StrictModel):
    """Kind-specific fields (licence, volunteer groups, organization details) are checked
    against ``kind`` by the service, which applies the same rule to updates."""

    kind: ResponderKind
    name: Name
    phone: Phone | None = None
    community_ids: CommunityIds
    location: Point
    radius_m: Count
    travel_mode: TravelMode
    speed_kmh: float | None = Field(
        default=None, gt=0, le=200, description="Defaults by travel mode"
    )
    qualifications: Tags = Field(default_factory=list)
    skills: Tags = Field(default_factory=list)
    licence_level: LicenceLevel = LicenceLevel.none
    is_supervisor: bool = False
    volunteer_groups: list[VolunteerGroup] = Field(default_factory=list, max_length=2)
    is_party_member: bool = False
    registered_name: Name | None = None
    service_categories: Annotated[list[Code], Field(max_length=100)] = Field(default_factory=list)
    slots_per_day: Count | None = None
    coverage_area: Area | None = None
    weekly_shifts: Shifts = Field(default_factory=list)
    shift_exceptions: Exceptions = Field(default_factory=list)
    max_tasks_per_day: Count | None = None
    max_minutes_per_day: Count | None = None
    max_tasks_per_week: Count | None = None
    max_minutes_per_week: Count | None = None
    load_capacity: Count = Field(default=0, description="Boxes carried at once")
    zone_clearances: Zones = Field(default_factory=list)
    active: bool = True
    emergency_team: bool = Field(
        default=False, description="Dispatched only while its community is in emergency mode"
    )
    emergency_max_tasks_per_day: Count | None = Field(
        default=None, description="Replaces max_tasks_per_day in emergency mode"
    )
    emergency_max_minutes_per_day: Count | None = Field(
        default=None, description="Replaces max_minutes_per_day in emergency mode"
    )


class ResponderUpdate(StrictModel):
    # Typed without None where null means nothing: an explicit null is refused.
    # The kind is fixed at creation; points and hours are credited, never set.
    name: Name = None  # type: ignore[assignment]
    phone: Phone | None = None
    community_ids: CommunityIds = None  # type: ignore[assignment]
    location: Point = None  # type: ignore[assignment]
    radius_m: Count = None  # type: ignore[assignment]
    travel_mode: TravelMode = None  # type: ignore[assignment]
    speed_kmh: float = Field(default=None, gt=0, le=200)  # type: ignore[assignment]
    qualifications: Tags = None  # type: ignore[assignment]
    skills: Tags = None  # type: ignore[assignment]
    licence_level: LicenceLevel = None  # type: ignore[assignment]
    is_supervisor: bool = None  # type: ignore[assignment]
    volunteer_groups: list[VolunteerGroup] = Field(default=None, max_length=2)  # type: ignore[assignment]
    is_party_member: bool = None  # type: ignore[assignment]
    registered_name: Name | None = None
    service_categories: Annotated[list[Code], Field(max_length=100)] = None  # type: ignore[assignment]
    slots_per_day: Count | None = None
    coverage_area: Area | None = None
    weekly_shifts: Shifts = None  # type: ignore[assignment]
    shift_exceptions: Exceptions = None  # type: ignore[assignment]
    max_tasks_per_day: Count | None = None
    max_minutes_per_day: Count | None = None
    max_tasks_per_week: Count | None = None
    max_minutes_per_week: Count | None = None
    load_capacity: Count = None  # type: ignore[assignment]
    zone_clearances: Zones = None  # type: ignore[assignment]
    active: bool = None  # type: ignore[assignment]
    emergency_team: bool = None  # type: ignore[assignment]
    emergency_max_tasks_per_day: Count | None = None
    emergency_max_minutes_per_day: Count | None = None


class ResponderOut(OutModel):
    id: str
    kind: ResponderKind
    name: str
    phone: str | None
    community_ids: list[str]
    location: Point
    radius_m: int
    travel_mode: TravelMode
    speed_kmh: float
    qualifications: list[str]
    skills: list[str]
    licence_level: LicenceLevel
    is_supervisor: bool
    volunteer_groups: list[VolunteerGroup]
    is_party_member: bool
    registered_name: str | None
    service_categories: list[str]
    slots_per_day: int | None
    coverage_area: dict[str, Any] | None
    weekly_shifts: list[WeeklyShift]
    shift_exceptions: list[ShiftException]
    max_tasks_per_day: int | None
    max_minutes_per_day: int | None
    max_tasks_per_week: int | None
    max_minutes_per_week: int | None
    load_capacity: int
    zone_clearances: list[str]
    active: bool
    emergency_team: bool
    emergency_max_tasks_per_day: int | None
    emergency_max_minutes_per_day: int | None
    points: int
    hours_served: int
    created_at: dt.datetime
    updated_at: dt.datetime
