"""The batch view's plan downloads, in Chromium: CSV, GeoJSON and the printable route sheets
are fetched with the dispatcher's key and saved as files."""

import json

from tests.console.conftest import Demo, Watched, sign_in


def _saved(page, button: str) -> tuple[str, bytes]:
    with page.expect_download() as info:
        page.click(button)
    download = info.value
    with open(download.path(), "rb") as file:
        return download.suggested_filename, file.read()


def test_a_previewed_plan_downloads_as_csv_geojson_and_route_sheets(watched: Watched, demo: Demo):
    """After a preview, each download button saves its export of that run."""
    page = watched.page
    sign_in(watched, demo)
    page.click("#nav a[data-view=runs]")
    page.fill("#run-limit", "2")
    page.click("#run-start")
    page.wait_for_selector("#plan-assigned tbody tr", timeout=60_000)
    assigned = page.locator("#plan-assigned tbody tr").count()
    unassigned = page.locator("#plan-unassigned tbody tr").count()
    name, body = _saved(page, "#export-csv")
    assert name.startswith("plan-") and name.endswith(".csv")
    assert body.startswith("\ufeff".encode())
    lines = body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("row,request_id,") and len(lines) == 1 + assigned + unassigned
    name, body = _saved(page, "#export-geojson")
    assert name.endswith(".geojson")
    assert len(json.loads(body)["features"]) == assigned + unassigned
    name, body = _saved(page, "#export-sheets")
    assert name.startswith("route-sheets-") and name.endswith(".html")
    assert body.decode().startswith("<!DOCTYPE html>") and "路线单" in body.decode()
    watched.shot("08-run-exports")
