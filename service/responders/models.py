"""Placeholder until the responders domain lands: just enough for foreign keys."""

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base
from service.models_base import Entity


class Responder(Entity, Base):
    __tablename__ = "responder"


class ResponderCommunity(Base):
    __tablename__ = "responder_community"

    responder_id: Mapped[str] = mapped_column(ForeignKey("responder.id"), primary_key=True)
    community_id: Mapped[str] = mapped_column(ForeignKey("community.id"), primary_key=True)
