"""Fixtures shared by the dispatch tests."""

import pytest

from tests.service.dispatch.helpers import auto_dispatch, setup_category


@pytest.fixture
def auto(client, session, world):
    """The world with community A dispatching automatically and the test category set up."""
    auto_dispatch(session, world.a)
    setup_category(client, world)
    return world
