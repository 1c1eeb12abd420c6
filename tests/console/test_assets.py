"""The console's files: served from the package with a strict policy, nothing from outside."""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

STATIC = Path(__file__).resolve().parents[2] / "service" / "console" / "static"
# The only absolute URL the page may name is the SVG namespace (an identifier, never fetched).
ALLOWED_URLS = {"http://www.w3.org/2000/svg"}


@pytest.fixture
def plain_client(database_url):
    from service.main import create_app

    with TestClient(create_app()) as client:
        yield client


def test_page_and_modules_are_served_with_a_strict_policy(plain_client):
    """/console and every module it imports answer 200 with their type and a self-only CSP."""
    page = plain_client.get("/console")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for module in sorted((STATIC / "js").glob("*.js")):
        answer = plain_client.get(f"/console/js/{module.name}")
        assert answer.status_code == 200, module.name
        assert answer.headers["content-type"].startswith("text/javascript")


def test_no_asset_names_an_outside_address():
    """No CDN, font service or tile server: every URL in the assets is the service's own."""
    for path in STATIC.rglob("*"):
        if path.is_file():
            urls = set(
                re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"'`)]*", path.read_text())
            )
            assert urls <= ALLOWED_URLS, f"{path.name}: {urls - ALLOWED_URLS}"


def test_files_outside_the_static_folder_are_not_found(plain_client, tmp_path, monkeypatch):
    """A path that climbs out of the static folder, or names an unknown type, answers 404."""
    from service.console import router

    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "ok.css").write_text("body {}")
    (tmp_path / "secret.css").write_text("body {}")
    monkeypatch.setattr(router, "STATIC", (tmp_path / "static").resolve())
    assert plain_client.get("/console/ok.css").status_code == 200
    for path in ("/console/%2e%2e/secret.css", "/console/..%2fsecret.css", "/console/nope.js"):
        answer = plain_client.get(path)
        assert answer.status_code == 404, path


def test_the_dictionary_has_every_label_in_both_languages():
    """i18n.js holds one Chinese and one English entry for every key the console uses."""
    text = (STATIC / "js" / "i18n.js").read_text(encoding="utf-8")
    zh_block = text[text.index("  zh: {") : text.index("  en: {")]
    en_block = text[text.index("  en: {") : text.index("\n};")]
    key = re.compile(r'"([a-z_]+(?:\.[a-z_]+)+)":')
    zh, en = set(key.findall(zh_block)), set(key.findall(en_block))
    assert zh and zh == en, f"only zh: {sorted(zh - en)}; only en: {sorted(en - zh)}"
    used = set()
    for module in (STATIC / "js").glob("*.js"):
        used |= set(re.findall(r'\bt\("([a-z_]+(?:\.[a-z_]+)+)"\)', module.read_text("utf-8")))
    assert used <= zh, f"labels missing from the dictionary: {sorted(used - zh)}"
