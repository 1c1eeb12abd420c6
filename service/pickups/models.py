"""Pickup points: pharmacies and hospital dispensaries where responders collect boxes."""

from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base
from service.models_base import Entity
from service.places.models import Located


class PickupPoint(Entity, Located, Base):
    """A place of one community that hands out boxes while it is open and holds stock.

    ``stock`` maps a service category code (what a delivery request orders) to the boxes the
    point can still hand out; committed route runs draw it down.
    """

    __tablename__ = "pickup_point"

    community_id: Mapped[str] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Local (Asia/Shanghai) clock times, "HH:MM"; closes_at may be "24:00".
    opens_at: Mapped[str] = mapped_column(String(5))
    closes_at: Mapped[str] = mapped_column(String(5))
    stock: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)

    @property
    def location(self) -> dict[str, Any]:
        return self.centre
