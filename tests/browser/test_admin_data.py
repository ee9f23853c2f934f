"""A comp analyst's data work in a real browser: an import with a bad row, and a plan edited and published."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoSite, Screenshot, sign_in


def test_an_analyst_uploads_a_file_and_sees_the_bad_row_in_the_page(
    page: Page, site: DemoSite, screenshot: Screenshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENSPM_DATA_DIR", str(tmp_path / "data"))  # where the app keeps the import's report
    upload = tmp_path / "new-accounts.csv"
    upload.write_text("id,name,segment\nACC-WEB-1,Initech,mid\nACC-WEB-2,,mid\nACC-WEB-3,Hooli,mid\n", encoding="utf-8")
    sign_in(page, site.users("comp_analyst")[0], site.password)
    page.get_by_role("link", name="Imports").click()
    expect(page.get_by_role("heading", name="Data imports")).to_be_visible()
    page.get_by_label("What the file holds").select_option("accounts")
    expect(page.locator("#columns")).to_contain_text("accounts:")  # the kind's columns follow the choice
    page.get_by_label(re.compile("^File")).set_input_files(upload)
    page.get_by_label("Load into the store").check()
    screenshot(page, "imports-form")
    page.get_by_role("button", name="Import").click()
    expect(page).to_have_url(re.compile(r"/admin/imports/results/batch-\d+$"))
    expect(page.locator("[data-count=rows]")).to_have_text("3")
    expect(page.locator("[data-count=inserted]")).to_have_text("2")
    expect(page.locator("[data-count=rejected]")).to_have_text("1")
    bad = page.locator("table.rejected tbody tr")
    expect(bad).to_have_count(1)
    expect(bad.first).to_contain_text("name")
    expect(bad.first.locator("td").first).to_have_text("2")
    screenshot(page, "imports-result")
    page.goto("/admin/imports")
    expect(page.locator("table.imports tbody tr").first).to_contain_text("new-accounts.csv")
    screenshot(page, "imports-history")


def test_an_analyst_edits_a_plan_sees_a_live_error_fixes_it_and_publishes(
    page: Page, site: DemoSite, screenshot: Screenshot
) -> None:
    sign_in(page, site.users("comp_analyst")[0], site.password)
    page.get_by_role("link", name="Plans").click()
    expect(page.get_by_role("link", name="sdr-meetings")).to_be_visible()
    screenshot(page, "plans-list")
    page.get_by_role("link", name="sdr-meetings").click()
    page.get_by_role("link", name="Edit as new draft").click()
    problems = page.locator("#problems")
    expect(problems).to_contain_text("No problems")
    editor = page.get_by_label("Plan document (YAML)")
    draft = editor.input_value()
    editor.fill(draft.replace("amount: 150", "amount: lots"))
    expect(problems).to_contain_text("sdr-meetings.yaml @ components[meeting_spif].amount")  # live, while typing
    screenshot(page, "plan-editor-error")
    editor.fill(draft.replace("amount: 150", "amount: 175"))
    expect(problems).to_contain_text("No problems")
    page.get_by_label("Effective from").fill("2025-03-01")
    page.get_by_label(re.compile("^Note")).fill("SPIF up to 175 from March")
    page.get_by_role("button", name="Publish as a new version").click()
    expect(page.locator("[role=status]")).to_contain_text(
        re.compile(r"version \d+ published, effective from 2025-03-01")
    )
    screenshot(page, "plan-versions")
    page.get_by_role("link", name=re.compile(r"^diff with v")).first.click()
    expect(page.locator("pre.diff .add").first).to_be_visible()
    expect(page.locator("ul.changes")).to_contain_text("component meeting_spif changed")
    screenshot(page, "plan-diff")
