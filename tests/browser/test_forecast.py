"""The forecast page in a real browser: a manager opens it from the menu, sees the weighted pipeline and the
calibration drawn by ECharts, regroups by rep, and sees only their team's deals."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoSite, Screenshot, sign_in


def test_a_manager_reads_the_forecast_of_their_team(page: Page, site: DemoSite, screenshot: Screenshot) -> None:
    sign_in(page, site.users("manager")[0], site.password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Insights", exact=True).click()
    page.get_by_role("navigation", name="Insights").get_by_role("link", name="Pipeline", exact=True).click()
    expect(page).to_have_url(re.compile(r"/insights/forecast$"), timeout=60_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Forecast")
    expect(page.locator(".hint").first).to_contain_text("of your team")
    for chart in ("#chart-forecast", "#chart-calibration"):
        expect(page.locator(f"{chart} svg")).to_have_count(1)  # ECharts drew it
    expect(page.locator("table.metrics")).to_contain_text("model (calibrated)")
    page.locator("select[name=by]").select_option("rep")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"by=rep"))
    expect(page.locator("table.forecast thead")).to_contain_text("rep")
    screenshot(page, "forecast")
