"""The console's emergency features in Chromium: a lockdown zone drawn on the map tags the
requests inside, the emergency switch re-prioritises the queue and back, and a grid leader's
list is imported with its result table; each screen saved under test-artifacts/console/."""

from pathlib import Path

import httpx
from playwright.sync_api import expect

from tests.console.conftest import Demo, Watched, sign_in

EXAMPLE_CSV = Path(__file__).resolve().parents[2] / "examples" / "import" / "requests.csv"


def _api(demo: Demo) -> httpx.Client:
    return httpx.Client(base_url=demo.url, headers={"X-API-Key": demo.dispatcher}, timeout=30)


def _open_requests(api: httpx.Client, demo: Demo) -> list[dict]:
    found = []
    for state in ("submitted", "offered", "accepted", "in_progress", "declined"):
        answer = api.get(
            "/v1/requests", params={"community_id": demo.community_id, "state": state, "limit": 200}
        )
        found += answer.json()["items"]
    return found


def _box(locator) -> dict:
    """The element's box once it can be measured: the console redraws a view when the event
    stream brings news, and an element replaced meanwhile has none."""
    for _ in range(50):
        box = locator.bounding_box()
        if box is not None:
            return box
        locator.page.wait_for_timeout(100)
    raise AssertionError(f"{locator} was never measurable")


