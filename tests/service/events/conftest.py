from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.service.events.wiring import started


@pytest.fixture
def app_client(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The full app with its background loop off: tests tick by hand."""
    with started(monkeypatch) as client:
        yield client
