"""Plan modeling in a real browser: an analyst pastes a candidate version, starts a model, watches its job finish
and opens the results with their ECharts charts and the one-page report link."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoSite, Screenshot, sign_in

CANDIDATE = Path(__file__).resolve().parents[2] / "examples" / "plans" / "ae-commission-candidate.yaml"


def test_an_analyst_models_a_candidate_plan_and_sees_the_charts(
    page: Page, site: DemoSite, screenshot: Screenshot
) -> None:
    sign_in(page, site.users("comp_analyst")[0], site.password)
    page.goto("/plans")
    page.get_by_role("link", name="Plan modeling").first.click()
    expect(page).to_have_url(re.compile(r"/plans/model$"))
    page.get_by_label("From month").fill("FY2025-M01")
    page.get_by_label("To month").fill("FY2025-M02")
    page.get_by_label("Draws").fill("5")
    page.get_by_label("Candidate label").fill("steeper")
    page.get_by_label(re.compile("Candidate plan")).fill(CANDIDATE.read_text(encoding="utf-8"))
    page.get_by_role("button", name="Start model").click()
    expect(page.locator("p.done[role=status]")).to_contain_text("queued")
    results = page.locator("#model-jobs a", has_text="results").first
    expect(results).to_be_visible(timeout=120_000)  # the jobs table polls until the model is done
    results.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("ae-commission")
    expect(page.locator("#model-histogram canvas")).to_have_count(1)
    expect(page.locator("#model-changes-0 canvas")).to_have_count(1)
    expect(page.locator("table.model-history")).to_contain_text("steeper")
    expect(page.get_by_role("link", name="One-page report (PDF)")).to_be_visible()
    screenshot(page, "plan-model")
