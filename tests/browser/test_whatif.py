"""The rep what-if in a real browser: a rep ticks an open deal with a discount, sees the change per month and what
the discount costs, adds a deal of their own, then ranks their open deals (a background job the page follows)."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from openspm.store import models as m
from tests.browser.conftest import DemoSite, Screenshot, sign_in


def _rep_with_open_deals(site: DemoSite) -> tuple[object, list[str]]:
    with Session(site.engine) as session:
        owners = dict(
            session.execute(
                select(m.Payee.external_id, m.Opportunity.account_id)
                .join(m.Opportunity, m.Opportunity.owner_id == m.Payee.id)
                .where(m.Opportunity.status == "open", m.Payee.role == "AE")
            )
            .tuples()
            .all()
        )
        accounts = session.scalars(
            select(m.Account.external_id).join(m.Opportunity, m.Opportunity.account_id == m.Account.id)
        ).all()
    rep = next(u for u in site.users("rep") if u.payee in owners)
    return rep, list(accounts)


def test_a_rep_sees_what_closing_deals_would_pay(page: Page, site: DemoSite, screenshot: Screenshot) -> None:
    rep, _ = _rep_with_open_deals(site)
    sign_in(page, rep, site.password)  # type: ignore[arg-type]
    page.get_by_role("link", name="What if").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("What if")
    first = page.locator("tr[data-deal] input[type=checkbox]").first
    first.check()
    page.get_by_label("Close the ticked deals on").fill("2026-11-16")  # a month with quotas in the demo
    page.get_by_label("Discount on the ticked deals (%)").fill("10")
    page.get_by_role("button", name="Compute the change").click()
    summary = page.locator("#what-if-summary")
    expect(summary).to_contain_text("Change in earnings", timeout=90_000)  # a few engine runs on a busy machine
    expect(summary).to_contain_text("FY2026-M11")
    expect(summary.locator("[data-total]").first).to_contain_text("+")
    expect(summary).to_contain_text("The discount costs you")
    expect(summary).to_contain_text(f"{rep.payee} (ae-commission, owner 100%)")  # type: ignore[attr-defined]
    expect(page.locator("#what-if-lines tr[data-month='FY2026-M11']").first).to_contain_text("attainment")
    screenshot(page, "what-if")

    # a deal of their own, typed in, on the same account as the first open deal
    account = page.locator("tr[data-deal] td").nth(3).inner_text()
    first.uncheck()
    page.locator("#what-if-form [name=account]").fill(account)
    page.locator("#what-if-form [name=product]").select_option("ANL-ADV")
    page.get_by_label("Amount (list)").fill("30000")
    page.get_by_label("Close date", exact=True).fill("2026-12-07")
    page.get_by_role("button", name="Compute the change").click()
    expect(summary).to_contain_text("deal-1", timeout=90_000)
    expect(summary).to_contain_text("30,000.00")
    expect(page.locator("#what-if-lines")).to_contain_text("analytics_kicker")

    # ranking in the background: a progress bar, then the table
    page.get_by_role("button", name="Rank my open deals").click()
    ranked = page.locator("#what-if-ranked")
    expect(ranked).to_be_visible(timeout=120_000)
    expect(ranked.locator("tr[data-deal]").first).to_be_visible()
    screenshot(page, "what-if-ranking")
