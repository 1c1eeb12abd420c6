"""Column types and value shapes shared by every domain."""

import os
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import DateTime, TypeDecorator
from sqlalchemy.engine import Dialect

_ID_LOCK = threading.Lock()
_last_id = [0, 0]  # the millisecond and the 12-bit counter of this process's last id


def new_id() -> str:
    """A time-ordered UUID (version 7 layout), so keyset pages follow creation order.

    Within one process the ids only grow, even within a millisecond: a 12-bit counter
    (RFC 9562's rand_a) follows the timestamp, started at a random point in its lower
    half each new millisecond and stepped by one after that; should it run out (or the
    clock step back), the timestamp is carried forward by a millisecond."""
    with _ID_LOCK:
        millis = time.time_ns() // 1_000_000
        if millis > _last_id[0]:
            counter = int.from_bytes(os.urandom(2), "big") & 0x7FF
        else:
            millis, counter = _last_id[0], _last_id[1] + 1
            if counter > 0xFFF:
                millis, counter = millis + 1, 0
        _last_id[0], _last_id[1] = millis, counter
    raw = bytearray(millis.to_bytes(6, "big") + counter.to_bytes(2, "big") + os.urandom(8))
    raw[6] = (raw[6] & 0x0F) | 0x70
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores instants in UTC and always hands back aware datetimes (SQLite drops offsets)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime reached the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


Longitude = Annotated[float, Field(ge=-180, le=180)]
Latitude = Annotated[float, Field(ge=-90, le=90)]


class StrictModel(BaseModel):
    """Input schemas refuse unknown fields: a typo must not be silently ignored."""

    model_config = ConfigDict(extra="forbid")


class OutModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Point(StrictModel):
    """A GeoJSON Point, WGS-84, coordinates ``[lon, lat]``."""

    type: Literal["Point"] = "Point"
    coordinates: tuple[Longitude, Latitude]

    @classmethod
    def of(cls, lon: float, lat: float) -> "Point":
        return cls(coordinates=(lon, lat))

    @property
    def lon(self) -> float:
        return self.coordinates[0]

    @property
    def lat(self) -> float:
        return self.coordinates[1]


Instant = AwareDatetime
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Tag = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")]


def dump_json(value: Any) -> Any:
    """Plain JSON for JSON columns (pydantic models and tuples become dicts and lists)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [dump_json(v) for v in value]
    return value
