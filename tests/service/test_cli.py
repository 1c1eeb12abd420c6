"""The wushe command: plain errors with exit status 2 and nothing written; keys that work."""

from sqlalchemy import func, select

from service.auth.models import ApiKey
from service.cli import main
from service.places.models import Community
from tests.service.conftest import headers, table_counts


def test_unknown_role_exits_2_and_writes_nothing(database_url, session, capsys):
    """A role that does not exist is a plain message on stderr, exit 2, no key stored."""
    before = table_counts(session)
    assert main(["create-key", "--role", "mayor"]) == 2
    assert "--role must be one of" in capsys.readouterr().err
    assert table_counts(session) == before


def test_unknown_community_exits_2_and_writes_nothing(database_url, session, capsys):
    """A dispatcher key for a community code nobody knows is refused."""
    before = table_counts(session)
    assert main(["create-key", "--role", "dispatcher", "--community", "nope"]) == 2
    assert "unknown community code 'nope'" in capsys.readouterr().err
    assert table_counts(session) == before


def test_admin_key_from_cli_opens_the_api(database_url, client, capsys):
    """The printed key authenticates as an admin."""
    assert main(["create-key", "--role", "admin", "--name", "ops"]) == 0
    key = capsys.readouterr().out.strip()
    assert client.get("/v1/districts", headers=headers(key)).status_code == 200


def test_demo_loads_once_and_prints_a_working_key(database_url, client, session, capsys):
    """`wushe demo` loads the community the first time only, and its key sees the demo data."""
    assert main(["demo"]) == 0
    first = capsys.readouterr().out
    assert "demo community loaded" in first
    assert main(["demo"]) == 0
    second = capsys.readouterr().out
    assert "already present" in second
    assert session.scalar(select(func.count()).select_from(Community)) == 1
    responders = second.count("  responder ")
    assert responders == 8
    assert session.scalar(select(func.count()).select_from(ApiKey)) == 2 * (1 + responders)
    key = next(line for line in second.splitlines() if line.startswith("Dispatcher key")).rsplit(
        " ", 1
    )[-1]
    requests = client.get("/v1/requests", headers=headers(key)).json()["items"]
    assert len(requests) == 5 and {r["state"] for r in requests} == {"submitted"}


def test_a_bad_setting_exits_2_with_its_name(database_url, monkeypatch, capsys):
    """A setting the service cannot start with is a plain message naming it, not a traceback."""
    from service.config import get_settings

    monkeypatch.setenv("WUSHE_RUNS_ENGINE", "celery")
    get_settings.cache_clear()
    try:
        assert main(["migrate"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.startswith("wushe: ") and "WUSHE_RUNS_ENGINE" in err and "Traceback" not in err
