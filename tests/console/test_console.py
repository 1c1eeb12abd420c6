"""The dispatcher console driven in Chromium: sign-in, the queue, batch runs, manual dispatch,
responders and the indicators, each screen saved under test-artifacts/console/."""

import httpx

from tests.console.conftest import Demo, Watched, sign_in


def _api(demo: Demo) -> httpx.Client:
    return httpx.Client(base_url=demo.url, headers={"X-API-Key": demo.dispatcher}, timeout=30)


def _live(api: httpx.Client, request_id: str) -> list[dict]:
    items = api.get("/v1/assignments", params={"request_id": request_id}).json()["items"]
    return [a for a in items if a["state"] in ("offered", "accepted", "in_progress")]


def test_sign_in_shows_only_the_dispatchers_community(watched: Watched, demo: Demo):
    """A wrong key is refused with a message; the dispatcher's key opens the queue of its
    community; the language switch turns the labels English."""
    page = watched.page
    watched.expect_status(r"/v1/dispatch-runs\?limit=1$", 401)
    page.goto(f"{demo.url}/console")
    watched.shot("01-sign-in")
    page.fill("#key", "wsk_nothing_wrong")
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#signin-error:text('密钥无效')")
    page.fill("#key", demo.dispatcher)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#queue-table tbody tr")
    assert page.locator("#queue-table tbody tr").count() == 5
    assert page.evaluate("sessionStorage.getItem('wushe.console.key')") == demo.dispatcher
    page.click("#nav a[data-view=map]")
    page.wait_for_selector("#map-svg .request")
    assert page.locator("#map-svg .community-label").all_text_contents() == ["东湖社区"]
    assert page.locator("#map-svg .responder").count() == len(demo.responders)
    watched.shot("02-map")
    page.click("#lang")
    page.wait_for_selector("#nav a[data-view=queue]:text('Queue')")
    page.click("#nav a[data-view=queue]")
    page.wait_for_selector("#queue-table th:text('Urgency')")
    watched.shot("03-queue-english")


def test_queue_filters_sorts_and_updates_live(watched: Watched, demo: Demo):
    """Filters narrow the queue, urgent requests come first, and a request filed elsewhere
    appears at the top without a reload (from the event stream)."""
    page = watched.page
    sign_in(watched, demo)
    rows = page.locator("#queue-table tbody tr")
    urgencies = rows.locator("td:first-child").all_text_contents()
    assert urgencies == ["较急", "较急", "一般", "一般", "一般"]
    page.select_option("#f-urgency", "urgent")
    assert rows.count() == 2
    page.select_option("#f-urgency", "")
    page.select_option("#f-category", "elder_care_visit")
    assert rows.count() == 2
    assert set(rows.locator("td:nth-child(2)").all_text_contents()) == {"独居老人探访"}
    watched.shot("04-queue-filtered")
    page.select_option("#f-category", "")
    with _api(demo) as api:
        created = api.post(
            "/v1/requests",
            json={
                "community_id": demo.community_id,
                "category_code": "counselling",
                "urgency": "emergency",
                "location": {"type": "Point", "coordinates": [121.0151, 30.6981]},
                "window_start": "2030-01-01T09:00:00+08:00",
                "window_end": "2030-01-01T12:00:00+08:00",
            },
        )
        assert created.status_code == 201, created.text
    page.wait_for_selector(f"#queue-table tbody tr[data-id='{created.json()['id']}']")
    assert rows.first.get_attribute("data-id") == created.json()["id"]
    # Live matching offered it at once (the demo community dispatches automatically).
    page.wait_for_selector(
        f"#queue-table tr[data-id='{created.json()['id']}'] td.state:text('已派单')"
    )
    page.select_option("#f-state", "submitted")
    assert rows.count() == 5
    page.select_option("#f-state", "offered")
    assert rows.count() == 1
    watched.shot("05-queue-live")


def test_batch_preview_then_commit(watched: Watched, demo: Demo):
    """A preview over the community shows progress, the plan on a map and in tables with the
    reasons for what stays unassigned; committing turns the plan into offers."""
    with _api(demo) as api:
        nobody = api.post(
            "/v1/requests",
            json={
                "community_id": demo.community_id,
                "category_code": "counselling",
                "required_qualifications": ["sign_language"],
                "location": {"type": "Point", "coordinates": [121.0151, 30.6981]},
                "window_start": "2030-01-01T09:00:00+08:00",
                "window_end": "2030-01-01T12:00:00+08:00",
            },
        )
        assert nobody.json()["state"] == "submitted", nobody.text
    page = watched.page
    sign_in(watched, demo)
    page.click("#nav a[data-view=runs]")
    page.fill("#run-limit", "2")
    page.click("#run-start")
    page.wait_for_selector("#run-progress")
    page.wait_for_selector("#plan-assigned tbody tr", timeout=60_000)
    assigned = page.locator("#plan-assigned tbody tr").count()
    unassigned = page.locator("#plan-unassigned tbody tr")
    assert assigned + unassigned.count() == 6
    assert assigned >= 3
    # The request nobody is qualified for stays out, with the reason and the remedy.
    row = page.locator(f"#plan-unassigned tr[data-request='{nobody.json()['id']}']")
    assert row.locator("td:nth-child(2)").text_content().strip()
    assert row.locator("td:nth-child(4)").text_content().strip()
    assert page.locator("#plan-map line.plan").count() >= assigned
    assert page.locator("#run-state").text_content() == "完成"
    watched.shot("06-run-preview")
    page.click("#run-commit")
    page.wait_for_selector("#commit-result")
    with _api(demo) as api:
        offered = [r for r in api.get("/v1/requests", params={"state": "offered"}).json()["items"]]
    assert len(offered) == assigned
    assert page.locator("#run-state").text_content() == "已提交"
    watched.shot("07-run-committed")
    page.click("#nav a[data-view=queue]")
    page.wait_for_selector("#queue-table tbody tr td.state:text('已派单')")


