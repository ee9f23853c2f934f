"""Runs, diffs, users and the audit log in a real browser: an analyst starts a run and watches its job finish,
opens two runs' comparison; an admin adds a user and finds the change in the audit log."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoSite, Screenshot, sign_in

JOB_MS = 120_000  # a month's run on a loaded 2-core machine


def test_an_analyst_starts_a_run_and_watches_it_complete(page: Page, site: DemoSite, screenshot: Screenshot) -> None:
    analyst = site.users("comp_analyst")[0]
    sign_in(page, analyst, site.password)
    page.get_by_role("link", name="Runs", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/runs$"))
    month = site.months[-1]
    page.get_by_label("Month, quarter or year").select_option(month)
    page.get_by_role("button", name="Start run").click()
    expect(page.locator("p.done")).to_contain_text("queued")
    row = page.locator("table.jobs tbody tr").first
    expect(row).to_contain_text(month)
    screenshot(page, "runs-job-started")
    expect(row).to_have_attribute("data-state", "succeeded", timeout=JOB_MS)  # htmx polls the row until done
    expect(row.locator("progress")).to_have_attribute("value", "100")
    expect(page.locator("#jobs")).not_to_have_attribute("hx-trigger", re.compile("every"))  # polling stopped
    screenshot(page, "runs-job-done")
    row.get_by_role("link", name=re.compile(r"^run \d+$")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(month)
    expect(page.locator("table.components tbody tr").first).to_be_visible()
    expect(page.locator("[data-figure=earned]")).to_contain_text(re.compile(r"\d"))
    screenshot(page, "run-results")


def test_an_analyst_compares_two_runs(page: Page, site: DemoSite, screenshot: Screenshot) -> None:
    sign_in(page, site.users("comp_analyst")[0], site.password)
    page.goto("/admin/runs")
    page.locator(f"table.runs tr:has-text('{site.months[-1]}') a").first.click()
    first = site.months[0]
    choice = page.get_by_label("Compare with")
    option = choice.locator("option", has_text=first).first
    choice.select_option(option.get_attribute("value"))
    page.get_by_role("button", name="Compare").click()
    expect(page).to_have_url(re.compile(r"/admin/runs/\d+/diff/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("→ run")
    rows = page.locator("table.diff tbody tr")
    expect(rows.first).to_be_visible()
    expect(rows.first.locator("td.num").last).to_contain_text(re.compile(r"\d"))
    screenshot(page, "run-diff")


def test_an_admin_adds_a_user_and_finds_it_in_the_audit_log(page: Page, site: DemoSite, screenshot: Screenshot) -> None:
    sign_in(page, site.users("admin")[0], site.password)
    page.get_by_role("link", name="Users", exact=True).click()
    screenshot(page, "users")
    page.get_by_label("Email").fill("browser.analyst@example.com")
    page.get_by_label("Name").fill("Browser Analyst")
    page.get_by_role("checkbox", name="comp_analyst").check()
    page.get_by_role("button", name="Add user").click()
    expect(page.locator(".secret")).to_contain_text("One-time password for browser.analyst@example.com")
    expect(page.locator("[data-secret]")).to_have_text(re.compile(r"^\S{12,}$"))
    screenshot(page, "user-created")
    page.get_by_role("link", name="changes to this user").click()
    entry = page.locator("table.audit tbody tr").first
    expect(entry).to_contain_text("insert")
    expect(entry.locator("td.after").first).to_be_visible()
    screenshot(page, "audit-log")
