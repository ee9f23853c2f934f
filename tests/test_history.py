"""The year to date history and the dashboard's chart data (SQLite and PostgreSQL): figures equal the store's live
earnings and payments, exact decimal strings, statement links, and the usual visibility."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.store import models as m
from tests.conftest import WriteFile
from tests.test_access import build_company
from tests.test_api import assert_error, client_with_token
from tests.test_web import signed_in


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    return build_company(engine, write)


def store_sums(engine: Engine, payee: str, month: str) -> tuple[Decimal, Decimal]:
    with Session(engine) as session:
        pid = session.scalars(select(m.Payee.id).where(m.Payee.external_id == payee)).one()
        earned = session.scalar(
            select(func.sum(m.LiveEarning.amount)).where(m.LiveEarning.payee_id == pid, m.LiveEarning.period == month)
        )
        run = session.scalar(select(func.max(m.Run.id)).where(m.Run.period == month, m.Run.status == "completed"))
        paid = session.scalar(
            select(func.sum(m.Payment.pay_amount)).where(m.Payment.run_id == run, m.Payment.payee_id == pid)
        )
    return Decimal(earned or 0), Decimal(paid or 0)


def test_the_history_is_the_stores_figures_month_by_month(company: Engine) -> None:
    rep = client_with_token(company, "r1@x.io", scope="read")
    data = rep.get("/api/v1/history?year=FY2025").json()
    assert data["payee"] == "R1" and data["year"] == "FY2025" and len(data["months"]) == 12
    for row in data["months"][:2]:
        earned, paid = store_sums(company, "R1", row["month"])
        assert Decimal(row["earned"]["USD"]) == earned and Decimal(row["paid"]["USD"]) == paid
        assert row["statement"] is True and row["component"] == "commission" and row["quota"] is not None
    assert data["months"][2]["earned"] == {} and data["months"][2]["statement"] is False
    chart = data["chart"]
    assert chart["months"][:2] == ["FY2025-M01", "FY2025-M02"] and chart["currency"] == "USD"
    assert chart["earned"][0] == data["months"][0]["earned"]["USD"] and chart["earned"][2] is None
    assert all(isinstance(v, str) for v in chart["earned"][:2] + chart["attainment"][:2])  # never floats
    assert chart["attainment"][0] == data["months"][0]["attainment"]
    total = sum(Decimal(r["earned"].get("USD", "0")) for r in data["months"])
    assert Decimal(data["earned"]["USD"]) == total


def test_history_follows_visibility(company: Engine) -> None:
    assert_error(client_with_token(company, "r1@x.io", "read").get("/api/v1/history?payee=R3"), 404, "not_found")
    manager = client_with_token(company, "m1@x.io", "read")
    assert manager.get("/api/v1/history?payee=R2&year=FY2025").json()["payee"] == "R2"  # on the team in January
    assert_error(manager.get("/api/v1/history?payee=R3"), 404, "not_found")
    finance = client_with_token(company, "finance@x.io", "read")
    assert finance.get("/api/v1/history?payee=R3").json()["payee"] == "R3"
    assert_error(finance.get("/api/v1/history"), 404, "not_found")  # finance has no payee of their own
    assert_error(finance.get("/api/v1/history?payee=R3&year=FY1999"), 404, "not_found")


def test_the_pages_carry_the_charts_and_link_each_statement(company: Engine) -> None:
    browser = signed_in(company, "r1@x.io")
    page = browser.get("/history?year=FY2025")
    assert page.status_code == 200
    assert page.text.count('href="/statements/FY2025-M0') == 2  # January and February have runs
    assert "/static/vendor/echarts/echarts.min.js" in page.text
    dashboard = browser.get("/dashboard?period=FY2025-M02").text
    found = re.search(r'<script type="application/json" id="chart-data"[^>]*>(.*?)</script>', dashboard, re.S)
    assert found is not None
    chart = json.loads(found.group(1))
    assert chart["months"] == ["FY2025-M01", "FY2025-M02"]  # the year up to the month shown
    assert 'data-events="/events/dashboard?payee=R1"' in dashboard
    assert browser.get("/static/vendor/echarts/echarts.min.js").status_code == 200
    assert browser.get("/static/dashboard.js").status_code == 200
    other = browser.get("/history?payee=R3")
    assert other.status_code == 404
    assert 'href="/help/web#year-to-date-history"' in page.text
    guide = browser.get("/help/web").text
    for anchor in ("real-time", "live-dashboards", "charts", "year-to-date-history"):
        assert f'id="{anchor}"' in guide, anchor
