"""Serving under load (SQLite and PostgreSQL): the dashboard's kept figures are never stale, a repeated view
costs a few cheap queries, and `openspm serve --workers N` workers share one session key."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from openspm.access.dashboard import dashboard_for
from openspm.auth.secret import secret_key
from openspm.cli import store as store_cli
from openspm.cli.main import app as cli
from openspm.close.service import approve, close, reopen
from openspm.core.dates import utc_now
from openspm.runs.live import LiveEngine, TransactionChange
from openspm.store import models as m
from openspm.store.db import make_engine, migrate
from tests.conftest import WriteFile
from tests.test_access import PASSWORD, build_company, who


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    return build_company(engine, write)


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def test_a_repeated_dashboard_view_costs_the_visibility_check_and_one_marker_query(company: Engine) -> None:
    rep = who(company, "r2@x.io")
    with counted(company) as first:
        shown = dashboard_for(company, rep, None, "FY2025-M02")
    with counted(company) as again:
        assert dashboard_for(company, rep, None, "FY2025-M02") == shown
    assert shown.earned_month == {"USD": Decimal("600.00")}
    assert len(again) <= 2 < len(first), again  # the payee (visibility) and the change marker
    with counted(company) as default:
        dashboard_for(company, rep)
    with counted(company) as default_again:
        dashboard_for(company, rep)
    assert len(default_again) <= 2 < len(default)


def test_kept_figures_follow_live_earnings_at_once(company: Engine) -> None:
    """An incremental recompute (a deal's amount doubled) shows on the very next view: no waiting for expiry."""
    rep = who(company, "r2@x.io")
    before = dashboard_for(company, rep, None, "FY2025-M02")
    manager = who(company, "m2@x.io")
    assert dashboard_for(company, manager, "R2", "FY2025-M02").earned_month == before.earned_month
    LiveEngine(company, "FY2025-M02").apply(
        [TransactionChange("T4", date(2025, 2, 3), "A2", "SKU1", Decimal("24000"), "USD", owner="R2")], actor="test"
    )
    after = dashboard_for(company, rep, None, "FY2025-M02")
    assert after.earned_month != before.earned_month
    assert after.earned_month["USD"] > before.earned_month["USD"]
    assert dashboard_for(company, manager, "R2", "FY2025-M02").earned_month == after.earned_month
    # A writer that changes rows in place (same count, same ids) and sets `updated_at`, as the marker asks.
    with Session(company) as session, session.begin():
        live = m.LiveEarning
        for row in session.scalars(select(live).where(live.payee == "R2", live.period == "FY2025-M02")):
            row.amount = row.amount + Decimal(1)
            row.updated_at = utc_now()
    assert dashboard_for(company, rep, None, "FY2025-M02").earned_month["USD"] == after.earned_month["USD"] + len(
        after.components
    )


def test_kept_figures_follow_closes_and_reopens(company: Engine) -> None:
    rep = who(company, "r1@x.io")
    assert not dashboard_for(company, rep, None, "FY2025-M01").closed
    approve(company, "FY2025-M01", actor="test")
    close(company, "FY2025-M01", actor="test")
    assert dashboard_for(company, rep, None, "FY2025-M01").closed
    reopen(company, "FY2025-M01", actor="test", reason="a late correction")
    assert not dashboard_for(company, rep, None, "FY2025-M01").closed


def test_serve_defaults_to_a_worker_per_core_and_makes_the_key_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, object] = {}
    monkeypatch.setenv("OPENSPM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OPENSPM_DATABASE_URL", raising=False)
    monkeypatch.delenv("OPENSPM_SECRET_KEY", raising=False)

    def run(target: str, **options: object) -> None:
        seen.update(options, target=target, key_on_disk=(tmp_path / "secret.key").exists())

    monkeypatch.setattr("uvicorn.run", run)
    assert CliRunner().invoke(cli, ["serve", "--port", "8123"]).exit_code == 0
    assert seen["target"] == "openspm.web.app:create_app" and seen["factory"] is True
    assert seen["workers"] == store_cli.default_workers() and 1 <= store_cli.default_workers() <= 8
    assert seen["key_on_disk"] is True  # before any worker starts
    assert seen["timeout_worker_healthcheck"] == store_cli.HEALTHCHECK_SECONDS
    assert CliRunner().invoke(cli, ["serve", "--workers", "3", "--no-access-log"]).exit_code == 0
    assert seen["workers"] == 3 and seen["access_log"] is False
    assert CliRunner().invoke(cli, ["serve", "--workers", "0"]).exit_code != 0


def test_the_session_key_is_written_whole_once_whoever_starts_first(tmp_path: Path) -> None:
    script = "import sys; from pathlib import Path; from openspm.auth.secret import secret_key; print(secret_key(Path(sys.argv[1])))"
    env = {k: v for k, v in os.environ.items() if k != "OPENSPM_SECRET_KEY"}
    starts = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    keys = {p.communicate(timeout=60)[0].strip() for p in starts}
    assert len(keys) == 1 and len(keys.pop()) >= 40
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]  # no temporary file left behind
    assert secret_key(tmp_path) == (tmp_path / "secret.key").read_text().strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_two_workers_accept_one_session(tmp_path: Path, write: WriteFile) -> None:
    """Signed in once, every request is served signed in, whichever worker takes it (each is a new connection)."""
    store = make_engine(f"sqlite:///{tmp_path / 'openspm.db'}")
    migrate(store)
    build_company(store, write)
    store.dispose()
    port = _free_port()
    env = {**os.environ, "OPENSPM_DATA_DIR": str(tmp_path), "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("OPENSPM_SECRET_KEY", None)
    env.pop("OPENSPM_DATABASE_URL", None)
    command = [sys.executable, "-m", "openspm.cli.main", "serve", "--port", str(port), "--workers", "2"]
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([*command, "--no-access-log"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.2)
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with opener.open(f"{url}/login") as page:
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode())
        assert token is not None
        form = {"email": "r2@x.io", "password": PASSWORD, "csrf_token": token.group(1)}
        with opener.open(f"{url}/login", data=urllib.parse.urlencode(form).encode()) as answer:
            assert answer.url.endswith("/dashboard")
        answers = []
        for _ in range(20):
            with opener.open(f"{url}/dashboard?period=FY2025-M02") as page:
                answers.append(
                    (page.url.endswith("/dashboard?period=FY2025-M02"), "600.00 USD" in page.read().decode())
                )
        assert answers == [(True, True)] * 20
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