def test_a_zone_drawn_on_the_map_tags_the_request_inside(watched: Watched, demo: Demo):
    """Corners clicked round a request (the ring closed on the first) make a sealed zone: the
    API's re-tag count is shown, the zone is filled on the map with its details on a click, the
    queue's zone filter lists it by name and finds the request; a status change and the lift
    re-tag again."""
    request_id = demo.requests["demo-1"]

    def square(lon: float, lat: float) -> list[list[list[float]]]:
        d = 0.0008
        return [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]

    with _api(demo) as api:
        far = api.post(
            "/v1/zones",
            json={
                "community_id": demo.community_id,
                "name": "南北两片防范区",
                "status": "precaution",
                "geometry": {
                    "type": "MultiPolygon",
                    "coordinates": [square(121.008, 30.691), square(121.022, 30.691)],
                },
            },
        )
        assert far.status_code == 201, far.text
    page = watched.page
    sign_in(watched, demo)
    page.click("#nav a[data-view=zones]")
    page.wait_for_selector("#zones-table")
    page.fill("#zone-name", "东湖一号楼封控区")
    page.select_option("#zone-new-status", "sealed")
    page.fill("#zone-until", "2030-01-01T18:00")
    page.click("#zone-draw")
    page.locator("#zone-map").scroll_into_view_if_needed()
    marker = page.locator(f"#zone-map .request[data-id='{request_id}']")
    marker.wait_for()  # the open requests are read after sign-in
    box = _box(marker)
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    corners = [(x - 25, y - 25), (x + 25, y - 25), (x + 25, y + 25), (x - 25, y + 25)]
    for cx, cy in corners:
        page.mouse.click(cx, cy)
    page.wait_for_selector("#zone-corners:text('4')")
    assert page.locator("#zone-save").is_disabled()
    page.mouse.click(*corners[0])  # closes the ring
    page.wait_for_selector("#zone-save:not([disabled])")
    watched.shot("12-zone-drawn")
    page.click("#zone-save")
    page.wait_for_selector("#zone-result.ok")
    with _api(demo) as api:
        zones = api.get(
            "/v1/zones", params={"community_id": demo.community_id, "status": "sealed"}
        ).json()["items"]
        assert [(z["name"], z["status"], z["in_force"]) for z in zones] == [
            ("东湖一号楼封控区", "sealed", True)
        ]
        zone = zones[0]
        inside = [r["id"] for r in _open_requests(api, demo) if r["zone_id"] == zone["id"]]
    assert request_id in inside
    result = page.locator("#zone-result").text_content()
    assert f"重新标记的需求: {len(inside)}" in result
    # The console re-reads the requests after the save and again on the stream's events:
    # the count settles on the API's.
    expect(page.locator(f"#zones-table tr[data-id='{zone['id']}'] td.inside")).to_have_text(
        str(len(inside))
    )
    assert zone["valid_until"].startswith("2030-01-01T10:00:00")  # 18:00 in Shanghai
    period = page.locator(f"#zones-table tr[data-id='{zone['id']}'] td:nth-child(3)")
    assert period.text_content().endswith("01/01 18:00")
    watched.shot("13-zone-saved")

    page.click("#nav a[data-view=map]")
    page.wait_for_selector(f"#map-svg path.zone.z-sealed[data-id='{zone['id']}']")
    assert page.locator("#map-svg rect.zone").count() == 0  # no frame stand-in any more
    # A MultiPolygon is drawn as one shape of two rings.
    two = page.locator(f"#map-svg path.zone.z-precaution[data-id='{far.json()['zone']['id']}']")
    assert two.get_attribute("d").count("M") == 2
    # Inside the zone near its corner, clear of the request markers at its centre.
    # (a locator's click waits out the map's redraws, which replace the shape)
    page.locator(f"#map-svg path.zone[data-id='{zone['id']}']").click(position={"x": 4, "y": 4})
    page.wait_for_selector("#details[data-zone-id] #zone-detail-status:text('封控区')")
    assert "东湖一号楼封控区" in page.locator("#details").text_content()
    watched.shot("14-zone-on-map")
    page.keyboard.press("Escape")

    page.click("#nav a[data-view=queue]")
    # The queue re-reads the zones when the stream brings the zone's event: wait for it.
    page.wait_for_selector("#f-zone option:text('东湖一号楼封控区')", state="attached")
    options = page.locator("#f-zone option").all_text_contents()
    assert options == ["全部", "东湖一号楼封控区", "南北两片防范区"]
    page.select_option("#f-zone", label="东湖一号楼封控区")
    expect(page.locator("#queue-table tbody tr")).to_have_count(len(inside))
    assert page.locator(f"#queue-table tr[data-id='{request_id}'] td.zone").text_content() == (
        "东湖一号楼封控区"
    )
    watched.shot("15-queue-by-zone")
    page.select_option("#f-zone", "")

    page.click("#nav a[data-view=zones]")
    page.select_option(f"#zones-table tr[data-id='{zone['id']}'] .zone-status", "precaution")
    page.wait_for_selector("#zone-result:has-text('防范区')")
    page.click(f"#zones-table tr[data-id='{zone['id']}'] .zone-lift")
    page.click(f"#zones-table tr[data-id='{zone['id']}'] .zone-lift-confirm")
    page.wait_for_selector(f"#zone-result:has-text('重新标记的需求: {len(inside)}')")
    expect(page.locator("#zones-table tbody tr[data-id]")).to_have_count(1)  # the other zone
    with _api(demo) as api:
        assert api.get(f"/v1/requests/{request_id}").json()["zone_id"] is None


