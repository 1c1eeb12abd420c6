"""Pickup points as the API speaks them."""

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, model_validator

from service.types import Code, Name, OutModel, Point, StrictModel

# Local clock time; a point open until midnight closes at "24:00".
Clock = Annotated[
    str,
    Field(
        pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$",
        description='Local time (Asia/Shanghai), "HH:MM"; "24:00" is midnight at the end',
        examples=["08:00"],
    ),
]
Boxes = Annotated[int, Field(ge=0, le=1_000_000)]
Stock = Annotated[
    dict[Code, Boxes],
    Field(
        max_length=200,
        description="Boxes the point can hand out, per service category code (the item a "
        "delivery request orders is its category, e.g. medicine_delivery)",
        examples=[{"medicine_delivery": 40, "meal_delivery": 120}],
    ),
]


def minutes(clock: str) -> int:
    hours, mins = clock.split(":")
    return int(hours) * 60 + int(mins)


class PickupPointCreate(StrictModel):
    community_id: str
    name: Name
    location: Point
    opens_at: Clock
    closes_at: Clock
    stock: Stock = Field(default_factory=dict)
    active: bool = True

    @model_validator(mode="after")
    def _open_before_close(self) -> "PickupPointCreate":
        if minutes(self.closes_at) <= minutes(self.opens_at):
            raise ValueError("closes_at must be after opens_at (overnight hours are not taken)")
        return self


class PickupPointUpdate(StrictModel):
    # Typed without None: an explicit null is refused, an omitted field is left alone.
    name: Name = None  # type: ignore[assignment]
    location: Point = None  # type: ignore[assignment]
    opens_at: Clock = None  # type: ignore[assignment]
    closes_at: Clock = None  # type: ignore[assignment]
    stock: Stock = None  # type: ignore[assignment]
    active: bool = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _something(self) -> "PickupPointUpdate":
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        return self


class PickupPointOut(OutModel):
    id: str
    community_id: str
    name: str
    location: dict[str, Any]
    opens_at: str
    closes_at: str
    stock: dict[str, int]
    active: bool
    created_at: datetime
    updated_at: datetime
