"""Gamification faces (SQLite and PostgreSQL): the pages, the nav bell, the opt-out form and the JSON API."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from openspm.auth.service import create_token
from openspm.web.app import create_app
from tests.conftest import WriteFile
from tests.test_access import build_company
from tests.test_gamification import CONTEST
from tests.test_web import SECRET, csrf_of, signed_in


def _bearer(engine: Engine, email: str, scopes: str) -> TestClient:
    _, token = create_token(engine, email, scopes.split(","), actor="test")
    return TestClient(create_app(engine, secret=SECRET), headers={"Authorization": f"Bearer {token}"})


def test_pages_opt_out_contest_and_notifications(engine: Engine, write: WriteFile) -> None:
    company = build_company(engine, write)
    r1, r3, analyst = signed_in(company, "r1@x.io"), signed_in(company, "r3@x.io"), signed_in(company, "analyst@x.io")
    page = r1.get("/leaderboard?measure=bookings&period=FY2025-Q1")
    assert page.status_code == 200
    assert re.search(r'<tr class="me" aria-current="true">\s*<td class="num">2</td>', page.text)
    assert "You are <strong>#2</strong> of 3" in page.text and 'href="/leaderboard"' in page.text
    answer = r1.post("/settings", data={"csrf_token": csrf_of(r1, "/settings"), "public": "no"}, follow_redirects=False)
    assert answer.status_code == 303
    assert 'value="no" checked' in r1.get("/settings").text
    other = r3.get("/leaderboard?measure=bookings&period=FY2025-Q1").text
    assert "(hidden)" in other and "Ann" not in other
    assert "Ann" in r1.get("/leaderboard?measure=bookings&period=FY2025-Q1").text
    # an analyst adds a contest from its YAML; a mistake is shown with its key
    bad = analyst.post("/contests", data={"csrf_token": csrf_of(analyst, "/contests"), "source": "contest: x\n"})
    assert bad.status_code == 422 and "contest @ name: required key is missing" in bad.text
    added = analyst.post(
        "/contests", data={"csrf_token": csrf_of(analyst, "/contests"), "source": CONTEST}, follow_redirects=False
    )
    assert added.status_code == 303
    standings = r3.get(added.headers["location"]).text
    assert "Live standings" in standings and "Bob" in standings and "Close and propose" not in standings
    assert r3.post("/contests", data={"csrf_token": csrf_of(r3, "/contests"), "source": CONTEST}).status_code == 403
    closed = analyst.post(
        f"{added.headers['location'].split('?')[0]}/close",
        data={"csrf_token": csrf_of(analyst, "/contests"), "pay_period": ""},
        follow_redirects=False,
    )
    assert closed.status_code == 303 and "2+adjustment" in closed.headers["location"]
    # R1 (second, 500) is told; the bell counts it; mark all read empties it
    r1 = signed_in(company, "r1@x.io")
    assert r1.get("/notifications/count").text.startswith('<span class="count" aria-label="1 unread">1')
    assert "Winter push has ended: you finished #2 and won 500" in r1.get("/notifications").text
    r1.post("/notifications/read", data={"csrf_token": csrf_of(r1, "/notifications")})
    assert r1.get("/notifications/count").text == ""
    signed_out = TestClient(create_app(company, secret=SECRET))  # the bell asked as the session ends: no redirect
    counted = signed_out.get("/notifications/count", follow_redirects=False)
    assert counted.status_code == 200 and counted.text == ""
    analyst.post("/badges/award", data={"csrf_token": csrf_of(analyst, "/badges")})
    assert "First deal" in r1.get("/badges").text


def test_api_leaderboard_preference_contests_and_notifications(engine: Engine, write: WriteFile) -> None:
    company = build_company(engine, write)
    rep, admin = _bearer(company, "r1@x.io", "read,write"), _bearer(company, "admin@x.io", "read,write")
    assert rep.put("/api/v1/leaderboard/preference", json={"public": False}).json() == {"public": False}
    board = _bearer(company, "r2@x.io", "read").get("/api/v1/leaderboard?measure=bookings&period=FY2025-Q1").json()
    assert [(r["rank"], r["payee"], r["value"]) for r in board["rows"]] == [
        (1, "R2", "16000.50"),
        (2, None, None),
        (3, "R3", "3000"),
    ]
    assert board["my_rank"] == 1 and board["rows"][0]["me"]
    assert rep.post("/api/v1/contests", json={"yaml": CONTEST}).status_code == 403
    made = admin.post("/api/v1/contests", json={"yaml": CONTEST})
    assert made.status_code == 201 and made.json()["key"] == "winter-push"
    bad = admin.post("/api/v1/contests", json={"yaml": CONTEST.replace("metric:", "metrik:")})
    assert bad.status_code == 422 and "contest @ metrik: unknown key" in bad.json()["detail"]
    standings = rep.get("/api/v1/contests/winter-push").json()
    assert [(r["rank"], r["payee"], r["award"]) for r in standings["rows"]] == [(1, "R2", "1000"), (2, "R1", "500")]
    closed = admin.post("/api/v1/contests/winter-push/close", json={})
    assert closed.status_code == 200 and closed.json()["pay_period"] == "FY2025-M03"
    assert admin.post("/api/v1/contests/winter-push/close", json={}).status_code == 409
    notes = rep.get("/api/v1/notifications").json()
    assert notes["unread"] == 1
    assert rep.post(f"/api/v1/notifications/{notes['items'][0]['id']}/read").json() == {"marked": 1}
    assert admin.post("/api/v1/badges/award").json()["months"] == ["FY2025-M01", "FY2025-M02"]


def test_the_menu_has_one_link_per_area_and_the_pages_of_an_area_are_tabs(engine: Engine, write: WriteFile) -> None:
    """Insights and Leaderboard are one menu link each; their pages carry the area's tabs, the page's own current
    (the Overview tab, /insights, is not current on the pages under it)."""
    company = build_company(engine, write)
    rep = signed_in(company, "r1@x.io")
    menu = rep.get("/badges").text.split('aria-label="Main"')[1].split("</nav>")[0]
    assert '<a href="/insights">Insights</a>' in menu and '<a href="/leaderboard">Leaderboard</a>' in menu
    assert "/contests" not in menu and "/insights/forecast" not in menu

    def current(path: str, area: str) -> list[str]:
        tabs = rep.get(path).text.split(f'<nav class="tabs" aria-label="{area}">')[1].split("</nav>")[0]
        return re.findall(r'<a href="([^"]+)" aria-current="page"', tabs)

    assert current("/badges", "Leaderboard") == ["/badges"]
    assert current("/contests", "Leaderboard") == ["/contests"]
    assert current("/insights/forecasts", "Insights") == ["/insights/forecasts"]
    assert current("/insights/data-quality", "Insights") == ["/insights/data-quality"]
