from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base
from service.models_base import Entity


class ServiceCategory(Entity, Base):
    """One line of the service menu (服务菜单): what a need is and what it takes by default.

    Not community-scoped: every community orders from the same menu.
    """

    __tablename__ = "service_category"
    __table_args__ = (
        CheckConstraint("default_duration_min > 0", name="ck_service_category_duration"),
        CheckConstraint(
            "min_licence IN ('none', 'assistant', 'intermediate', 'senior')",
            name="ck_service_category_min_licence",
        ),
    )

    # Other domains reference categories by code (it is the API's path key too).
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    default_duration_min: Mapped[int] = mapped_column(Integer)
    required_qualifications: Mapped[list[Any]] = mapped_column(JSON, default=list)
    min_licence: Mapped[str] = mapped_column(String(16), default="none")
    # [{"role": ..., "count": n}]; empty means a single responder of any kind.
    default_team: Mapped[list[Any]] = mapped_column(JSON, default=list)
    needs_fund: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
