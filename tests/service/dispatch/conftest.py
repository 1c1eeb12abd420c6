"""The dispatch routes on the test app, even before service/main.py includes them."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    from service.dispatch.router import router
    from service.main import create_app

    app = create_app()
    # service/main.py imports the dispatch router but (as of the stub) does not include it.
    if not any(getattr(r, "path", "").endswith("/accept") for r in app.routes):
        app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
