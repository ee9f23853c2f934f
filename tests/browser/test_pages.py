"""The main pages in a real browser, as each kind of user reaches them."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import DemoSite, Screenshot, sign_in

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


def test_a_rep_signs_in_and_sees_their_dashboard(page: Page, site: DemoSite, screenshot: Screenshot) -> None:
    rep = site.users("rep")[0]
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/login\b"))  # pages need a session
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    screenshot(page, "login")
    sign_in(page, rep, site.password)
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(rep.name)
    expect(page.get_by_role("heading", level=1)).to_contain_text(str(rep.payee))
    latest = site.months[-1]
    expect(page.get_by_role("heading", name=f"Earned in {latest}")).to_be_visible()
    expect(page.locator("[data-figure=month]")).to_contain_text(re.compile(r"\d"))
    expect(page.locator("table.attainment tbody tr").first).to_be_visible()
    screenshot(page, "rep-dashboard")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    screenshot(page, "rep-dashboard-phone")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto("/dashboard")
    expect(page).to_have_url(re.compile(r"/login\b"))  # the session ended


def test_a_wrong_password_is_refused_on_the_sign_in_page(page: Page, site: DemoSite, screenshot: Screenshot) -> None:
    user = site.users("finance")[0]
    page.goto("/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("not-the-password")
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 401, answer.value.status
    expect(page.get_by_label("Email")).to_have_value(user.email)
    expect(page.locator("main")).to_contain_text(re.compile("password", re.IGNORECASE))
    screenshot(page, "login-refused")


def test_a_rep_opens_their_statement(page: Page, site: DemoSite, screenshot: Screenshot) -> None:
    rep = site.users("rep")[0]
    sign_in(page, rep, site.password)
    latest = site.months[-1]
    page.get_by_role("link", name=f"Statement for {latest}").click()
    expect(page).to_have_url(re.compile(rf"/statements/{latest}/{rep.payee}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(rep.name)
    # The statement document itself, in its frame: the same HTML as `openspm statement --html`.
    document = page.frame_locator("iframe.statement")
    expect(document.get_by_role("heading", name="Compensation statement")).to_be_visible()
    expect(document.locator("body")).to_contain_text(str(rep.payee))
    expect(page.locator("#credits + table tbody tr").first).to_be_visible()
    screenshot(page, "rep-statement")
    pdf = page.request.get(f"/statements/{latest}/{rep.payee}/statement.pdf")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF"), pdf.status


def test_a_rep_drills_from_a_statement_into_a_transaction(page: Page, site: DemoSite, screenshot: Screenshot) -> None:
    rep = site.users("rep")[0]
    sign_in(page, rep, site.password)
    page.goto(f"/statements/{site.months[-1]}/{rep.payee}")
    link = page.locator("#credits + table tbody tr").first.get_by_role("link")
    transaction = link.inner_text()
    link.click()
    expect(page).to_have_url(re.compile(rf"/transactions/{re.escape(transaction)}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(transaction)
    screenshot(page, "rep-transaction")


def test_a_rep_cannot_open_another_reps_statement(page: Page, site: DemoSite, screenshot: Screenshot) -> None:
    rep, other = site.users("rep")[:2]
    sign_in(page, rep, site.password)
    latest = site.months[-1]
    own = page.goto(f"/statements/{latest}/{rep.payee}")
    assert own is not None and own.status == 200
    response = page.goto(f"/statements/{latest}/{other.payee}")
    assert response is not None and response.status == 404, response
    expect(page.get_by_role("heading", level=1)).to_contain_text("404")
    expect(page.locator("body")).not_to_contain_text(other.name)
    for path in (
        f"/statements/{latest}/{other.payee}/statement.html",
        f"/statements/{latest}/{other.payee}/statement.pdf",
    ):
        answer = page.request.get(path)
        assert answer.status == 404, (path, answer.status)
    screenshot(page, "rep-not-found")


def test_a_manager_sees_their_team_and_a_reps_dashboard(page: Page, site: DemoSite, screenshot: Screenshot) -> None:
    manager = site.users("manager")[0]
    sign_in(page, manager, site.password)
    expect(page).to_have_url(re.compile(r"/team$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Team · {site.months[-1]}")
    rows = page.locator("table.team tbody tr")
    expect(rows.first).to_be_visible()
    screenshot(page, "manager-team")
    member = rows.first.get_by_role("link").first
    name = member.inner_text()
    member.click()
    expect(page).to_have_url(re.compile(r"/dashboard\?payee="))
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)


def test_an_admin_signs_in_to_the_periods_page_and_approves_a_month(
    page: Page, site: DemoSite, screenshot: Screenshot
) -> None:
    admin = site.users("admin")[0]
    sign_in(page, admin, site.password)
    expect(page).to_have_url(re.compile(r"/admin/periods$"))
    first, latest = site.months[0], site.months[-1]
    for month in site.months:
        expect(page.locator(f"tr[data-period={month}] .status")).to_have_text("calculated")
    screenshot(page, "admin-periods")
    page.locator(f"tr[data-period={first}]").get_by_role("button", name="Approve").click()
    expect(page).to_have_url(re.compile(r"/admin/periods\?done="))
    expect(page.locator("main")).to_contain_text(f"{first} approved")
    expect(page.locator(f"tr[data-period={first}] .status")).to_have_text("approved")
    expect(page.locator(f"tr[data-period={latest}] .status")).to_have_text("calculated")
    screenshot(page, "admin-periods-approved")
