"""Browser tests: the real web app on a small demo store, driven in headless Debian chromium by Playwright.

One store and one server per test session: the demo company (scale 0.05) with its first months run, served
by uvicorn on a free 127.0.0.1 port in a background thread. Each test gets a `page` in a fresh browser
context (no cookies shared between tests). `screenshot(page, name)` saves `build/screenshots/<name>.png`;
a failing test also leaves `build/screenshots/failed-<test>.png`.

Chromium is Debian's (`apt-get install chromium`), never a Playwright download. Without it every test here
is skipped for one reason, shown in one line; CI sets
OPENSPM_REQUIRE_BROWSER=1 so a missing browser fails there instead.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright
from sqlalchemy import Engine

from openspm.demo.service import load_demo
from openspm.runs.service import run_period
from openspm.store.db import make_engine
from openspm.web.app import create_app

CHROMIUM = os.environ.get("OPENSPM_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("OPENSPM_REQUIRE_BROWSER") == "1"
# As root on a closed network: no sandbox, no GPU, nothing that phones home; Playwright adds a new empty
# --user-data-dir of its own at every launch.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
MONTHS = ("FY2025-M01", "FY2025-M02")  # the months run before the server starts
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}


MISSING = None if shutil.which(CHROMIUM) else f"{CHROMIUM} not found (apt-get install chromium)"
SKIP_REASON = f"browser tests skipped: {MISSING}"
SKIP_AT = (str(Path(__file__)), sys._getframe().f_lineno)  # where every such skip is reported: one summary line


@pytest.fixture(scope="session", autouse=True)
def _browser_available() -> None:
    """Skip every browser test for one reason (one summary line), or fail them all when CI requires them."""
    if MISSING is None:
        return
    if REQUIRED:
        pytest.fail(f"browser tests cannot run: {MISSING} (OPENSPM_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(SKIP_REASON)


@dataclass
class DemoSite:
    """The running app: its address and the store behind it."""

    url: str
    engine: Engine
    months: tuple[str, ...] = field(default=MONTHS)


@pytest.fixture(scope="session")
def demo_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A SQLite store holding the demo company with its first months run."""
    root = tmp_path_factory.mktemp("browser")
    engine = make_engine(f"sqlite:///{root / 'demo.db'}")
    load_demo(engine, root / "demo", seed=5, scale=0.05)
    for month in MONTHS:
        run_period(engine, month, actor="browser-tests")
    yield engine
    engine.dispose()


def _wait_until_healthy(url: str, thread: threading.Thread, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the web app's server thread stopped before it answered /healthz")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the web app did not answer {url}/healthz within {seconds:.0f} s")


@pytest.fixture(scope="session")
def site(demo_engine: Engine) -> Iterator[DemoSite]:
    """The real app (`create_app`) served by uvicorn on a free 127.0.0.1 port, until the session ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # the socket is handed to uvicorn: no race for the port
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(demo_engine), log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="openspm-web", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, thread)
        yield DemoSite(url=url, engine=demo_engine)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """Debian's chromium, headless, for the whole session."""
    launched = playwright_driver.chromium.launch(executable_path=shutil.which(CHROMIUM), args=FLAGS)
    yield launched
    launched.close()


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.skipped and isinstance(report.longrepr, tuple) and report.longrepr[2].endswith(SKIP_REASON):
        # pytest folds skips by place and reason: one place for all of them gives one summary line
        report.longrepr = (*SKIP_AT, report.longrepr[2])
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture
def page(browser: Browser, site: DemoSite, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a fresh browser context (its own cookies) on the app; JS errors and failed assets fail the test."""
    context = browser.new_context(base_url=site.url, viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(10_000)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
    tab.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} for {response.url}")
            if response.status >= 400 and response.request.resource_type != "document"
            else None
        ),
    )
    tab.on("requestfailed", lambda req: problems.append(f"request failed: {req.url} ({req.failure})"))
    yield tab
    reports = request.node.stash.get(_REPORTS, {})
    if "call" in reports and reports["call"].failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
        tab.screenshot(path=SCREENSHOTS / f"failed-{name}.png", full_page=True)
    context.close()
    if problems:
        pytest.fail("the page had problems:\n  " + "\n  ".join(problems), pytrace=False)


Screenshot = Callable[[Page, str], Path]


@pytest.fixture(scope="session")
def screenshot() -> Screenshot:
    """screenshot(page, name) → build/screenshots/<name>.png, the whole page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def _shoot(tab: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        tab.screenshot(path=path, full_page=True)
        return path

    return _shoot
