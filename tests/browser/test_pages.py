"""The main pages in a real browser, as each kind of user reaches them."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoSite, Screenshot

# True when the app's stylesheet loaded and parsed into rules.
STYLED = (
    """[...document.styleSheets].some(s => (s.href || "").endsWith("/static/openspm.css") && s.cssRules.length > 0)"""
)


def test_the_first_page_loads_styled(page: Page, site: DemoSite, screenshot: Screenshot) -> None:
    response = page.goto("/")
    assert response is not None and response.ok, response
    expect(page).to_have_title(re.compile(r"\bopenspm$"))
    assert page.evaluate(STYLED), "openspm.css did not load or holds no rules"
    screenshot(page, "home")
