"""Rep what-if: the estimate is what the real runs pay once the deals are imported, to the cent."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from openspm.core.errors import InvalidInput, NotFound
from openspm.demo.service import check_clean, load_demo
from openspm.ingest.service import import_file
from openspm.insights import whatif as w
from openspm.runs.service import run_period
from openspm.store import models as m
from openspm.store.db import make_engine, migrate
from openspm.store.models import Base
from tests.conftest import STORES

Key = tuple[str, str, str, str]


@pytest.fixture(scope="module", params=STORES)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pg_engine: Engine | None
) -> Iterator[Engine]:
    """The demo company at scale 0.05 (nothing run), once per store for the module."""
    root = tmp_path_factory.mktemp("whatif")
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{root / 'store.db'}")
        migrate(engine)
    else:
        assert pg_engine is not None
        engine = pg_engine
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name != "roles")
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    load_demo(engine, root / "demo", seed=5, scale=0.05)
    yield engine
    if request.param == "sqlite":
        engine.dispose()


def _rep_with_2026_deals(engine: Engine) -> tuple[str, list[str]]:
    """An AE with open deals closing in FY2026 (quotas exist there), and those deals."""
    o = m.Opportunity
    with Session(engine) as session:
        rows = session.execute(
            select(m.Payee.external_id, o.external_id)
            .join(o, o.owner_id == m.Payee.id)
            .where(o.status == "open", o.close_date < date(2027, 1, 1), m.Payee.role == "AE")
            .order_by(m.Payee.external_id, o.external_id)
        ).all()
    assert rows, "the demo has slipped open deals in late 2026"
    rep = rows[0][0]
    return rep, [opp for payee, opp in rows if payee == rep]


def _stored(engine: Engine, run_ids: list[int], payee: str) -> dict[Key, Decimal]:
    e = m.RunEarning
    with Session(engine) as session:
        rows = session.execute(
            select(e.period, e.plan, e.component, e.measure_period, e.amount).where(
                e.run_id.in_(run_ids), e.payee == payee
            )
        ).all()
    return {(r[0], r[1], r[2], r[3]): Decimal(r[4]) for r in rows}


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_the_estimate_equals_the_real_runs_after_importing_the_deals(
    demo: Engine, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Must-show: estimate → import the same deals as transactions → run_period → the same change, exactly."""
    rep, opportunities = _rep_with_2026_deals(demo)
    with Session(demo) as session:
        deals = [d for d in w.open_deals(session, rep) if d.key in opportunities]
        # a typed-in deal on one of the rep's accounts, a month later, with a discount
        extra = w.hypothetical_deal(
            session,
            account=deals[0].account,
            product="ANL-ADV",  # Analytics: the kicker's measure changes too
            amount="24000",
            close_date=date(2026, 11, 20),
            discount="12.5",
        )
        chosen = [*deals, extra]
        estimate = w.what_if(session, rep, chosen)
    assert estimate.months[-1] == "FY2026-M12", "a year bonus makes every later month of the year change"
    assert any(c.payee == rep for c in estimate.credits), "the deals credit the rep through the territory"
    change = {(x.month, x.plan, x.component, x.measure_period): x.delta for x in estimate.lines if x.delta}
    assert change, "closing the deals changes the rep's earnings"
    assert estimate.total("discount_cost")[estimate.lines[0].currency] > 0, "the discount costs the rep money"

    before = [run_period(demo, month, actor="test").run_id for month in estimate.months]
    path = _write_csv(tmp_path_factory.mktemp("deals") / "deals.csv", w.transaction_rows(chosen))
    check_clean(import_file(demo, "transactions", path, actor="test"))
    after = [run_period(demo, month, actor="test").run_id for month in estimate.months]

    old, new = _stored(demo, before, rep), _stored(demo, after, rep)
    real = {k: new.get(k, Decimal(0)) - old.get(k, Decimal(0)) for k in set(old) | set(new)}
    assert {k: v for k, v in real.items() if v} == change
    for line in estimate.lines:  # before and after agree one by one, not only their difference
        key = (line.month, line.plan, line.component, line.measure_period)
        assert (old.get(key, Decimal(0)), new.get(key, Decimal(0))) == (line.before, line.after)

    # the imported lines are the ones the what-if adds: no explicit owner, amount net of the discount
    with Session(demo) as session:
        t = m.Transaction
        stored = session.execute(
            select(t.amount, t.list_amount, t.owner_id).where(t.external_id.like("WHATIF-%")).order_by(t.external_id)
        ).all()
        assert len(stored) == len(chosen)
        assert all(owner is None for _, _, owner in stored)
        assert sorted(Decimal(a) for a, _, _ in stored) == sorted(d.net_amount for d in chosen)
        assert extra.net_amount == Decimal("21000.00")
        # clean up: the rest of the module sees the demo as loaded
        session.execute(
            m.Transaction.__table__.delete().where(t.external_id.like("WHATIF-%"))  # type: ignore[attr-defined]
        )
        session.commit()


