"""The placeholder web app serves the store summary as a page and as JSON."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from openspm.ingest.service import import_file
from openspm.store.db import make_engine, migrate
from openspm.web.app import create_app


def test_home_page_and_status_show_what_the_store_holds(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'web.db'}")
    migrate(engine)
    payees = tmp_path / "payees.csv"
    payees.write_text("id,name,pay_currency\nP1,Ann,USD\nP2,Bob,EUR\n", encoding="utf-8")
    import_file(engine, "payees", payees, actor="test")
    client = TestClient(create_app(engine))

    page = client.get("/")
    assert page.status_code == 200
    assert '<td>Payees</td><td class="num">2</td>' in page.text
    assert "payees.csv" in page.text

    status = client.get("/api/v1/status").json()
    assert status["counts"]["Payees"] == 2
    assert status["imports"][0]["inserted"] == 2
    assert client.get("/healthz").json() == {"status": "ok"}
    assert status["runs"] == []
    assert "No runs yet" in page.text
    assert client.get("/static/openspm.css").status_code == 200
