"""The territory map page (SQLite and PostgreSQL): accounts by territory on a day, totals, coverage gaps; a
manager sees their team's territories, a rep has no planning pages."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine

from openspm.access.errors import Forbidden
from openspm.access.territory_map import territory_map_for
from openspm.ingest.service import import_file
from tests.conftest import WriteFile
from tests.test_access import who
from tests.test_entities_api import company as entities_company  # noqa: F401  (the fixture, reused)
from tests.test_web import signed_in


@pytest.fixture
def company(entities_company: Engine, write: WriteFile) -> Engine:  # noqa: F811
    located = "id,name,latitude,longitude\nA2,Globex,40.7128,-74.0060\n"
    assert import_file(entities_company, "accounts", write("located.csv", located), actor="test").rejected == 0
    return entities_company


def test_the_map_shows_accounts_by_territory_and_the_gaps(company: Engine) -> None:
    whole = territory_map_for(company, who(company, "admin@x.io"), date(2025, 6, 1))
    assert whole.points == {"T-E": [["-74.0060", "40.7128", "A2", "0"]]}
    assert [(t.territory, t.accounts, t.payees) for t in whole.totals] == [("T-E", 1, ["R3"]), ("T-W", 0, [])]
    assert whole.uncovered == ["T-W"]
    assert whole.unowned == ["A3"]  # R2's named ownership ended on 1 February; A3 has no territory
    team = territory_map_for(company, who(company, "m2@x.io"), date(2025, 6, 1))
    assert [t.territory for t in team.totals] == ["T-E"] and team.unowned == []
    assert territory_map_for(company, who(company, "m1@x.io"), date(2025, 6, 1)).totals == []
    with pytest.raises(Forbidden):
        territory_map_for(company, who(company, "r3@x.io"))


def test_the_map_page(company: Engine) -> None:
    page = signed_in(company, "finance@x.io").get("/planning/territories?on=2025-06-01")
    assert page.status_code == 200
    assert "1 territories without a payee:</strong> T-W" in page.text and "A3" in page.text
    assert '"T-E": [["-74.0060", "40.7128", "A2", "0"]]' in page.text
    assert signed_in(company, "r1@x.io").get("/planning/territories").status_code == 403
    assert signed_in(company, "admin@x.io").get("/planning/territories?on=June").status_code == 422
