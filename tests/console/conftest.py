"""The console in a real browser: Debian's Chromium driven by Playwright, against the service
served by uvicorn on loopback over a fresh database seeded like the demo.

Every page fails its test on a console error, an uncaught exception, a failed request or an
answer >= 400 that the test did not say it expects. Screenshots go to test-artifacts/console/.
"""

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"

if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs it before the tests")
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Demo:
    url: str
    dispatcher: str
    community_id: str
    responders: dict[str, str]  # name -> id
    requests: dict[str, str]  # external id -> id


@pytest.fixture
def demo(database_url: str) -> Iterator[Demo]:
    """The demo community, a dispatcher key for it, and the app serving them on loopback."""
    import uvicorn
    from sqlalchemy import select

    from service.auth.principal import Role
    from service.db import get_sessionmaker
    from service.demo import DEMO_COMMUNITY_CODE, load_demo
    from service.main import create_app
    from service.places.models import Community
    from service.requests.models import ServiceRequest
    from service.responders.models import Responder
    from tests.service.conftest import add_key

    with get_sessionmaker()() as session:
        load_demo(session)
        community_id = session.scalar(
            select(Community.id).where(Community.code == DEMO_COMMUNITY_CODE)
        )
        key = add_key(session, Role.dispatcher, community_ids=[community_id])
        responders = dict(session.execute(select(Responder.name, Responder.id)).all())
        requests = dict(
            session.execute(select(ServiceRequest.external_id, ServiceRequest.id)).all()
        )
        session.commit()

    port = _free_port()
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, lifespan="off", log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield Demo(f"http://127.0.0.1:{port}", key, community_id, responders, requests)
    server.should_exit = True
    thread.join(timeout=10)
    from service.runs import jobs

    jobs.wait_local(timeout=30)


@pytest.fixture(scope="session")
def browser() -> Iterator["sync_api.Browser"]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@dataclass
class Watched:
    """A page and everything that went wrong in it."""

    page: "sync_api.Page"
    problems: list[str] = field(default_factory=list)
    expected: list[tuple[str, int]] = field(default_factory=list)
    closing: bool = False
    reloading: bool = False

    def expect_status(self, url_pattern: str, status: int) -> None:
        """Allow one kind of error answer the test provokes on purpose."""
        self.expected.append((url_pattern, status))

    def reload(self) -> None:
        """Reload the page: requests in flight when it unloads are aborted, which is no fault."""
        self.reloading = True
        try:
            self.page.reload()
        finally:
            self.reloading = False

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def watched(browser, demo) -> Iterator[Watched]:
    context = browser.new_context(
        viewport={"width": 1400, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    watch = Watched(page)

    def on_console(message) -> None:
        if message.type != "error":
            return
        # Chromium also logs every answer >= 400 here; those the test expects are no error.
        source = message.location.get("url", "")
        if message.text.startswith("Failed to load resource") and any(
            re.search(pattern, source) and f"status of {status}" in message.text
            for pattern, status in watch.expected
        ):
            return
        watch.problems.append(f"console error: {message.text} ({source})")

    def on_failed(request) -> None:
        # Streams are cut when the page closes or reloads, or the console stops following a
        # run, and a reload the test asks for aborts whatever was in flight: those aborts are
        # no failure; any other failed request is.
        aborted = "ERR_ABORTED" in (request.failure or "")
        if (
            watch.closing
            or (watch.reloading and aborted)
            or (request.url.split("?")[0].endswith("/stream") and aborted)
        ):
            return
        watch.problems.append(f"request failed: {request.method} {request.url} {request.failure}")

    def on_response(response) -> None:
        if response.status < 400:
            return
        for pattern, status in watch.expected:
            if response.status == status and re.search(pattern, response.url):
                return
        watch.problems.append(f"HTTP {response.status}: {response.request.method} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: watch.problems.append(f"page error: {error}"))
    page.on("requestfailed", on_failed)
    page.on("response", on_response)
    yield watch
    problems = list(watch.problems)
    watch.closing = True
    context.close()
    assert problems == [], "\n".join(problems)


def sign_in(watch: Watched, demo: Demo) -> None:
    page = watch.page
    page.goto(f"{demo.url}/console")
    page.fill("#key", demo.dispatcher)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#queue-table tbody tr")
