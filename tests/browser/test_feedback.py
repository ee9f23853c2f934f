"""Plan feedback in a real browser: a rep raises a topic on their plan's version in force, about a component;
an admin finds it under Plan feedback, replies and closes it; the rep reads the reply."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoSite, Screenshot, sign_in


def test_a_rep_raises_a_topic_and_a_designer_answers_and_closes_it(
    page: Page, site: DemoSite, screenshot: Screenshot
) -> None:
    rep = site.users("rep")[0]
    sign_in(page, rep, site.password)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Plans", exact=True).click()
    page.locator("table.plans tbody tr td.num a").first.click()
    expect(page).to_have_url(re.compile(r"/plans/[^/]+/versions/\d+$"))
    page.locator("section.feedback-summary a").click()
    expect(page).to_have_url(re.compile(r"/versions/\d+/feedback$"))
    page.get_by_label("Topic", exact=True).fill("The accelerator starts too late")
    component = page.get_by_label("About component")
    component.select_option(index=1)
    page.get_by_label("What you think").fill("Most of us reach 100% only in Q4.")
    page.get_by_role("button", name="Raise topic").click()
    expect(page).to_have_url(re.compile(r"/feedback/threads/\d+"))
    expect(page.locator("[data-state]")).to_have_text("open")
    thread_url = page.url.split("?")[0]
    screenshot(page, "feedback-thread-raised")

    page.context.clear_cookies()
    sign_in(page, site.users("comp_analyst")[0], site.password)
    page.get_by_role("navigation", name="Administration").get_by_role("link", name="Plan feedback").click()
    page.get_by_role("link", name="The accelerator starts too late").first.click()
    page.get_by_label("Reply", exact=True).fill("We modelled it: the accelerator moves to 90% next version.")
    page.get_by_label("close the thread with this reply").check()
    page.get_by_role("button", name="Reply", exact=True).click()
    expect(page.locator("p.done[role=status]")).to_contain_text("thread closed")
    expect(page.locator("[data-state]")).to_have_text("closed")
    screenshot(page, "feedback-thread-closed")

    page.context.clear_cookies()
    sign_in(page, rep, site.password)
    page.goto(thread_url)
    expect(page.locator("li.comment.designer")).to_contain_text("moves to 90%")
    expect(page.get_by_role("button", name="Comment")).to_have_count(0)  # closed: no more comments
