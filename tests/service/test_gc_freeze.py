"""A started app moves what lives as long as the process out of the garbage collector's way."""

import gc

import pytest
from fastapi.testclient import TestClient

from service.config import get_settings


@pytest.mark.parametrize("freeze", [True, False])
def test_startup_freezes_the_apps_objects_only_when_set(database_url, monkeypatch, freeze):
    """WUSHE_GC_FREEZE=true: once started, the app's routes are in the permanent generation
    (never walked again); false: nothing is frozen."""
    from service.main import create_app

    monkeypatch.setenv("WUSHE_GC_FREEZE", str(freeze).lower())
    get_settings.cache_clear()
    gc.unfreeze()
    app = create_app()
    try:
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            assert (gc.get_freeze_count() > 0) is freeze
            tracked = any(obj is app.router.routes for obj in gc.get_objects())
            assert tracked is not freeze
    finally:
        gc.unfreeze()
        get_settings.cache_clear()
