"""Plan documents and finance in a real browser: a rep opens My plan and accepts it, the admin's Plan acceptance
page then shows them as accepted; finance opens the accruals."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoSite, Screenshot, sign_in


def test_a_rep_accepts_their_plan_and_the_admin_sees_it(page: Page, site: DemoSite, screenshot: Screenshot) -> None:
    rep = site.users("rep")[0]
    sign_in(page, rep, site.password)
    page.get_by_role("link", name="My plan").click()
    expect(page).to_have_url(re.compile(r"/plan$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(rep.name)
    document = page.frame_locator("iframe.plan-document")
    expect(document.get_by_role("heading", name="What you earn")).to_be_visible()
    expect(document.locator("#acceptance")).to_contain_text("Not yet accepted")
    screenshot(page, "plandocs-my-plan")
    page.get_by_role("button", name="I accept this plan").click()
    expect(page.locator("p.done[role=status]").first).to_contain_text("you accepted")
    expect(document.locator("#acceptance")).to_contain_text(f"by {rep.email}")
    page.goto(page.locator("a", has_text="Open the document").get_attribute("href") or "/plan")
    screenshot(page, "plandocs-document")
    page.context.clear_cookies()
    admin = site.users("admin")[0]
    sign_in(page, admin, site.password)
    page.get_by_role("link", name="Plan acceptance").click()
    row = page.locator(f'tr[data-payee="{rep.payee}"]').first
    expect(row).to_contain_text("accepted")
    expect(row).to_contain_text(rep.email)
    page.get_by_label("Show").select_option("pending")
    expect(page).to_have_url(re.compile(r"status=pending"))
    expect(page.locator(f'tr[data-payee="{rep.payee}"]')).to_have_count(0)
    screenshot(page, "plandocs-acceptance")


def test_finance_opens_the_accruals_and_the_accounting_schedule(
    page: Page, site: DemoSite, screenshot: Screenshot
) -> None:
    sign_in(page, site.users("finance")[0], site.password)
    page.get_by_role("link", name="Finance", exact=True).click()
    expect(page).to_have_url(re.compile(r"/finance/accruals$"))
    expect(page.locator("table.accrual-totals tbody tr").first).to_contain_text("USD")
    screenshot(page, "finance-accruals")
    page.get_by_role("link", name="Commission accounting").click()
    expect(page.locator("table.accounting-months tbody tr").first).to_be_visible()
    screenshot(page, "finance-accounting")
