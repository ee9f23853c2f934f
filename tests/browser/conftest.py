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
import secrets
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
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, expect, sync_playwright
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.demo.service import load_demo
from openspm.runs.service import run_period
from openspm.store import models as m
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
TIMEOUT_MS = 15_000  # generous: a loaded 2-core CI machine renders slowly; a passing step takes milliseconds

expect.set_options(timeout=TIMEOUT_MS)


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


@pytest.fixture(scope="session", autouse=True)
def _fresh_screenshots(_browser_available: None) -> None:
    """build/screenshots holds this run's pictures only."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    payee: str | None  # the payee's external id, for a rep or manager


@dataclass
class DemoSite:
    """The running app: its address, the store behind it and the demo users' password."""

    url: str
    engine: Engine
    password: str
    months: tuple[str, ...] = field(default=MONTHS)

    def users(self, role: str) -> list[DemoUser]:
        """The demo's own users holding `role` (never one a test created), by email; reps and managers first when
        their payee has credits."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(m.User.email, m.User.name, m.Payee.external_id)
                .join(m.UserRole, m.UserRole.user_id == m.User.id)
                .join(m.Role, m.Role.id == m.UserRole.role_id)
                .outerjoin(m.Payee, m.Payee.id == m.User.payee_id)
                .where(m.Role.name == role, m.User.email.like("%@demo.openspm.io"))
                .order_by(m.User.email)
            ).all()
            credited = set(session.scalars(select(m.RunCredit.payee).distinct()))
        users = [DemoUser(email, name, payee) for email, name, payee in rows]
        return sorted(users, key=lambda u: u.payee not in credited)


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, str]]:
    """A SQLite store holding the demo company with its first months run, and the demo users' password."""
    root = tmp_path_factory.mktemp("browser")
    engine = make_engine(f"sqlite:///{root / 'demo.db'}")
    loaded = load_demo(engine, root / "demo", seed=5, scale=0.05)
    for month in MONTHS:
        run_period(engine, month, actor="browser-tests")
    with Session(engine) as session, session.begin():  # no first-run tour over every test's home page
        emails = session.scalars(select(m.User.email)).all()  # (tests/browser/test_tour.py brings one back)
        session.add_all(
            m.AuditEntry(actor="browser-tests", action="tour_done", entity="users", entity_key=e) for e in emails
        )
    yield engine, str(loaded.get("password", ""))
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
def site(demo_store: tuple[Engine, str]) -> Iterator[DemoSite]:
    """The real app (`create_app`) served by uvicorn on a free 127.0.0.1 port, until the session ends."""
    engine, password = demo_store
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # the socket is handed to uvicorn: no race for the port
    port = sock.getsockname()[1]
    app = create_app(engine, secret=secrets.token_urlsafe(32))  # sessions signed with a key of this run only
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="openspm-web", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, thread)
        yield DemoSite(url=url, engine=engine, password=password)
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


def _cut_short_by_navigation(failure: str) -> bool:
    """A request still in flight when the page goes (the test clicks on, signs out or ends) is aborted by the
    browser (`net::ERR_ABORTED`): an event stream, an htmx poll, a script still loading. That is not a fault of the
    app; a missing asset answers 404 (caught as a response) and a refused connection fails with another error."""
    return "ERR_ABORTED" in failure


@pytest.fixture
def page(browser: Browser, site: DemoSite, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a fresh browser context (its own cookies) on the app; JS errors and failed assets fail the test."""
    context = browser.new_context(base_url=site.url, viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
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
    tab.on(
        "requestfailed",
        lambda req: (
            None
            if _cut_short_by_navigation(str(req.failure))
            else problems.append(f"request failed: {req.url} ({req.failure})")
        ),
    )
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

    def _shoot(tab: Page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        tab.screenshot(path=path, full_page=True)
        return path

    return _shoot


def sign_in(page: Page, user: DemoUser, password: str) -> None:
    """Sign in through the login form as `user`; returns on the page the app sends them to."""
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
