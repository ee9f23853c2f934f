"""Properties of the pipeline on random data: split credits sum to the transaction; rollups copy them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import pairwise

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openspm.calc import inputs as inp
from openspm.calc.context import PlanInForce, RunContext
from openspm.calc.pipeline import line_readers, run_pipeline
from openspm.core.period import fiscal_periods
from openspm.plan.load import parse_plan
from openspm.plan.models import CreditSource, PlanDocument

PLAN = parse_plan(
    """
version: 1
plan: p
name: Split plan
currency: USD
effective_from: 2025-01-01
crediting:
  direct: {sources: [splits, owner]}
  rollup: {levels: 1}
measures:
  - {name: bookings, sum: amount, roles: [direct]}
components:
  - {name: commission, kind: flat_rate, measure: bookings, rate: 0.1}
"""
)

PAYEES = 4
MANAGER = 100


def _shares(draw: st.DrawFn) -> list[Decimal]:
    """Two to four shares in hundredths (1%..), summing to exactly 1."""
    parts = draw(st.integers(min_value=2, max_value=4))
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=parts - 1, max_size=parts - 1, unique=True)))
    bounds = [0, *cuts, 100]
    return [Decimal(b - a) / 100 for a, b in pairwise(bounds)]


@st.composite
def deals(draw: st.DrawFn) -> list[tuple[Decimal, list[Decimal]]]:
    count = draw(st.integers(min_value=1, max_value=6))
    result = []
    for _ in range(count):
        cents = draw(st.integers(min_value=-500_000, max_value=5_000_000))
        result.append((Decimal(cents) / 100, _shares(draw)))
    return result


def _inputs(data: list[tuple[Decimal, list[Decimal]]]) -> inp.Inputs:
    n = len(data)
    splits: dict[str, list[object]] = {"transaction_id": [], "payee_id": [], "role": [], "share": []}
    for tx, (_amount, shares) in enumerate(data, start=1):
        for payee, share in enumerate(shares, start=1):
            splits["transaction_id"].append(tx)
            splits["payee_id"].append(payee)
            splits["role"].append("owner")
            splits["share"].append(share)
    ids = [*range(1, PAYEES + 1), MANAGER]
    return inp.Inputs(
        {
            "transactions": inp.table(
                "transactions",
                {
                    "id": list(range(1, n + 1)), "external_id": [f"T{i}" for i in range(1, n + 1)],
                    "date": [date(2025, 3, 10)] * n, "type": ["sale"] * n, "account_id": [1] * n, "product_id": [1] * n,
                    "quantity": [Decimal(1)] * n, "amount": [a for a, _ in data], "currency": ["USD"] * n,
                    "list_amount": [None] * n, "original_id": [None] * n, "owner_id": [None] * n,
                },
            ),
            "products": inp.table("products", {"id": [1], "external_id": ["SKU"], "name": ["x"], "family": ["F"]}),
            "accounts": inp.table(
                "accounts",
                {"id": [1], "external_id": ["A"], **{c: [None] for c in ("name", "industry", "size", "segment", "country", "region", "city")}},
            ),
            "payees": inp.table(
                "payees",
                {
                    "id": ids, "external_id": [f"P{i}" for i in ids],
                    **{c: [None] * len(ids) for c in ("name", "region", "role", "seniority", "hire_date", "termination_date")},
                    "pay_currency": ["USD"] * len(ids),
                },
            ),
            "splits": inp.table("splits", splits),
            "reporting_lines": inp.table(
                "reporting_lines",
                {"payee_id": list(range(1, PAYEES + 1)), "manager_id": [MANAGER] * PAYEES,
                 "effective_from": [date(2024, 1, 1)] * PAYEES, "effective_to": [None] * PAYEES},
            ),
            "plan_assignments": inp.table(
                "plan_assignments",
                {"payee_id": ids, "plan": ["p"] * len(ids), "effective_from": [date(2025, 1, 1)] * len(ids),
                 "effective_to": [None] * len(ids), "target_incentive": [None] * len(ids), "parameters": [None] * len(ids)},
            ),
        }
    )  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deals())
def test_split_credits_sum_to_the_transaction_and_roll_up_whole(data: list[tuple[Decimal, list[Decimal]]]) -> None:
    periods = fiscal_periods(2025, 1)
    month = next(p for p in periods if p.name == "FY2025-M03")
    ctx = RunContext(period=month, periods=periods, plans=[PlanInForce("p", 1, PLAN)], con=ibis.duckdb.connect())
    results = run_pipeline(ctx, _inputs(data))
    credits = results.credits.to_pylist() if results.credits is not None else []  # the paid month's credits
    for tx, (amount, _) in enumerate(data, start=1):
        direct = [c for c in credits if c["transaction"] == f"T{tx}" and c["role_class"] == "direct"]
        rollup = [c for c in credits if c["transaction"] == f"T{tx}" and c["role_class"] == "rollup"]
        assert sum(c["amount"] for c in direct) == amount
        assert sum(c["amount"] for c in rollup) == amount  # each share rolls up to the manager, whole
        assert {c["payee"] for c in rollup} == {f"P{MANAGER}"}
    total = sum(a for a, _ in data)
    by_payee = {e.payee: e.amount for e in results.earnings}
    assert by_payee[f"P{MANAGER}"] == Decimal(0)  # the plan measures direct credit only
    assert abs(sum(by_payee.values()) - total * Decimal("0.1")) <= Decimal("0.005") * PAYEES


ONE_SOURCE = PLAN.model_copy(
    update={"crediting": PLAN.crediting.model_copy(update={"direct": PLAN.crediting.direct.model_copy(
        update={"sources": [CreditSource.SPLITS]})})}
)  # fmt: skip


@pytest.mark.parametrize("plan", [PLAN, ONE_SOURCE], ids=["lines held (two sources)", "lines read once"])
def test_a_line_without_an_fx_rate_is_reported_by_its_transaction_and_not_credited(plan: PlanDocument) -> None:
    """The held lines carry ids only, and lines read once are not held at all: either way the issue names
    the transaction, its currency and its date."""
    assert line_readers(plan) == (2 if plan is PLAN else 1)
    periods = fiscal_periods(2025, 1)
    month = next(p for p in periods if p.name == "FY2025-M03")
    ctx = RunContext(period=month, periods=periods, plans=[PlanInForce("p", 1, plan)], con=ibis.duckdb.connect())
    inputs = _inputs([(Decimal("100"), [Decimal("0.5"), Decimal("0.5")]), (Decimal("200"), [Decimal(1)])])
    tx = inputs.get("transactions")
    inputs = inp.Inputs(
        {**{n: inputs.get(n) for n in ("products", "accounts", "payees", "splits", "reporting_lines",
                                       "plan_assignments")},
         "transactions": tx.set_column(tx.schema.get_field_index("currency"), "currency",
                                       pa.array(["USD", "EUR"], pa.string()))}
    )  # fmt: skip
    results = run_pipeline(ctx, inputs)
    assert [(i.source, i.column, i.reason) for i in ctx.issues] == [
        ("classify", "T2", "no FX rate from EUR to USD on or before 2025-03-10; not credited")
    ]
    assert results.credits is not None
    assert {c["transaction"] for c in results.credits.to_pylist()} == {"T1"}
