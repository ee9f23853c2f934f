"""Help and first-run tours (SQLite and PostgreSQL): every page's help link lands on a section of docs/web.md,
whoever added the page; each role gets its tour once, remembered per user on the server."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.access.tours import ROLES
from openspm.store import models as m
from openspm.web.app import create_app
from openspm.web.pages.help import DOCS, markdown
from tests.conftest import WriteFile
from tests.test_access import build_company
from tests.test_web import SECRET, csrf_of, signed_in

WEB = Path(__file__).resolve().parents[1] / "src" / "openspm" / "web"
STATIC = WEB / "static"
SKIP = ("/help/", "/static/", "/api/", "/logout")  # not pages, or not this app's pages
TOUR = re.compile(r'<script src="/static/tour\.js" defer data-role="([a-z_]+)" data-page="([^"]+)" data-due="([01])">')


def doc_anchors() -> set[str]:
    """The ids the help page gives docs/web.md's headings (what `/help/web#...` can land on)."""
    return set(re.findall(r' id="([^"]+)"', str(markdown((DOCS / "web.md").read_text(encoding="utf-8")))))


def test_every_help_anchor_in_the_code_is_a_section_of_the_web_guide() -> None:
    """Every `help_anchor=` passed anywhere in the web package (pages added later included) names a heading."""
    anchors = doc_anchors()
    found: dict[str, str] = {}
    for path in sorted(WEB.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "help_anchor":
                where = f"{path.relative_to(WEB)}:{node.value.lineno}"
                assert isinstance(node.value, ast.Constant) and isinstance(node.value.value, str), (
                    f"{where}: help_anchor must be a literal string, so this test can check it"
                )
                found[where] = node.value.value
    assert len(found) >= 8, found
    missing = {where: a for where, a in found.items() if a and a not in anchors}
    assert not missing, f"help anchors with no `## heading` in docs/web.md: {missing}"


def test_every_page_reached_from_the_menus_links_its_help_to_an_existing_section(
    engine: Engine, write: WriteFile
) -> None:
    """As each role, every page reachable by links from their home page (one page per path, so new pages in the
    menus are covered as soon as they are linked): the help links (header `?`, footer) land on a heading."""
    company = build_company(engine, write)
    anchors = doc_anchors()
    seen: set[str] = set()
    for email in ("admin@x.io", "m1@x.io", "r1@x.io"):
        client = signed_in(company, email)
        queue, visited = ["/"], set[str]()
        while queue and len(visited) < 40:
            url = queue.pop(0)
            path = url.split("?")[0]
            if path in visited:
                continue
            visited.add(path)
            answer = client.get(url)
            if answer.status_code != 200 or "text/html" not in answer.headers.get("content-type", ""):
                continue
            links = set(re.findall(r'href="/help/web(?:#([^"]*))?"', answer.text))
            assert links, f"{path} has no help link"
            assert links <= anchors | {""}, f"{path} ({email}) links help to {links - anchors}"
            seen.add(path)
            for href in re.findall(r'href="(/[^"#]*)"', answer.text):
                if not href.startswith(SKIP) and not href.endswith((".pdf", ".html", ".css", ".js")):
                    queue.append(href.replace("&amp;", "&"))
    assert {"/dashboard", "/team", "/admin/periods", "/statements"} <= seen and len(seen) >= 6, seen


def test_tours_have_three_to_five_steps_for_every_role() -> None:
    tours = json.loads((STATIC / "tours.json").read_text(encoding="utf-8"))
    assert set(tours) == set(ROLES)
    for role, tour in tours.items():
        assert 3 <= len(tour["steps"]) <= 5, role
        for step in tour["steps"]:
            assert step["target"] and step["title"] and len(step["text"]) <= 200, (role, step)


def tour_of(client: TestClient, path: str) -> tuple[str, str, str] | None:
    found = TOUR.search(client.get(path).text)
    return (found.group(1), found.group(2), found.group(3)) if found else None


def test_each_role_gets_its_tour_on_its_home_page(company_for_tour: Engine) -> None:
    expected = {
        "admin@x.io": ("admin", "/admin/periods"),
        "analyst@x.io": ("comp_analyst", "/admin/periods"),
        "finance@x.io": ("finance", "/admin/periods"),
        "m1@x.io": ("manager", "/team"),
        "r1@x.io": ("rep", "/dashboard"),
    }
    for email, (role, page) in expected.items():
        client = signed_in(company_for_tour, email)
        assert tour_of(client, "/statements") == (role, page, "1"), email
        footer = client.get("/statements").text
        assert f'<a href="{page}?tour=1" class="tour-link">Tour</a>' in footer
    assert TOUR.search(TestClient(create_app(company_for_tour, secret=SECRET)).get("/login").text) is None


def test_a_finished_tour_does_not_come_back_on_another_sign_in(company_for_tour: Engine) -> None:
    client = signed_in(company_for_tour, "r1@x.io")
    assert tour_of(client, "/dashboard") == ("rep", "/dashboard", "1")
    assert client.post("/tour/done", json={"step": 5, "of": 5}).status_code == 403  # no CSRF header
    token = csrf_of(client, "/dashboard")
    assert client.post("/tour/done", json={"step": 5, "of": 5}, headers={"X-CSRF-Token": token}).status_code == 204
    assert tour_of(client, "/dashboard") == ("rep", "/dashboard", "0")
    again = signed_in(company_for_tour, "r1@x.io")  # another browser
    assert tour_of(again, "/dashboard") == ("rep", "/dashboard", "0")
    assert client.post("/tour/done", json={"step": 2, "of": 5}, headers={"X-CSRF-Token": token}).status_code == 204
    with Session(company_for_tour) as session:
        notes = session.scalars(
            select(m.AuditEntry.note).where(m.AuditEntry.action == "tour_done", m.AuditEntry.entity_key == "r1@x.io")
        ).all()
    assert notes == ["rep tour finished"]  # once per user
    assert tour_of(signed_in(company_for_tour, "r2@x.io"), "/dashboard") == ("rep", "/dashboard", "1")
    skipped = signed_in(company_for_tour, "m1@x.io")
    token = csrf_of(skipped, "/team")
    assert skipped.post("/tour/done", json={"step": 2, "of": 4}, headers={"X-CSRF-Token": token}).status_code == 204
    with Session(company_for_tour) as session:
        assert "manager tour skipped at step 2 of 4" in session.scalars(select(m.AuditEntry.note)).all()
    anonymous = TestClient(create_app(company_for_tour, secret=SECRET))
    assert anonymous.post("/tour/done", json={}, follow_redirects=False).status_code == 303


@pytest.fixture
def company_for_tour(engine: Engine, write: WriteFile) -> Engine:
    return build_company(engine, write)
