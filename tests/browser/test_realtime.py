"""Real time in a real browser: a transaction POSTed through the API shows on the rep's open dashboard within a
second, without a reload; the dashboard's charts and the year to date history page."""

from __future__ import annotations

import json
import re
import time
import urllib.request

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from openspm.auth.service import create_token
from openspm.store import models as m
from tests.browser.conftest import DemoSite, Screenshot, sign_in


def post(site: DemoSite, token: str, body: object) -> dict[str, object]:
    request = urllib.request.Request(
        f"{site.url}/api/v1/transactions",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        result: dict[str, object] = json.loads(answer.read())
        return result


def test_a_posted_deal_updates_the_open_dashboard_without_reload(
    page: Page, site: DemoSite, screenshot: Screenshot
) -> None:
    rep = site.users("rep")[0]
    month = site.months[-1]
    with Session(site.engine) as session:
        period = session.scalars(select(m.Period).where(m.Period.name == month)).one()
        account = session.scalars(select(m.Account.external_id).order_by(m.Account.id).limit(1)).one()
        product = session.scalars(select(m.Product.external_id).order_by(m.Product.id).limit(1)).one()
        currency = session.scalars(select(m.Payee.pay_currency).where(m.Payee.external_id == rep.payee)).one()
    admin = site.users("admin")[0]
    _, token = create_token(site.engine, admin.email, ["write"], actor="browser-tests")
    deal = {"id": "LIVE-0001", "date": period.start_date.isoformat(), "account": account, "product": product,
            "amount": "250000.00", "currency": currency, "owner": rep.payee}  # fmt: skip
    post(site, token, {**deal, "id": "LIVE-WARM", "amount": "1.00"})  # the live engine is built on first use

    sign_in(page, rep, site.password)
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.locator("#chart-earnings svg")).to_be_visible()  # ECharts drew, from /static/vendor
    expect(page.locator("#chart-attainment svg")).to_be_visible()
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.evaluate("window.__still_here = 'yes'")
    before = page.locator("[data-figure=month]").inner_text()
    page.wait_for_timeout(500)  # the event stream is open

    answer = post(site, token, deal)
    posted = time.monotonic()
    touched = answer["payees"]
    assert answer["inserted"] == 1 and isinstance(touched, list), answer
    assert rep.payee in [p["payee"] for p in touched], answer
    expect(page.locator("[data-figure=month]")).not_to_have_text(before)
    took = time.monotonic() - posted
    assert took < 1.0, f"the dashboard took {took:.2f} s to show the deal"
    expect(page.locator("#live-status")).to_have_text("Updated just now")
    assert page.evaluate("window.__still_here") == "yes" and navigations == [], navigations  # no reload
    screenshot(page, "realtime-dashboard")


def test_the_year_to_date_history_links_each_statement(page: Page, site: DemoSite, screenshot: Screenshot) -> None:
    rep = site.users("rep")[0]
    sign_in(page, rep, site.password)
    page.get_by_role("link", name="Year to date history").click()
    expect(page).to_have_url(re.compile(r"/history\?year=FY\d{4}$"))
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(12)
    first = rows.first
    expect(first.get_by_role("link", name="statement")).to_be_visible()
    expect(page.locator("#chart-earnings svg")).to_be_visible()
    screenshot(page, "realtime-history")
    first.get_by_role("link", name="statement").click()
    expect(page).to_have_url(re.compile(rf"/statements/{site.months[0]}/{rep.payee}$"))
    page.wait_for_load_state("networkidle")  # the statement's frame has loaded
