"""Keyset pages with opaque cursors; no list ever returns more than one page."""

import base64
import binascii
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from service.config import get_settings
from service.errors import Unprocessable

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class PageParams:
    def __init__(
        self,
        limit: Annotated[int | None, Query(ge=1, description="Items per page (max 200)")] = None,
        cursor: Annotated[str | None, Query(description="Opaque cursor from `next_cursor`")] = None,
    ) -> None:
        settings = get_settings()
        if limit is not None and limit > settings.page_size_max:
            raise Unprocessable.on(
                "limit", f"page size {limit} exceeds the maximum of {settings.page_size_max}"
            )
        self.limit = limit or settings.page_size_default
        self.after = _decode(cursor) if cursor else None


CURSOR_MARK = "k1:"


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode((CURSOR_MARK + key).encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    if not raw.startswith(CURSOR_MARK):
        raise Unprocessable.on("cursor", "the cursor is not one this service issued")
    return raw.removeprefix(CURSOR_MARK)


def fetch_page(
    session: Session, stmt: Select, key: InstrumentedAttribute, page: PageParams
) -> tuple[list, str | None]:  # type: ignore[type-arg]
    """Run ``stmt`` ordered by ``key`` from the cursor on; one extra row tells if more follow."""
    if page.after is not None:
        stmt = stmt.where(key > page.after)
    rows = list(session.scalars(stmt.order_by(key).limit(page.limit + 1)))
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return rows, (_encode(str(getattr(rows[-1], key.key))) if more else None)