def test_ranking_by_expected_earnings_uses_the_marginal_payout(demo: Engine) -> None:
    """Expected = probability × (marginal + renewal); marginal is the what-if of the deal alone."""
    rep, _ = _rep_with_2026_deals(demo)
    with Session(demo) as session:
        deals = w.open_deals(session, rep, close_on=date(2026, 12, 15))
        chosen = {d.opportunity: Decimal("0.25") for d in deals if d.opportunity}
        first = next(iter(chosen))
        chosen[first] = Decimal("0.9")
        ranked = w.rank_open_deals(session, rep, chosen, close_on=date(2026, 12, 15))
        assert [r.deal.key for r in ranked] and {r.deal.key for r in ranked} == {d.key for d in deals}
        assert [r.expected for r in ranked] == sorted((r.expected for r in ranked), reverse=True)
        top = next(r for r in ranked if r.deal.key == first)
        alone = w.what_if(session, rep, [top.deal])
        assert top.marginal == sum(alone.total().values(), Decimal(0))
        assert top.probability == Decimal("0.9")
        assert top.expected == (Decimal("0.9") * (top.marginal + top.renewal_value)).quantize(Decimal("0.01"))
        stored = w.rank_open_deals(session, rep, None, close_on=date(2026, 12, 15))
        assert all(r.probability == (r.deal.probability or 0) for r in stored)


def test_batched_scenarios_equal_one_run_each(demo: Engine) -> None:
    """Clones of the rep in one engine run give what separate runs give, line by line."""
    rep, _ = _rep_with_2026_deals(demo)
    with Session(demo) as session:
        deals = [replace(d, discount=Decimal("7.5")) for d in w.open_deals(session, rep, close_on=date(2026, 11, 3))]
        batched, single = w.what_if(session, rep, deals), w.what_if(session, rep, deals, batch=False)
        assert batched.lines == single.lines and batched.credits == single.credits
        assert any(line.delta for line in batched.lines)
        ranked = w.rank_open_deals(session, rep, close_on=date(2026, 12, 1))
        assert ranked == w.rank_open_deals(session, rep, close_on=date(2026, 12, 1), batch=False)


def test_bad_deals_are_refused(demo: Engine) -> None:
    rep, _ = _rep_with_2026_deals(demo)
    with Session(demo) as session:
        account = session.scalar(select(m.Account.external_id).order_by(m.Account.external_id).limit(1))
        product = session.scalar(select(m.Product.external_id).order_by(m.Product.external_id).limit(1))
        assert account is not None and product is not None
        with pytest.raises(NotFound):
            w.hypothetical_deal(session, account="NOPE", product=product, amount="1", close_date=date(2026, 5, 1))
        with pytest.raises(NotFound):
            w.hypothetical_deal(session, account=account, product="NOPE", amount="1", close_date=date(2026, 5, 1))
        with pytest.raises(InvalidInput):
            w.hypothetical_deal(session, account=account, product=product, amount="-5", close_date=date(2026, 5, 1))
        with pytest.raises(InvalidInput):
            w.hypothetical_deal(
                session, account=account, product=product, amount="5", close_date=date(2026, 5, 1), discount="100"
            )
        with pytest.raises(InvalidInput):
            w.what_if(session, rep, [])
        with pytest.raises(NotFound):
            w.what_if(session, "NOBODY", w.open_deals(session, rep)[:1])
        assert session.scalar(select(func.count()).select_from(m.Run)) is not None


def test_horizon_follows_the_plans_periods() -> None:
    from openspm.core.period import Period, PeriodKind

    periods = [
        Period("FY2026", PeriodKind.YEAR, date(2026, 1, 1), date(2027, 1, 1), 2026),
        Period("FY2026-Q2", PeriodKind.QUARTER, date(2026, 4, 1), date(2026, 7, 1), 2026),
        Period("FY2026-M05", PeriodKind.MONTH, date(2026, 5, 1), date(2026, 6, 1), 2026),
    ]
    assert w.horizon(periods, [], date(2026, 5, 3)).name == "FY2026-M05"
