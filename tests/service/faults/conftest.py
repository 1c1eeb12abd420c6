import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.private_pg import PrivatePostgres, binaries
from tests.conftest import BACKEND


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    """A server of the test's own (bench/private_pg.py), fresh for each test."""
    if BACKEND != "postgresql":
        pytest.skip("fault tests run in the PostgreSQL pass (WUSHE_TEST_DATABASE=postgresql)")
    bindir = binaries()
    if bindir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI needs PostgreSQL's server binaries (initdb, pg_ctl) for fault tests")
        pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as
    # the postgres user.
    root = Path(tempfile.mkdtemp(prefix="wushe-pg-"))
    server = PrivatePostgres(root, bindir)
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.close()
