"""The first-run tour in a real browser: a rep sees it on first sign-in, steps through it, it does not come back,
and the footer's Tour link brings it back."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import delete
from sqlalchemy.orm import Session

from openspm.store import models as m
from tests.browser.conftest import DemoSite, Screenshot, sign_in


def test_a_rep_takes_the_tour_once_and_can_restart_it(page: Page, site: DemoSite, screenshot: Screenshot) -> None:
    rep = site.users("rep")[-1]  # a rep the other tests do not sign in as
    with Session(site.engine) as session, session.begin():  # a first sign-in: no tour taken yet
        session.execute(
            delete(m.AuditEntry).where(m.AuditEntry.action == "tour_done", m.AuditEntry.entity_key == rep.email)
        )
    sign_in(page, rep, site.password)
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    tour = page.get_by_role("dialog", name="What you earned")
    expect(tour).to_be_visible()
    expect(tour).to_contain_text("Step 1 of")
    expect(page.locator("section.tiles")).to_have_class(re.compile(r"\btour-target\b"))
    screenshot(page, "tour-rep-step-1")
    count = int(re.search(r"of (\d+)", tour.locator(".tour-count").inner_text()).group(1))  # type: ignore[union-attr]
    assert 3 <= count <= 5
    for step in range(2, count + 1):
        page.get_by_role("button", name="Next").click()
        expect(page.locator(".tour .tour-count")).to_have_text(f"Step {step} of {count}")
    expect(page.locator("header a.help")).to_have_class(re.compile(r"\btour-target\b"))
    screenshot(page, "tour-rep-last-step")
    with page.expect_response(lambda r: r.url.endswith("/tour/done")) as done:
        page.get_by_role("button", name="Done").click()
    assert done.value.status == 204
    expect(page.locator(".tour")).to_have_count(0)
    expect(page.locator(".tour-target")).to_have_count(0)
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_contain_text(rep.name)
    page.wait_for_load_state("networkidle")
    expect(page.locator(".tour")).to_have_count(0)  # done: it does not come back
    page.get_by_role("link", name="Statements", exact=True).first.click()
    page.get_by_role("link", name="Tour", exact=True).click()  # the footer's link, from another page
    expect(page).to_have_url(re.compile(r"/dashboard\?tour=1$"))
    expect(page.get_by_role("dialog", name="What you earned")).to_be_visible()
    page.get_by_role("button", name="Skip tour").click()
    expect(page.locator(".tour")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/dashboard$"))
