"""Incremental recompute: random transaction changes applied one by one give what a full run gives."""

from __future__ import annotations

import tempfile
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from openspm.core.errors import InvalidInput
from openspm.ingest.service import import_file
from openspm.periods.service import create_calendar
from openspm.plans.service import add_plan
from openspm.runs.live import LiveEngine, TransactionChange
from openspm.runs.service import run_period
from openspm.store import models as m
from openspm.store.db import make_engine, migrate
from openspm.store.models import Base
from tests.conftest import PG_URL

# Reps R1, R2 (manager M1) and R3 (manager M2); M1 and M2 report to D1: two roll-up levels. T3 is split 60/40. Tiers on
# year-to-date attainment with a cap, paid as a true-up that claws; a quarterly bonus; a SPIF with a filter
# and a window; a deal count. EUR deals convert at a dated rate.
PLAN = """
version: 1
plan: live
name: Live plan
currency: USD
effective_from: 2025-01-01
crediting:
  direct: {sources: [owner, splits, account]}
  rollup: {levels: 2}
measures:
  - {name: bookings, sum: amount, roles: [direct, rollup]}
  - {name: bookings_ytd, sum: amount, roles: [direct, rollup], accumulate: ytd}
  - {name: deals, count: transactions, roles: [direct]}
components:
  - name: commission
    kind: tiered_rate
    measure: bookings_ytd
    period: year
    basis: attainment
    method: marginal
    tiers:
      - {from: 0, to: 1, rate: 0.05}
      - {from: 1, rate: 0.08}
    cap: {target_multiple: 2, per: period}
    payout: {timing: true_up, negative: claw}
  - name: quarterly_bonus
    kind: bonus
    period: quarter
    when: "attainment(bookings) >= 1 and deals >= 2"
    target_share: 0.05
  - name: cloud_spif
    kind: spif
    period: month
    per: deal
    amount: 100
    window_from: 2025-02-01
    filter: "product.family == 'Cloud'"
"""

FILES = {
    "payees": "id,name,pay_currency\nD1,Dee,USD\nM1,Max,USD\nM2,Mia,USD\nR1,Ann,USD\nR2,Bob,USD\nR3,Cy,USD\n",
    "reporting_lines": "payee,manager,effective_from\nM1,D1,2025-01-01\nM2,D1,2025-01-01\n"
    "R1,M1,2025-01-01\nR2,M1,2025-01-01\nR3,M2,2025-01-01\n",
    "accounts": "id,name\nA1,Acme\nA2,Globex\nA3,Initech\nA4,Umbrella\n",
    "account_assignments": "account,payee,effective_from,effective_to\nA1,R1,2025-01-01,\nA2,R2,2025-01-01,\n"
    "A3,R3,2025-01-01,2025-02-15\nA3,R1,2025-02-15,\nA4,R3,2025-01-01,\n",
    "products": "id,name,family\nS1,Seat,Platform\nC1,Compute,Cloud\n",
    "fx_rates": "from_currency,to_currency,effective_date,rate\nEUR,USD,2025-01-01,1.1\nEUR,USD,2025-02-01,1.2\n",
    "transactions": "id,date,type,account,product,amount,currency,owner,original\n"
    "T1,2025-01-10,sale,A1,S1,40000,USD,,\nT2,2025-02-03,sale,A2,C1,25000,EUR,,\n"
    "T3,2025-02-20,sale,A3,C1,15000.50,USD,,\nT4,2025-03-05,sale,A4,S1,60000,USD,,\n"
    "T5,2025-03-07,sale,A1,C1,5000,USD,R2,\n",
    "transaction_splits": "transaction,payee,role,share\nT3,R1,owner,0.6\nT3,R3,owner,0.4\n",
    "plan_assignments": "payee,plan,effective_from,target_incentive\n"
    + "".join(f"{p},live,2025-01-01,{ti}\n" for p, ti in [("D1", 30000), ("M1", 20000), ("M2", 20000)])
    + "".join(f"{p},live,2025-01-01,10000\n" for p in ("R1", "R2", "R3")),
    "quotas": "payee,measure,period,amount,currency\n"
    + "".join(
        f"{p},{measure},{period},{amount},USD\n"
        for p, scale in [("D1", 4), ("M1", 2), ("M2", 2), ("R1", 1), ("R2", 1), ("R3", 1)]
        for measure, period, amount in [("bookings_ytd", "FY2025", 200000 * scale), ("bookings", "FY2025-Q1", 50000 * scale)]
    ),
}  # fmt: skip

MONTH = "FY2025-M03"


