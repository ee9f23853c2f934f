"""Insights in a real browser: the KPI dashboard's filters, charts and CSV export, and the data-quality view."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoSite, Screenshot, sign_in


def test_finance_filters_the_dashboard_sees_the_charts_and_downloads_a_table(
    page: Page, site: DemoSite, screenshot: Screenshot
) -> None:
    sign_in(page, site.users("finance")[0], site.password)
    page.get_by_role("link", name="Insights").first.click()
    page.locator("select[name=period]").select_option("FY2025-Q1")
    page.locator("select[name=region]").select_option("EMEA")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", name="Insights · FY2025-Q1")).to_be_visible()
    for chart in ("chart-months", "chart-attainment", "chart-pay", "chart-funnel", "chart-regions", "chart-products"):
        expect(page.locator(f"#{chart} svg")).to_have_count(1)  # ECharts drew it
    expect(page.locator("#table-by_rep tbody tr").first).to_be_visible()
    regions = page.locator("#table-by_region tbody tr")
    expect(regions).to_have_count(1)
    expect(regions.first).to_contain_text("EMEA")
    screenshot(page, "insights")
    with page.expect_download() as download:
        page.locator("#table-by_rep a.csv").click()
    path = download.value.path()
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("payee,name,role,region,manager,revenue")
    assert download.value.suggested_filename == "insights-FY2025-Q1-by_rep.csv"
    page.get_by_role("link", name="Data quality").click()
    expect(page.get_by_role("heading", name="Data quality")).to_be_visible()
    expect(page.locator("[data-check=stale_opportunities]")).to_be_visible()
    screenshot(page, "insights-data-quality")


def test_a_rep_sees_only_their_own_row(page: Page, site: DemoSite) -> None:
    rep = site.users("rep")[0]
    sign_in(page, rep, site.password)
    page.goto("/insights?period=FY2025-Q1")
    expect(page.get_by_text("Your own figures")).to_be_visible()
    expect(page.locator("select[name=team]")).to_have_count(0)
    rows = page.locator("#table-by_rep tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(str(rep.payee))
