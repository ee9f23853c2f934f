"""`openspm.store.fx.dated_rates`: stored rates into one currency, direct and inverted, oldest first."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openspm.store import models as m
from openspm.store.fx import dated_rates


def test_dated_rates_direct_and_inverted(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.add_all(
            [
                m.FxRate(from_currency="EUR", to_currency="USD", effective_date=date(2025, 7, 1), rate=Decimal("1.2")),
                m.FxRate(from_currency="EUR", to_currency="USD", effective_date=date(2025, 1, 1), rate=Decimal("1.1")),
                m.FxRate(from_currency="USD", to_currency="GBP", effective_date=date(2025, 1, 1), rate=Decimal("0.8")),
                m.FxRate(from_currency="GBP", to_currency="EUR", effective_date=date(2025, 1, 1), rate=Decimal("1.15")),
            ]
        )
    with Session(engine) as session:
        found = dated_rates(session, "USD")
    assert found["EUR"] == [(date(2025, 1, 1), Decimal("1.1")), (date(2025, 7, 1), Decimal("1.2"))]
    assert found["~GBP"] == [(date(2025, 1, 1), Decimal("1.25"))]  # 1 / 0.8
    assert set(found) == {"EUR", "~GBP"}
