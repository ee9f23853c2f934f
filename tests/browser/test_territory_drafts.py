"""Territory drafts in a real browser: an analyst starts a design, watches its job reach the draft, opens it;
the admin (not the author) approves it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoSite, Screenshot, sign_in


def test_an_analyst_designs_territories_and_the_admin_approves(
    page: Page, site: DemoSite, screenshot: Screenshot
) -> None:
    sign_in(page, site.users("comp_analyst")[0], site.password)
    page.goto("/planning/territories")
    page.get_by_role("link", name="territory drafts").click()
    expect(page).to_have_url(re.compile(r"/planning/territory-drafts$"))
    page.get_by_label("Name").fill("Browser rebalance")
    page.get_by_label("Tolerance").fill("0.1")
    page.get_by_label("Solver").select_option("greedy")
    page.get_by_label("Time limit (s)").fill("5")
    page.get_by_role("button", name="Start design").click()
    expect(page.locator("p.done[role=status]")).to_contain_text("design job")
    draft = page.locator("#design-jobs a", has_text="draft").first
    expect(draft).to_be_visible(timeout=30_000)  # the jobs table polls until the job links its draft
    expect(page.locator("tr[data-draft]").first).to_contain_text("Browser rebalance")  # the drafts list refreshed too
    screenshot(page, "territory-drafts")
    draft.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Browser rebalance")
    expect(page.locator("section.summary")).to_contain_text("territories")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)  # the author cannot approve
    url = page.url
    screenshot(page, "territory-draft")
    page.context.clear_cookies()
    sign_in(page, site.users("admin")[0], site.password)
    page.goto(url)
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("p.done[role=status]")).to_contain_text("draft approved")
    expect(page.get_by_role("button", name="Publish moves")).to_be_visible()
