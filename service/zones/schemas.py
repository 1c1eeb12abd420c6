from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from service.types import Instant, Name, OutModel, Point, StrictModel

Status = Literal["sealed", "controlled", "precaution"]


class Geometry(StrictModel):
    """A GeoJSON Polygon or MultiPolygon, WGS-84 ``[lon, lat]`` positions."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any] = Field(min_length=1, max_length=1000)


class ZoneCreate(StrictModel):
    community_id: str
    name: Name
    status: Status
    geometry: Geometry
    valid_from: Instant | None = None
    valid_until: Instant | None = None
    gate: Point | None = Field(
        default=None,
        description="Handoff point of a sealed zone: deliveries may end here and a responder "
        "cleared for the zone carries them to the door",
    )


class ZoneUpdate(StrictModel):
    # Typed without None where a null makes no sense: an explicit null is refused.
    name: Name = None  # type: ignore[assignment]
    status: Status = None  # type: ignore[assignment]
    geometry: Geometry = None  # type: ignore[assignment]
    valid_from: Instant = None  # type: ignore[assignment]
    valid_until: Instant | None = None
    gate: Point | None = Field(default=None, description="null removes the gate")

    @model_validator(mode="after")
    def _something(self) -> "ZoneUpdate":
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        return self


class ZoneOut(OutModel):
    id: str
    community_id: str
    name: str
    status: str
    geometry: dict[str, Any]
    valid_from: datetime
    valid_until: datetime | None
    in_force: bool
    gate: dict[str, Any] | None = None
    created_at: datetime
    updated_at: datetime


class Retagged(OutModel):
    """How many open requests and residents a zone change moved in or out of zones."""

    requests: int
    residents: int


class ZoneChange(OutModel):
    zone: ZoneOut
    retagged: Retagged
