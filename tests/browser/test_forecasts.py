"""Forecasts in a real browser: an analyst starts a forecast and sees it drawn beside the history and the
baseline; a rep commits for the quarter and their manager sees it rolled up."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoSite, Screenshot, sign_in


def test_an_analyst_forecasts_and_a_rep_commits(page: Page, site: DemoSite, screenshot: Screenshot) -> None:
    sign_in(page, site.users("comp_analyst")[0], site.password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Insights", exact=True).click()
    page.get_by_role("navigation", name="Insights").get_by_role("link", name="Forecasts", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forecasts")
    page.get_by_label("Months ahead").fill("3")
    page.get_by_label("Methods").select_option(["auto_ets"])
    page.get_by_role("button", name="Start forecast").click()
    expect(page.locator("p.done[role=status]")).to_contain_text("forecast job")
    expect(page.locator("#forecast-jobs tr[data-state=succeeded]").first).to_be_visible(timeout=60_000)
    page.reload()
    expect(page.locator("#forecast-chart canvas")).to_have_count(1)
    expect(page.locator("table.forecast thead")).to_contain_text("seasonal_naive")
    expect(page.locator("table.forecast tbody tr")).to_have_count(3)
    page.get_by_label("Scope").select_option(index=1)  # the first region
    expect(page.locator("table.forecast tbody tr")).to_have_count(3)
    screenshot(page, "forecasts")

    rep = site.users("rep")[0]
    page.context.clear_cookies()
    sign_in(page, rep, site.password)
    page.goto("/insights/forecasts?period=FY2027-Q1")
    expect(page.locator("#forecast-chart")).to_have_count(0)  # reps see commits only
    page.get_by_label("My commit").fill("125000")
    page.get_by_label("Best case").fill("150000")
    page.get_by_role("button", name="Save commit").click()
    expect(page.locator("p.done[role=status]")).to_contain_text("commit for FY2027-Q1 saved")
    expect(page.locator("table.history")).to_contain_text("125,000.00")
    screenshot(page, "forecasts-commit")
