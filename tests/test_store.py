"""The store: migrations match the models, exact decimals and UTC timestamps on every database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.core.errors import StoreError
from openspm.store import models as m
from openspm.store.db import check_current, current_revision, head_revision, make_engine


def test_migrations_build_exactly_the_models(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), m.Base.metadata)
    assert diff == []


def test_roles_are_seeded(engine: Engine) -> None:
    with Session(engine) as session:
        assert sorted(session.scalars(select(m.Role.name))) == ["admin", "comp_analyst", "finance", "manager", "rep"]


def test_money_columns_keep_every_digit(engine: Engine) -> None:
    values = [Decimal("0.10"), Decimal("-1234567890123.456789012"), Decimal("1E-8"), Decimal("100")]
    with Session(engine) as session, session.begin():
        session.add(m.Calendar(name="fiscal", fiscal_year_start_month=1))
        for i, value in enumerate(values):
            session.add(
                m.FxRate(from_currency="EUR", to_currency="USD", effective_date=date(2025, 1, i + 1), rate=value)
            )
    with Session(engine) as session:
        stored = list(session.scalars(select(m.FxRate.rate).order_by(m.FxRate.effective_date)))
    assert stored == values
    assert [str(v) for v in stored][:2] == ["0.10", "-1234567890123.456789012"]


def test_timestamps_come_back_in_utc(engine: Engine) -> None:
    at = datetime(2025, 3, 1, 12, 30, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        session.add(m.AuditEntry(at=at, actor="t", action="x", entity="e", entity_key="k"))
    with Session(engine) as session:
        assert session.scalars(select(m.AuditEntry.at)).one() == at


def test_a_float_is_refused_as_money(engine: Engine) -> None:
    with Session(engine) as session:
        session.add(m.FxRate(from_currency="EUR", to_currency="USD", effective_date=date(2025, 1, 1), rate=1.1))
        with pytest.raises(Exception, match="ExactDecimal needs a Decimal"):
            session.flush()


def test_an_outdated_store_is_refused_with_the_fix(tmp_path: object) -> None:
    empty = make_engine(f"sqlite:///{tmp_path}/empty.db")
    with pytest.raises(StoreError, match="run `openspm db upgrade`"):
        check_current(empty)
