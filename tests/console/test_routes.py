"""Routes runs and pickup points in the console, in Chromium: pickup points and a sealed zone's
gate on the map, a routes preview listed per responder and drawn as one line per route, then
committed."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.console.conftest import Demo, Watched, sign_in

CENTRE = (121.0150, 30.6980)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _api(demo: Demo) -> httpx.Client:
    return httpx.Client(base_url=demo.url, headers={"X-API-Key": demo.dispatcher}, timeout=30)


def _add_places(api: httpx.Client, demo: Demo) -> dict[str, str]:
    """Two more pickup points, a meal delivery of 3 boxes and a sealed zone with a gate (away
    from every request and responder, so it changes no route)."""
    points = {}
    for name, (dx, dy), stock in (
        ("东湖长者食堂", (0.002, -0.001), {"meal_delivery": 30}),
        ("当湖社区卫生服务站", (-0.002, -0.003), {"medicine_delivery": 20}),
    ):
        created = api.post(
            "/v1/pickup-points",
            json={
                "community_id": demo.community_id,
                "name": name,
                "location": {"type": "Point", "coordinates": [CENTRE[0] + dx, CENTRE[1] + dy]},
                "opens_at": "07:00",
                "closes_at": "19:00",
                "stock": stock,
            },
        )
        assert created.status_code == 201, created.text
        points[name] = created.json()["id"]
    # Imported, not filed: an import is not matched at once, so the delivery stays open for
    # the run (the demo community dispatches what is filed one by one).
    day = (datetime.now(SHANGHAI) + timedelta(days=1)).date().isoformat()
    csv = (
        "external_id,category_code,lon,lat,window_start,window_end,quantity\n"
        f"meal-1,meal_delivery,{CENTRE[0] + 0.003},{CENTRE[1] - 0.002},"
        f"{day}T10:00:00+08:00,{day}T13:00:00+08:00,3\n"
    )
    imported = api.post(
        "/v1/requests/import",
        params={"community_id": demo.community_id},
        content=csv.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert imported.status_code == 200 and imported.json()["stored"] == 1, imported.text
    x, y = CENTRE[0] + 0.009, CENTRE[1] + 0.005
    zone = api.post(
        "/v1/zones",
        json={
            "community_id": demo.community_id,
            "name": "东湖七幢封控区",
            "status": "sealed",
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [[x, y], [x + 0.002, y], [x + 0.002, y + 0.002], [x, y + 0.002], [x, y]]
                ],
            },
            "gate": {"type": "Point", "coordinates": [x, y + 0.001]},
        },
    )
    assert zone.status_code == 201, zone.text
    return points


def test_pickup_points_and_a_sealed_zones_gate_are_on_the_map(watched: Watched, demo: Demo):
    """Each active pickup point is a marker whose tooltip names it with its hours and stock; a
    retired one is gone; the sealed zone's gate is marked."""
    with _api(demo) as api:
        points = _add_places(api, demo)
        retired = api.post(
            "/v1/pickup-points",
            json={
                "community_id": demo.community_id,
                "name": "已停用药房",
                "location": {"type": "Point", "coordinates": [CENTRE[0], CENTRE[1] - 0.005]},
                "opens_at": "08:00",
                "closes_at": "12:00",
            },
        ).json()["id"]
        assert api.delete(f"/v1/pickup-points/{retired}").status_code == 200
    page = watched.page
    sign_in(watched, demo)
    page.click("#nav a[data-view=map]")
    page.wait_for_selector("#map-svg .pickup")
    assert page.locator("#map-svg .pickup").count() == 4  # the demo's two and the test's two
    assert page.locator(f"#map-svg .pickup[data-id='{retired}']").count() == 0
    tooltip = page.locator(f"#map-svg .pickup[data-id='{points['东湖长者食堂']}'] title")
    assert tooltip.text_content() == "东湖长者食堂 · 营业 07:00–19:00 · 库存: 助餐送餐 30"
    assert page.locator("#map-svg .gate").count() == 1
    assert "门岗" in page.locator("#map-svg .gate title").text_content()
    watched.shot("22-map-pickup-points")


def test_a_routes_preview_is_listed_and_drawn_per_responder_then_committed(
    watched: Watched, demo: Demo
):
    """A routes run over the community serves both deliveries; its routes are listed with
    their stops in order and drawn one line each from the base; committing offers them and
    takes the boxes from the pickup points' stock."""
    with _api(demo) as api:
        points = _add_places(api, demo)
    page = watched.page
    sign_in(watched, demo)
    page.click("#nav a[data-view=runs]")
    page.select_option("#run-kind", "routes")
    page.fill("#run-limit", "2")
    page.click("#run-start")
    page.wait_for_selector("#plan-routes .route-card", timeout=60_000)
    with _api(demo) as api:
        runs = api.get("/v1/dispatch-runs", params={"state": "succeeded"}).json()["items"]
        assert [r["kind"] for r in runs] == ["routes"]
        run_id = runs[0]["id"]
        plan = api.get(f"/v1/dispatch-runs/{run_id}/plan").json()
    assert plan["kind"] == "routes" and len(plan["assignments"]) == 2, plan["unassigned"]
    routes = plan["routes"]
    cards = page.locator("#plan-routes .route-card")
    assert cards.count() == len(routes) >= 1
    for n, route in enumerate(routes):
        stops = cards.nth(n).locator("ol li")
        assert [stops.nth(k).get_attribute("data-kind") for k in range(stops.count())] == [
            stop["kind"] for stop in route["stops"]
        ]
    listed = " ".join(cards.all_text_contents())
    assert "取货" in listed and "送达" in listed and "助餐送餐 × 3" in listed
    assert "东湖长者食堂" in listed
    # One line per route, starting at its responder's base; a marker per stop.
    assert page.locator("#plan-map polyline.route").count() == len(routes)
    assert page.locator("#plan-map .route-stop").count() == sum(len(r["stops"]) for r in routes)
    assert page.locator("#plan-map .route-stop title").first.text_content().startswith("1. ")
    first = page.locator("#plan-map polyline.route").first.get_attribute("points").split(" ")
    assert len(first) == 1 + len(routes[0]["stops"])
    assert page.locator("#plan-map line.plan").count() == 0
    assert page.locator("#plan-assigned tbody tr").count() == 2
    watched.shot("23-routes-preview")
    page.click("#run-commit")
    page.wait_for_selector("#commit-result")
    assert page.locator("#run-state").text_content() == "已提交"
    watched.shot("24-routes-committed")
    with _api(demo) as api:
        offered = api.get("/v1/requests", params={"state": "offered"}).json()["items"]
        meal = api.get(f"/v1/pickup-points/{points['东湖长者食堂']}").json()
    assert len(offered) == 2
    assert meal["stock"]["meal_delivery"] == 27
    page.click("#nav a[data-view=map]")
    tooltip = page.locator(f"#map-svg .pickup[data-id='{points['东湖长者食堂']}'] title")
    assert tooltip.text_content().endswith("助餐送餐 27")
