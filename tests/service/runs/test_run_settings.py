"""Run settings come from service.config.Settings: validated once, a bad value refused at start
with a message naming the variable."""

import pytest

from service.config import InvalidSettings, get_settings
from service.runs import jobs


@pytest.fixture
def fresh(monkeypatch):
    """Settings read again from the environment this test sets."""
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WUSHE_RUNS_ENGINE": "celery"}, "WUSHE_RUNS_ENGINE='celery'"),
        ({"WUSHE_RUNS_MAX_ATTEMPTS": "0"}, "WUSHE_RUNS_MAX_ATTEMPTS='0'"),
        ({"WUSHE_RUNS_HEARTBEAT_S": "soon"}, "WUSHE_RUNS_HEARTBEAT_S='soon'"),
        ({"WUSHE_RUNS_STALE_S": "-1"}, "WUSHE_RUNS_STALE_S='-1'"),
        ({"WUSHE_RUNS_PROGRESS_EVENT_S": "-5"}, "WUSHE_RUNS_PROGRESS_EVENT_S='-5'"),
        ({"WUSHE_RUNS_JOB_RETENTION_H": "1.5"}, "WUSHE_RUNS_JOB_RETENTION_H='1.5'"),
        (
            {"WUSHE_RUNS_HEARTBEAT_S": "20", "WUSHE_RUNS_STALE_S": "30"},
            "WUSHE_RUNS_STALE_S (30) must be at least twice WUSHE_RUNS_HEARTBEAT_S (20)",
        ),
    ],
)
def test_a_bad_run_setting_is_refused_naming_the_variable(fresh, env, named):
    for name, value in env.items():
        fresh.setenv(name, value)
    with pytest.raises(InvalidSettings) as refused:
        get_settings()
    assert named in str(refused.value)


def test_run_settings_are_read_from_the_environment(fresh):
    fresh.setenv("WUSHE_RUNS_ENGINE", "local")
    fresh.setenv("WUSHE_RUNS_MAX_ATTEMPTS", "5")
    fresh.setenv("WUSHE_RUNS_HEARTBEAT_S", "0.5")
    fresh.setenv("WUSHE_RUNS_STALE_S", "6")
    fresh.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:5432/none")
    settings = get_settings()
    assert (settings.runs_max_attempts, settings.runs_heartbeat_s, settings.runs_stale_s) == (
        5,
        0.5,
        6.0,
    )
    assert jobs.engine_name() == "local"  # chosen, although the database is PostgreSQL
    assert jobs.worker_timing() == {"update_heartbeat_interval": 2.0, "stalled_worker_timeout": 6.0}
    fresh.setenv("WUSHE_RUNS_ENGINE", "auto")
    get_settings.cache_clear()
    assert jobs.engine_name() == "procrastinate"


def test_no_service_module_reads_the_environment_itself():
    """Every setting goes through Settings (validated, documented): no os.environ in service/."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[3] / "service"
    readers = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "os.environ" in path.read_text() or "getenv(" in path.read_text()
    ]
    assert readers == []
