from datetime import datetime
from typing import Any

from pydantic import Field

from service.types import Code, Name, OutModel, Point, StrictModel


class Outline(StrictModel):
    """A GeoJSON Polygon (WGS-84), used to draw communities and grids on the console map."""

    type: str = Field(pattern="^Polygon$")
    coordinates: list[list[tuple[float, float]]] = Field(min_length=1)


class PlaceCreate(StrictModel):
    code: Code
    name: Name
    centre: Point


class PlaceUpdate(StrictModel):
    # Typed without None: an explicit null is refused, an omitted field is left alone.
    name: Name = None  # type: ignore[assignment]
    centre: Point = None  # type: ignore[assignment]


class PlaceOut(OutModel):
    id: str
    code: str
    name: str
    centre: Point
    created_at: datetime
    updated_at: datetime


class DistrictCreate(PlaceCreate):
    pass


class DistrictOut(PlaceOut):
    pass


class StreetCreate(PlaceCreate):
    district_id: str


class StreetOut(PlaceOut):
    district_id: str


class CommunityCreate(PlaceCreate):
    street_id: str
    outline: Outline | None = None
    auto_dispatch: bool = False


class CommunityUpdate(PlaceUpdate):
    outline: Outline | None = None
    auto_dispatch: bool = None  # type: ignore[assignment]


class CommunityOut(PlaceOut):
    street_id: str
    outline: dict[str, Any] | None
    auto_dispatch: bool
    mode: str = Field(description="peacetime or emergency (POST .../mode switches it)")
    mode_since: datetime | None
    mode_reason: str | None = Field(description="Why the community is in its current mode")
    emergency_rules: list[dict[str, Any]] | None = Field(
        description="The community's own urgency rules for emergencies; null: the defaults"
    )


class GridCreate(PlaceCreate):
    community_id: str
    outline: Outline | None = None


class GridUpdate(PlaceUpdate):
    outline: Outline | None = None


class GridOut(PlaceOut):
    community_id: str
    outline: dict[str, Any] | None
