"""Disputes in a real browser: a rep disputes a statement line, an analyst resolves it with an adjustment, and
the rep sees the outcome."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoSite, Screenshot, sign_in


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))


def test_a_rep_disputes_a_line_and_sees_the_analysts_adjustment(
    page: Page, site: DemoSite, screenshot: Screenshot
) -> None:
    rep, analyst = site.users("rep")[0], site.users("comp_analyst")[0]
    latest = site.months[-1]
    sign_in(page, rep, site.password)
    page.goto(f"/statements/{latest}/{rep.payee}")
    line = page.locator("table.lines tbody tr").first
    disputed = line.locator("td").first.inner_text()
    line.get_by_role("link", name="Dispute this line").click()  # htmx: the small form opens below the lines
    form = page.locator("#dispute-form form")
    expect(form).to_contain_text("Dispute:")
    form.get_by_label("Category").select_option("wrong_rate")
    form.get_by_label("Amount you expected").fill("1250.00")
    form.get_by_label("What is wrong").fill("My rate should be 6% after the January plan change.")
    screenshot(page, "dispute-raise")
    form.get_by_role("button", name="Raise dispute").click()
    expect(page).to_have_url(re.compile(r"/disputes/\d+\?done="))
    dispute_url = page.url.split("?")[0]
    expect(page.locator("[data-state]").first).to_have_text("Open")
    expect(page.locator("table.facts")).to_contain_text(disputed.split(" ")[0])
    page.get_by_label("Add a comment").fill("The deal desk approved 6% on 3 January.")
    page.get_by_role("button", name="Comment").click()
    expect(page.locator("ol.thread")).to_contain_text("deal desk approved 6%")
    screenshot(page, "dispute-raised")
    sign_out(page)

    sign_in(page, analyst, site.password)
    page.get_by_role("link", name="Disputes", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Disputes inbox")
    expect(page.locator("nav.tabs [data-state=active]")).not_to_have_text("0")
    screenshot(page, "dispute-inbox")
    page.goto(dispute_url)
    page.get_by_role("button", name="Take it").click()
    expect(page.locator("[data-state]").first).to_have_text("In review")
    resolve = page.get_by_role("form", name="Resolve with an adjustment")
    resolve.get_by_label("Adjustment amount").fill("312.50")
    resolve.get_by_label("Note for the payee").fill("Rate corrected to 6% for January.")
    # four eyes: the adjustment waits for a second person (and leaves the month's approval untouched)
    resolve.get_by_label("needs someone else's approval").check()
    screenshot(page, "dispute-resolve-form")
    resolve.get_by_role("button", name="Resolve with adjustment").click()
    expect(page.locator("section.outcome")).to_contain_text("Resolved with an adjustment")
    sign_out(page)

    sign_in(page, rep, site.password)
    page.get_by_role("link", name="Disputes", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My disputes")
    row = page.locator("table.disputes tbody tr").first
    expect(row).to_contain_text("Resolved: adjusted")
    expect(row).to_contain_text("312.50")
    row.get_by_role("link").first.click()
    outcome = page.locator("section.outcome")
    expect(outcome.locator("[data-figure=adjustment]")).to_contain_text(
        re.compile(r"312\.50 \w{3} to be paid in FY\d{4}-M\d\d")
    )
    expect(outcome).to_contain_text("Rate corrected to 6% for January.")
    expect(outcome).to_contain_text("waiting for a second person's approval")
    expect(page.locator("table.history")).to_contain_text("resolved (adjustment)")
    screenshot(page, "dispute-outcome-rep")


def test_a_rep_disputes_a_missing_deal_and_finance_reads_it_without_buttons(
    page: Page, site: DemoSite, screenshot: Screenshot
) -> None:
    rep, finance = site.users("rep")[1], site.users("finance")[0]
    latest = site.months[-1]
    sign_in(page, rep, site.password)
    page.goto(f"/statements/{latest}/{rep.payee}")
    page.get_by_role("link", name="Dispute another line").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Raise a dispute")
    page.get_by_label("Line").select_option("transaction|")
    page.get_by_label("Deal id").fill("SO-2025-009999")
    page.get_by_label("Category").select_option("missing_credit")
    page.get_by_label("What is wrong").fill("Globex renewal closed on 20 February; it is not on my statement.")
    screenshot(page, "dispute-new-missing-deal")
    page.get_by_role("button", name="Raise dispute").click()
    expect(page).to_have_url(re.compile(r"/disputes/\d+\?done="))
    expect(page.locator("table.facts")).to_contain_text("Transaction SO-2025-009999")
    dispute_url = page.url.split("?")[0]
    sign_out(page)

    sign_in(page, finance, site.password)
    page.goto(dispute_url)
    expect(page.locator("[data-state]").first).to_have_text("Open")
    expect(page.get_by_role("button", name="Take it")).to_have_count(0)
    expect(page.get_by_role("button", name="Comment")).to_have_count(0)
    expect(page.get_by_role("button", name="Resolve with adjustment")).to_have_count(0)
    screenshot(page, "dispute-finance-read-only")
