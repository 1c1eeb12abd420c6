"""A running app on a fresh database, and a small two-community world with keys per role."""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from service.auth.models import ApiKey
from service.auth.principal import Role, generate_key, hash_key
from service.db import get_engine, get_sessionmaker
from service.models import metadata
from service.places.models import Community, District, Grid, Street


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    from service.main import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    """A session on the test database for arranging data and checking what was written."""
    with get_sessionmaker()() as db_session:
        yield db_session


def add_key(session: Session, role: Role, **scope: object) -> str:
    """Insert an API key directly and return its secret."""
    secret, prefix = generate_key()
    session.add(
        ApiKey(
            name=f"{role.value} key",
            prefix=prefix,
            key_hash=hash_key(secret),
            role=role.value,
            **scope,
        )
    )
    session.flush()
    return secret


def headers(key: str) -> dict[str, str]:
    return {"X-API-Key": key}


@contextmanager
def statements_sent(keep: Callable[[str], bool] = lambda _statement: True) -> Iterator[list[str]]:
    """The statements the app sends while the block runs (those ``keep`` accepts)."""
    sent: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if keep(statement):
            sent.append(statement)

    event.listen(get_engine(), "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(get_engine(), "before_cursor_execute", note)


def selects_from(table: str) -> AbstractContextManager[list[str]]:
    """The SELECT statements on ``table`` the app sends while the block runs."""
    return statements_sent(
        lambda s: s.lstrip().upper().startswith("SELECT") and f"FROM {table}" in s
    )


@dataclass
class Side:
    """One community with its grid and keys."""

    community_id: str
    grid_id: str
    street_id: str
    dispatcher: str
    grid_app: str
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    admin: str
    district_id: str
    a: Side
    b: Side


def _side(session: Session, district: District, n: int, lon: float, lat: float) -> Side:
    street = Street(district_id=district.id, code=f"S{n}", name=f"街道{n}", lon=lon, lat=lat)
    session.add(street)
    session.flush()
    community = Community(street_id=street.id, code=f"C{n}", name=f"社区{n}", lon=lon, lat=lat)
    session.add(community)
    session.flush()
    grid = Grid(community_id=community.id, code=f"G{n}", name=f"网格{n}", lon=lon, lat=lat)
    session.add(grid)
    session.flush()
    return Side(
        community_id=community.id,
        grid_id=grid.id,
        street_id=street.id,
        dispatcher=add_key(session, Role.dispatcher, community_ids=[community.id]),
        grid_app=add_key(session, Role.grid_app, grid_ids=[grid.id]),
    )


@pytest.fixture
def world(session: Session) -> World:
    """Communities A and B (different streets, one district) and keys for each role."""
    district = District(code="D1", name="平湖市", lon=121.02, lat=30.70)
    session.add(district)
    session.flush()
    built = World(
        admin=add_key(session, Role.admin),
        district_id=district.id,
        a=_side(session, district, 1, 121.02, 30.70),
        b=_side(session, district, 2, 121.05, 30.72),
    )
    session.commit()
    return built


def table_counts(session: Session) -> dict[str, int]:
    """Rows per table: compare before and after a refused request to prove nothing was written."""
    session.expire_all()
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in metadata.sorted_tables
    }
