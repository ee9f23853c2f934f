"""Scenario evaluations in a real browser: an analyst pastes a candidate AE plan with a richer first tier,
evaluates it on one month as a background job, watches it finish, reads the result (histogram drawn by ECharts)
and compares it from the list."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoSite, Screenshot, sign_in

AE_PLAN = Path(__file__).resolve().parents[2] / "src" / "openspm" / "demo" / "plans" / "ae_commission.yaml"


def test_an_analyst_evaluates_a_candidate_plan_and_compares_it(
    page: Page, site: DemoSite, screenshot: Screenshot
) -> None:
    candidate = AE_PLAN.read_text(encoding="utf-8").replace(
        "{from: 0, to: 0.5, rate: 0.04}", "{from: 0, to: 0.5, rate: 0.05}"
    )
    assert "rate: 0.05}" in candidate
    sign_in(page, site.users("comp_analyst")[0], site.password)
    page.goto("/planning/quotas")
    page.get_by_role("link", name="Scenario evaluations").click()
    expect(page).to_have_url(re.compile(r"/planning/scenarios$"))
    page.get_by_label("Name", exact=True).fill("Richer first tier")
    page.get_by_label("Basis year").select_option("FY2025")
    page.get_by_label("Only months").fill(site.months[0])
    page.locator("#document").fill(candidate)
    expect(page.locator("#problems")).to_contain_text("ae-commission")  # checked as it is typed
    page.get_by_role("button", name="Evaluate", exact=True).click()
    expect(page).to_have_url(re.compile(r"/planning/scenarios/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Richer first tier")
    table = page.locator("table.comparison")
    expect(table).to_be_visible(timeout=60_000)  # the status polls, then the page reloads with the result
    expect(table).to_contain_text("compensation cost")
    expect(page.locator("#evaluation-status")).to_have_attribute("data-state", "succeeded")
    expect(page.locator("#attainment-histogram canvas")).to_have_count(1)
    expect(page.locator("#attainment-histogram")).to_have_attribute("data-ready", "1")
    screenshot(page, "scenario-evaluation")
    page.get_by_role("link", name="Scenario evaluations").first.click()
    row = page.locator("tr[data-state=succeeded]", has_text="Richer first tier").first
    row.get_by_role("checkbox").check()
    page.get_by_role("button", name="Compare the ticked evaluations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Scenarios compared")
    expect(page.locator("table.comparison thead")).to_contain_text("Richer first tier")
    screenshot(page, "scenario-comparison")