def test_emergency_mode_and_back_re_sorts_the_queue(watched: Watched, demo: Demo):
    """Switching to 战时 needs a reason and a confirmation, shows the red banner and how many
    requests rose (an insulin delivery becomes an emergency and tops the queue); back in
    peacetime it returns to normal. A switch made elsewhere reaches the queue live."""
    with _api(demo) as api:
        created = api.post(
            "/v1/requests",
            json={
                "community_id": demo.community_id,
                "category_code": "medicine_delivery",
                "urgency": "normal",
                "description": "胰岛素 1 盒",
                "location": {"type": "Point", "coordinates": [121.0151, 30.6981]},
                "window_start": "2030-01-01T09:00:00+08:00",
                "window_end": "2030-01-01T12:00:00+08:00",
            },
        )
        assert created.status_code == 201, created.text
    insulin = created.json()["id"]
    page = watched.page
    sign_in(watched, demo)
    assert page.locator("#mode-banner").is_hidden()
    first = page.locator("#queue-table tbody tr").first
    assert first.get_attribute("data-id") != insulin
    page.click("#nav a[data-view=mode]")
    card = page.locator(f".mode-card[data-community='{demo.community_id}']")
    assert card.locator(".mode-state").text_content() == "平时"
    card.locator(".mode-switch").click()
    page.wait_for_selector("#mode-result.refused:has-text('请填写切换原因')")
    assert "null" not in page.locator("#view-mode").text_content()
    card.locator(".mode-reason").fill("疫情封控，启动战时机制")
    card.locator(".mode-switch").click()
    watched.shot("16-emergency-confirm")
    card.locator(".mode-confirm").click()
    page.wait_for_selector("#mode-result:has-text('紧急程度改变的需求: 1')")
    page.wait_for_selector("#mode-banner:has-text('战时 / Emergency mode')")
    # The rules in force are listed: the default one that raised the insulin delivery.
    assert "升级规则: 紧急 ← 关键词: 胰岛素" in page.locator("#mode-result").text_content()
    assert "东湖社区" in page.locator("#mode-banner").text_content()
    assert card.locator(".mode-state").text_content() == "战时"
    watched.shot("17-emergency-on")
    page.click("#nav a[data-view=queue]")
    page.wait_for_selector(f"#queue-table tbody tr:first-child[data-id='{insulin}']")
    assert first.locator("td:first-child").text_content() == "紧急"
    watched.shot("18-emergency-queue")

    page.click("#nav a[data-view=mode]")
    card.locator(".mode-reason").fill("解除封控")
    card.locator(".mode-switch").click()
    card.locator(".mode-confirm").click()
    page.wait_for_selector("#mode-result:has-text('紧急程度改变的需求: 1')")
    page.wait_for_selector("#mode-banner", state="hidden")
    assert card.locator(".mode-state").text_content() == "平时"
    page.click("#nav a[data-view=queue]")
    page.wait_for_selector(f"#queue-table tr[data-id='{insulin}'] td:first-child:has-text('一般')")
    assert first.get_attribute("data-id") != insulin

    # The same switch made by another dispatcher arrives on the stream and re-sorts the queue.
    with _api(demo) as api:
        switched = api.post(
            f"/v1/communities/{demo.community_id}/mode",
            json={"mode": "emergency", "reason": "另一调度台切换"},
        )
        assert switched.status_code == 200, switched.text
    page.wait_for_selector(f"#queue-table tbody tr:first-child[data-id='{insulin}']")
    page.wait_for_selector("#mode-banner:has-text('战时')")