def test_a_discarded_preview_offers_nothing_and_a_pending_one_can_be_reopened(
    watched: Watched, demo: Demo
):
    """Discarding a preview makes no offer and hides it; after a reload the console lists the
    preview still awaiting a decision and opens its plan again."""
    page = watched.page
    sign_in(watched, demo)
    page.click("#nav a[data-view=runs]")
    page.fill("#run-limit", "1")
    page.click("#run-start")
    page.wait_for_selector("#plan-assigned tbody tr", timeout=60_000)
    page.click("#run-discard")
    page.wait_for_selector("#run-progress", state="detached")
    with _api(demo) as api:
        assert api.get("/v1/requests", params={"state": "offered"}).json()["items"] == []
    page.click("#run-start")
    page.wait_for_selector("#plan-assigned tbody tr", timeout=60_000)
    watched.reload()  # the key survives in the tab's session; the view is the #runs it was on
    page.wait_for_selector("#pending-runs li")
    assert page.locator("#pending-runs li").count() == 1
    page.click("#pending-runs li button")
    page.wait_for_selector("#plan-assigned tbody tr")
    assert page.locator("#run-commit").is_visible()


def test_manual_reassignment_from_the_map(watched: Watched, demo: Demo):
    """From the map a dispatcher reassigns an offered request to another volunteer; a
    responder that does not serve the category is refused with the API's reason."""
    request_id = demo.requests["demo-1"]
    with _api(demo) as api:
        first = api.post(
            f"/v1/requests/{request_id}/assign", json={"responder_ids": [demo.responders["孙丽"]]}
        )
        assert first.status_code == 200, first.text
    watched.expect_status(rf"/v1/requests/{request_id}/assign$", 422)
    page = watched.page
    sign_in(watched, demo)
    page.click("#nav a[data-view=map]")
    page.wait_for_selector("#map-svg line.assignment")
    page.click(f"#map-svg .request[data-id='{request_id}']", force=True)
    page.wait_for_selector("#current-responders li:text('孙丽')")
    page.select_option("#assign-responder", demo.responders["东湖颐养中心"])
    page.click("#assign-go")
    page.wait_for_selector("#assign-outcome.refused")
    watched.shot("08-assign-refused")
    page.select_option("#assign-responder", demo.responders["郑浩"])
    page.click("#assign-go")
    page.wait_for_selector("#assign-outcome:not(.refused)")
    page.wait_for_selector("#current-responders li:text('郑浩')")
    watched.shot("09-reassigned")
    with _api(demo) as api:
        live = _live(api, request_id)
    assert [a["responder_id"] for a in live] == [demo.responders["郑浩"]]


def test_responders_show_load_and_edit_availability(watched: Watched, demo: Demo):
    """The responders list shows the day's load against caps; unticking availability writes a
    shift exception for that day."""
    request_id = demo.requests["demo-3"]
    with _api(demo) as api:
        assigned = api.post(
            f"/v1/requests/{request_id}/assign", json={"responder_ids": [demo.responders["冯洁"]]}
        )
        assert assigned.status_code == 200, assigned.text
        day = assigned.json()["assignments"][0]["planned_start"][:10]
    page = watched.page
    sign_in(watched, demo)
    page.click("#nav a[data-view=responders]")
    page.fill("#load-day", day)
    page.dispatch_event("#load-day", "change")
    row = page.locator(f"#responders-table tr[data-id='{demo.responders['冯洁']}']")
    page.wait_for_selector(
        f"#responders-table tr[data-id='{demo.responders['冯洁']}'] td:nth-child(5):text('1 / 6')"
    )
    row.locator(".available-toggle").uncheck()
    page.wait_for_selector("#toast:text('已保存')")
    watched.shot("10-responders")
    with _api(demo) as api:
        responder = api.get(f"/v1/responders/{demo.responders['冯洁']}").json()
    assert {"date": day, "available": False} in [
        {k: e[k] for k in ("date", "available")} for e in responder["shift_exceptions"]
    ]


def test_indicators_page_charts_the_period(watched: Watched, demo: Demo):
    """The indicators page shows the figures and charts of the demo's requests."""
    page = watched.page
    sign_in(watched, demo)
    page.click("#nav a[data-view=indicators]")
    page.wait_for_selector("#fig-total .value:text('5')")
    assert page.locator("#fig-share .value").text_content() == "0.0%"
    assert page.locator("#chart-category text.axis").count() >= 4
    assert page.locator("#chart-grid rect.bar-total").count() == 3
    watched.shot("11-indicators")
    page.select_option("#ind-scope", f"community:{demo.community_id}")
    page.fill("#ind-from", "2020-01-01")
    page.fill("#ind-to", "2020-01-31")
    page.click("#ind-show")
    page.wait_for_selector("#fig-total .value:text('0')")
