"""Server-sent events of a dashboard (SQLite and PostgreSQL): a POSTed transaction reaches the stream of the
payee it credits, and only theirs; who may watch whom; heartbeats."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from openspm.web.app import create_app
from openspm.web.pages import events
from tests.conftest import WriteFile
from tests.test_access import build_company
from tests.test_api import client_with_token
from tests.test_web import SECRET, signed_in

STREAM = "/events/dashboard"


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    return build_company(engine, write)


def sale(ident: str, owner: str, amount: str = "5000") -> dict[str, Any]:
    return {"id": ident, "date": "2025-02-11", "account": "A1", "product": "SKU1", "amount": amount,
            "currency": "USD", "owner": owner}  # fmt: skip


def events_of(body: str) -> list[tuple[str, str]]:
    found = []
    for block in body.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in lines:
            assert lines.get("id"), block  # every event names the marker it saw
        if "event" in lines:
            found.append((lines["event"], lines.get("data", "")))
    return found


def post_later(engine: Engine, body: dict[str, Any], delay: float) -> threading.Thread:
    writer = client_with_token(engine, "analyst@x.io")

    def run() -> None:
        time.sleep(delay)
        assert writer.post("/api/v1/transactions", json=body).status_code == 200

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_posted_transaction_reaches_its_payees_stream_and_no_one_elses(company: Engine) -> None:
    writer = client_with_token(company, "analyst@x.io")
    assert writer.post("/api/v1/transactions", json=sale("E0", "R2")).status_code == 200  # warms the live engine
    rep = signed_in(company, "r1@x.io")  # a browser's session cookie, as EventSource sends it
    other = client_with_token(company, "r3@x.io", scope="read")
    answers: dict[str, Any] = {}

    def watch(name: str, client: TestClient, query: str) -> None:
        answers[name] = client.get(f"{STREAM}?{query}")

    # R1's stream ends at its first change (however long a loaded machine takes to post); R3's after 3 s

    watchers = [
        threading.Thread(target=watch, args=(n, c, q))
        for n, c, q in (("r1", rep, "timeout=60&changes=1"), ("r3", other, "timeout=3"))
    ]
    for w in watchers:
        w.start()
    post_later(company, sale("E1", "R1"), 0.8).join()
    for w in watchers:
        w.join()
    mine, theirs = answers["r1"], answers["r3"]
    assert mine.status_code == 200 and mine.headers["content-type"].startswith("text/event-stream")
    assert mine.headers["cache-control"] == "no-cache"
    assert mine.text.startswith("retry: 2000\n")
    got = events_of(mine.text)
    assert got[0] == ("ready", '{"payee": "R1"}')
    assert [name for name, _ in got[1:]] == ["earnings"] and '"payee": "R1"' in got[1][1]
    assert events_of(theirs.text) == [("ready", '{"payee": "R3"}')]  # R3 was not touched


def test_a_manager_follows_the_team_a_rep_only_themselves(company: Engine) -> None:
    manager = client_with_token(company, "m1@x.io", scope="read")
    assert client_with_token(company, "admin@x.io").post("/api/v1/transactions", json=sale("E0", "R2")).is_success
    thread = post_later(company, sale("E2", "R1", "700"), 0.5)
    answer = manager.get(f"{STREAM}?payee=R1&timeout=60&changes=1")  # ends at the first change
    thread.join()
    assert [name for name, _ in events_of(answer.text)] == ["ready", "earnings"]
    hidden = manager.get(f"{STREAM}?payee=R3&timeout=1")  # not on M1's team today
    assert hidden.status_code == 404 and "unknown payee &#39;R3&#39;" in hidden.text
    rep = client_with_token(company, "r1@x.io", scope="read")
    refused = rep.get(f"{STREAM}?payee=R2&timeout=1")
    assert refused.status_code == 404 and "unknown payee &#39;R2&#39;" in refused.text
    finance = client_with_token(company, "finance@x.io", scope="read")
    assert events_of(finance.get(f"{STREAM}?payee=R3&timeout=0.5").text) == [("ready", '{"payee": "R3"}')]
    assert finance.get(f"{STREAM}?timeout=0.5").status_code == 404  # finance has no payee of their own
    anonymous = TestClient(create_app(company, secret=SECRET), follow_redirects=False)
    assert anonymous.get(f"{STREAM}?timeout=0.5").status_code == 401
    assert rep.get(f"{STREAM}?timeout=0").status_code == 422


def test_heartbeats_keep_an_idle_stream_open(company: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "HEARTBEAT_SECONDS", 0.3)
    body = (
        client_with_token(company, "r1@x.io", scope="read").get(f"{STREAM}?timeout=3").text
    )  # room for a loaded machine
    assert body.count(": keep-alive\n\n") >= 2
    assert [name for name, _ in events_of(body)] == ["ready"]


def test_a_reconnecting_client_hears_of_a_change_it_missed(company: Engine) -> None:
    rep = client_with_token(company, "r1@x.io", scope="read")
    first = rep.get(f"{STREAM}?timeout=0.5").text
    seen = next(line for line in first.splitlines() if line.startswith("id: "))[4:]
    same = rep.get(f"{STREAM}?timeout=0.5", headers={"Last-Event-ID": seen}).text
    assert [name for name, _ in events_of(same)] == ["ready"]  # nothing happened meanwhile
    writer = client_with_token(company, "analyst@x.io")
    assert writer.post("/api/v1/transactions", json=sale("E9", "R1")).status_code == 200  # while disconnected
    again = rep.get(f"{STREAM}?timeout=0.5", headers={"Last-Event-ID": seen}).text
    assert [name for name, _ in events_of(again)] == ["ready", "earnings"]
