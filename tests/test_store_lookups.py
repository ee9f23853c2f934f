"""`openspm.store.lookups`: payees by external id, and the team below a manager in a window."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openspm.core.errors import NotFound
from openspm.store import models as m
from openspm.store.lookups import payee_id_named, payee_named, team_below


def test_payees_by_name_and_the_team_below(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        people = {x: m.Payee(external_id=x, name=x, pay_currency="USD") for x in ("boss", "mid", "rep", "gone", "new")}
        session.add_all(people.values())
        session.flush()
        ids = {x: p.id for x, p in people.items()}
        session.add_all(
            [
                m.ReportingLine(payee_id=ids["mid"], manager_id=ids["boss"], effective_from=date(2025, 1, 1)),
                m.ReportingLine(payee_id=ids["rep"], manager_id=ids["mid"], effective_from=date(2025, 1, 1)),
                m.ReportingLine(  # ended before the window
                    payee_id=ids["gone"],
                    manager_id=ids["boss"],
                    effective_from=date(2025, 1, 1),
                    effective_to=date(2025, 3, 1),
                ),
                m.ReportingLine(payee_id=ids["new"], manager_id=ids["rep"], effective_from=date(2025, 6, 1)),
                m.ReportingLine(payee_id=ids["boss"], manager_id=ids["rep"], effective_from=date(2025, 1, 1)),  # cycle
            ]
        )
    with Session(engine) as session:
        assert payee_named(session, "rep").id == ids["rep"]
        assert payee_id_named(session, "mid") == ids["mid"]
        with pytest.raises(NotFound, match="unknown payee 'nobody'"):
            payee_named(session, "nobody")
        with pytest.raises(NotFound, match="unknown payee 'nobody'"):
            payee_id_named(session, "nobody")
        march = team_below(session, ids["mid"], date(2025, 3, 1), date(2025, 4, 1))
        assert march == {ids["mid"], ids["rep"], ids["boss"]}  # through the cycle back up, once each
        assert team_below(session, ids["rep"], date(2025, 6, 1), date(2025, 7, 1)) >= {ids["new"]}
        february = team_below(session, ids["boss"], date(2025, 2, 1), date(2025, 3, 1))
        assert ids["gone"] in february and ids["new"] not in february