def build(engine: Engine, folder: Path) -> None:
    """The company above in an empty store, and a full run of March."""
    create_calendar(engine, "fiscal", 1, [2025], actor="test")
    plan = folder / "plan.yaml"
    plan.write_text(textwrap.dedent(PLAN).lstrip(), encoding="utf-8")
    order = ["payees", "reporting_lines", "accounts", "account_assignments", "products", "fx_rates"]
    for kind in [*order, "transactions", "transaction_splits"]:
        path = folder / f"{kind}.csv"
        path.write_text(FILES[kind], encoding="utf-8")
        assert import_file(engine, kind, path, actor="test").rejected == 0, kind
    add_plan(engine, plan, actor="test")
    for kind in ("plan_assignments", "quotas"):
        path = folder / f"{kind}.csv"
        path.write_text(FILES[kind], encoding="utf-8")
        assert import_file(engine, kind, path, actor="test").rejected == 0, kind
    run_period(engine, MONTH, actor="test")


def live_state(engine: Engine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The stored measures and earnings, as comparable rows (values normalized)."""
    with Session(engine) as session:
        pm, le = m.PayeeMeasure, m.LiveEarning
        measures = sorted(
            (r.plan, r.version, r.payee_id, r.month, r.measure, r.value.normalize(), r.credits)
            for r in session.scalars(select(pm))
        )
        earnings = sorted(
            (r.plan, r.payee, r.period, r.component, r.amount.normalize(), r.cut.normalize())
            for r in session.scalars(select(le))
        )
    return measures, earnings


# --- random changes ------------------------------------------------------------------------------------

DAYS = st.dates(min_value=date(2025, 1, 1), max_value=date(2025, 3, 31))
AMOUNTS = st.decimals(min_value=Decimal("-5000"), max_value=Decimal("90000"), places=2)


@st.composite
def change(draw: st.DrawFn, index: int) -> TransactionChange:
    kind = draw(st.sampled_from(["new", "edit", "cancel"]))
    account = draw(st.sampled_from(["A1", "A2", "A3", "A4"]))
    product = draw(st.sampled_from(["S1", "C1"]))
    currency = draw(st.sampled_from(["USD", "USD", "EUR"]))
    owner = draw(st.sampled_from([None, None, "R1", "R2", "R3"]))
    if kind == "cancel":
        original = draw(st.sampled_from(["T1", "T2", "T3", "T4", "T5"]))
        return TransactionChange(
            f"X{index}", draw(DAYS), account, product, -draw(AMOUNTS).copy_abs(), currency, "cancellation",
            Decimal(-1), original=original,
        )  # fmt: skip
    external = draw(st.sampled_from(["T1", "T2", "T3", "T4", "T5"])) if kind == "edit" else f"N{index}"
    return TransactionChange(external, draw(DAYS), account, product, draw(AMOUNTS), currency, owner=owner)


@st.composite
def changes(draw: st.DrawFn) -> list[list[TransactionChange]]:
    count = draw(st.integers(min_value=1, max_value=6))
    return [[draw(change(i))] for i in range(count)]


def fresh_store(kind: str, folder: Path) -> Engine:
    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{folder / 'store.db'}")
        migrate(engine)
        return engine
    assert PG_URL is not None
    engine = make_engine(PG_URL)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables if t.name != "roles")
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return engine


STORES = ["sqlite", *(["postgresql"] if PG_URL else [])]


@pytest.mark.parametrize("store", STORES)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches=changes())
def test_incremental_recompute_equals_a_full_run(store: str, batches: list[list[TransactionChange]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = fresh_store(store, Path(tmp))
        try:
            build(engine, Path(tmp))
            live = LiveEngine(engine)
            for batch in batches:
                update = live.apply(batch, actor="test")
                assert not update.full_run
            incremental = live_state(engine)
            run_period(engine, MONTH, actor="test")
            assert live_state(engine) == incremental
        finally:
            engine.dispose()


def test_a_change_touches_the_owner_and_the_managers_above(tmp_path: Path) -> None:
    engine = fresh_store("sqlite", tmp_path)
    build(engine, tmp_path)
    before = {(p, c): a for _plan, p, _m, c, a, _cut in live_state(engine)[1]}
    live = LiveEngine(engine)
    update = live.apply([TransactionChange("N1", date(2025, 3, 10), "A2", "S1", Decimal("100000"), "USD")])
    assert sorted(update.payees) == ["D1", "M1", "R2"]  # the account's owner and two levels of managers
    after = {(p, c): a for _plan, p, _m, c, a, _cut in live_state(engine)[1]}
    changed = {key for key in after if after[key] != before.get(key)}
    assert {p for p, _c in changed} <= {"D1", "M1", "R2"} and changed
    # R2: 100,000 more year-to-date bookings (quota 200,000) at the tier rates.
    assert after[("R2", "commission")] > before[("R2", "commission")]
    with Session(engine) as session:
        audit = session.scalars(select(m.AuditEntry).where(m.AuditEntry.entity_key == "N1")).one()
    assert audit.action == "insert" and audit.note == "incremental recompute"


def test_an_unknown_reference_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    engine = fresh_store("sqlite", tmp_path)
    build(engine, tmp_path)
    state = live_state(engine)
    live = LiveEngine(engine)
    with pytest.raises(InvalidInput, match="unknown account 'A9'"):
        live.apply([TransactionChange("N1", date(2025, 3, 10), "A9", "S1", Decimal("100"), "USD")])
    assert live_state(engine) == state
