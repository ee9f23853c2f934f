"""The leaderboard in a real browser: a rep finds their highlighted row, opts out of public ranking in their
settings, and another rep then sees "(hidden)" at that rank instead of the name."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from openspm.gamification.leaderboard import build_board, set_public
from openspm.store import models as m
from tests.browser.conftest import DemoSite, DemoUser, Screenshot, sign_in

PERIOD = "FY2025-Q1"


def _two_ranked_reps(site: DemoSite) -> tuple[DemoUser, DemoUser, dict[str, int]]:
    """Two demo reps on the AE bookings board of the quarter, and every payee's rank on it."""
    with Session(site.engine) as session:
        board = build_board(session, measure="bookings", period=PERIOD, plan="ae-commission")
    ranks = {e.payee: e.rank for e in board.entries}
    reps = [u for u in site.users("rep") if u.payee in ranks]
    assert len(reps) >= 2, "the demo needs two ranked reps"
    return reps[0], reps[1], ranks


def test_a_rep_opts_out_and_another_rep_sees_them_hidden(page: Page, site: DemoSite, screenshot: Screenshot) -> None:
    first, second, ranks = _two_ranked_reps(site)
    assert first.payee is not None
    rank = ranks[first.payee]
    try:
        sign_in(page, first, site.password)
        page.get_by_role("link", name="Leaderboard").click()
        page.get_by_label("Measure").select_option("ae-commission:bookings")
        page.get_by_label("Period").select_option(PERIOD)
        page.get_by_role("button", name="Show").click()
        mine = page.locator("table.leaderboard tr.me")
        expect(mine).to_have_count(1)
        expect(mine).to_contain_text(first.name)
        expect(mine.locator("td").first).to_have_text(str(rank))
        expect(page.locator(".my-rank")).to_contain_text(f"#{rank}")
        screenshot(page, "leaderboard-own-row")

        page.get_by_role("link", name="Settings").click()
        page.get_by_label(re.compile("Hide me")).check()
        page.get_by_role("button", name="Save").click()
        expect(page.locator("p.done")).to_contain_text("hidden from other people's leaderboards")
        page.get_by_role("button", name="Sign out").click()

        sign_in(page, second, site.password)
        page.goto(f"/leaderboard?measure=ae-commission:bookings&period={PERIOD}")
        table = page.locator("table.leaderboard")
        expect(table.locator("tr.me")).to_contain_text(second.name)
        expect(table).not_to_contain_text(first.name)
        hidden = table.locator("tr.hidden-payee")
        expect(hidden.first).to_contain_text("(hidden)")
        ranks_hidden = [hidden.nth(i).locator("td").first.inner_text() for i in range(hidden.count())]
        assert str(rank) in ranks_hidden
        screenshot(page, "leaderboard-hidden-rep")
    finally:
        with Session(site.engine) as session:  # the site is shared: leave the rep public for other tests
            payee_id = session.scalar(select(m.Payee.id).where(m.Payee.external_id == first.payee))
        assert payee_id is not None
        set_public(site.engine, payee_id, True, "browser-tests")