def test_import_the_example_list_and_see_what_became_of_each_row(
    watched: Watched, demo: Demo, tmp_path: Path
):
    """The example CSV is stored (its rows join the queue); sent again it is unchanged; the
    example GeoJSON is sent as such; a file with bad rows lists each refusal with row, field
    and reason."""
    page = watched.page
    sign_in(watched, demo)
    page.click("#nav a[data-view=import]")
    page.set_input_files("#import-file", str(EXAMPLE_CSV))
    page.click("#import-go")
    page.wait_for_selector("#import-result")
    rows = len(EXAMPLE_CSV.read_text(encoding="utf-8").strip().splitlines()) - 1
    assert page.locator("#import-stored .value").text_content() == str(rows)
    assert page.locator("#import-unchanged .value").text_content() == "0"
    assert page.locator("#import-rejected tbody tr.empty").count() == 1
    assert page.locator("#import-stored-list li").count() == rows
    watched.shot("19-import-stored")
    page.click("#nav a[data-view=queue]")
    page.wait_for_selector(f"#queue-count:text('{5 + rows}')")

    page.click("#nav a[data-view=import]")
    page.set_input_files("#import-file", str(EXAMPLE_CSV))
    page.click("#import-go")
    page.wait_for_selector(f"#import-unchanged .value:text('{rows}')")
    assert page.locator("#import-stored .value").text_content() == "0"

    geojson = EXAMPLE_CSV.with_name("requests.geojson")
    page.set_input_files("#import-file", str(geojson))
    page.click("#import-go")
    page.wait_for_selector("#import-result:has-text('requests.geojson')")
    assert page.locator("#import-stored .value").text_content() == "2"

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "external_id,category_code,lon,lat,window_start,window_end\n"
        "bad-1,no_such_category,121.03,30.71,2030-01-01T09:00:00+08:00,2030-01-01T12:00:00+08:00\n"
        "bad-2,medicine_delivery,not-a-number,30.71,"
        "2030-01-01T09:00:00+08:00,2030-01-01T12:00:00+08:00\n"
        "good-1,medicine_delivery,121.03,30.71,2030-01-01T09:00:00+08:00,2030-01-01T12:00:00+08:00\n",
        encoding="utf-8",
    )
    page.set_input_files("#import-file", str(bad))
    page.click("#import-go")
    page.wait_for_selector("#import-rejected tbody tr[data-row='2']")
    assert page.locator("#import-stored .value").text_content() == "1"
    rejected = page.locator("#import-rejected tbody tr")
    assert rejected.count() == 2
    cells = [rejected.nth(i).locator("td").all_text_contents() for i in range(2)]
    assert [c[0] for c in cells] == ["1", "2"]
    assert cells[0][1] == "category_code" and cells[0][2]
    assert cells[1][1] == "lon/lat" and cells[1][2]
    watched.shot("20-import-rejected")


def test_a_street_with_two_communities_switches_together(watched: Watched, demo: Demo):
    """A dispatcher of two communities of one street gets a street switch: both go to 战时
    with one confirmation, the banner names both, and both come back together."""
    from sqlalchemy import select

    from service.auth.principal import Role
    from service.db import get_sessionmaker
    from service.places.models import Community
    from tests.service.conftest import add_key

    with get_sessionmaker()() as session:
        donghu = session.scalar(select(Community).where(Community.id == demo.community_id))
        xihu = Community(
            street_id=donghu.street_id,
            code="330482001002",
            name="西湖社区",
            lon=donghu.lon + 0.01,
            lat=donghu.lat,
        )
        session.add(xihu)
        session.flush()
        both = add_key(session, Role.dispatcher, community_ids=[donghu.id, xihu.id])
        street_id, xihu_id = donghu.street_id, xihu.id
        session.commit()
    page = watched.page
    page.goto(f"{demo.url}/console")
    page.fill("#key", both)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#queue-table tbody tr")
    page.click("#nav a[data-view=mode]")
    street = page.locator(f".mode-card.street[data-street='{street_id}']")
    street.locator(".mode-reason").fill("全街道封控")
    street.locator(".mode-switch").click()
    street.locator(".mode-confirm").click()
    page.wait_for_selector("#mode-result:has-text('西湖社区 · 战时')")
    assert "东湖社区 · 战时" in page.locator("#mode-result").text_content()
    page.wait_for_selector("#mode-banner:has-text('西湖社区')")
    assert "东湖社区" in page.locator("#mode-banner").text_content()
    for community in (demo.community_id, xihu_id):
        card = page.locator(f".mode-card[data-community='{community}'] .mode-state")
        assert card.text_content() == "战时"
    watched.shot("21-street-emergency")
    street.locator(".mode-reason").fill("解除")
    street.locator(".mode-switch").click()
    street.locator(".mode-confirm").click()
    page.wait_for_selector("#mode-banner", state="hidden")
    with httpx.Client(base_url=demo.url, headers={"X-API-Key": both}) as api:
        modes = {c["id"]: c["mode"] for c in api.get("/v1/communities").json()["items"]}
    assert modes == {demo.community_id: "peacetime", xihu_id: "peacetime"}
