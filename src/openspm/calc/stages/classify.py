"""Classify: transactions → CLASSIFIED lines in the plan currency.

Input: the transactions of the run window, products, accounts, FX rates, the
calendar's months. Output: one row per transaction with its month, the product
and account attributes plans filter on (columns named like the expression
names with `.` → `__`: `product__family`, `account__region`,
`transaction__attributes__channel`), and the amount converted to the plan
currency at the latest rate on or before the transaction date (or, with `fx: {rate_date:
period_end}`, the last day of its month):

    100 EUR on 2025-03-10, EUR→USD 1.1 from 2025-03-01 → amount 110 USD

A return or cancellation carries `basis_id` (its original), so crediting can
give it to the same payees as the original. A line with no FX rate is left out
and reported as an issue.
"""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa

from openspm.calc.context import PlanInForce, RunContext
from openspm.core.period import PeriodKind
from openspm.engine.duckdb import MONEY, memory_capped, scale


def lines_without_rate(ctx: RunContext, plan: PlanInForce, t: dict[str, Any]) -> Any:
    """The ids of the lines `classify` leaves without an FX rate (`fx_rate` null), found without the rest of
    classifying: the window, the months and the rates only."""
    lines = _with_fx_rate(ctx, plan, _in_months(ctx, _in_plan_window(plan, t["transactions"])), t["fx_rates"])
    return lines.filter(lines.fx_rate.isnull()).select("id")


def _in_plan_window(plan: PlanInForce, tx: Any) -> Any:
    """Transactions dated while the plan version applies."""
    if plan.applies_from is not None:
        tx = tx.filter(tx.date >= plan.applies_from)
    if plan.applies_to is not None:
        tx = tx.filter(tx.date < plan.applies_to)
    return tx


def _in_months(ctx: RunContext, lines: Any) -> Any:
    """Lines dated in a month of the calendar, with its `month`, `month_start` and `month_end`."""
    months = months_table(ctx)
    return lines.join(months, [lines.date >= months.month_start, lines.date < months.month_end])


def _with_fx_rate(ctx: RunContext, plan: PlanInForce, lines: Any, fx: Any) -> Any:
    """Lines with `rate_day` and `fx_rate`: 1 in the plan currency, else the latest rate on or before the day
    (null when there is none)."""
    currency = plan.document.currency
    if plan.document.fx.rate_date == "period_end":
        lines = lines.mutate(rate_day=(lines.month_end - ibis.interval(days=1)).cast("date"))
    else:
        lines = lines.mutate(rate_day=lines.date)
    rates = fx.filter(fx.to_currency == currency)
    # Each rate holds from its date until the next rate of its currency: one equi-join on the currency
    # with a range condition finds the latest rate on or before the day (no sort of every line's rates).
    following = rates.effective_date.lead().over(group_by=rates.from_currency, order_by=rates.effective_date)
    rates = rates.mutate(valid_to=ibis.coalesce(following, ibis.date(9999, 12, 31)))
    joined = lines.left_join(
        rates,
        [
            lines.currency == rates.from_currency,
            rates.effective_date <= lines.rate_day,
            lines.rate_day < rates.valid_to,
        ],
    )
    fx_rate = ibis.ifelse(joined.currency == currency, ibis.literal(1).cast(MONEY), joined.rate)
    return joined.mutate(fx_rate=fx_rate).drop("from_currency", "to_currency", "effective_date", "rate", "valid_to")


def months_table(ctx: RunContext) -> Any:
    months = [p for p in ctx.periods if p.kind is PeriodKind.MONTH]
    return ibis.memtable(
        pa.table(
            {
                "month": [m.name for m in months],
                "month_start": pa.array([m.start for m in months], type=pa.date32()),
                "month_end": pa.array([m.end for m in months], type=pa.date32()),
            }
        )
    )


def classify(
    ctx: RunContext,
    plan: PlanInForce,
    t: dict[str, Any],
    attributes: dict[str, list[str]],
    with_list_amount: bool = True,
) -> Any:
    """CLASSIFIED lines for `plan` (see the module docstring); `plan_list_amount` only `with_list_amount`."""
    tx, products, accounts = t["transactions"], t["products"], t["accounts"]
    every = tx  # originals of returns may predate the version
    tx = _in_plan_window(plan, tx)
    named = every
    if memory_capped():
        # Under a memory cap, only the originals some line names: a semi-join on the few returns' ids keeps
        # the join's hash table (which must stay in memory) to those originals instead of every transaction
        # of the window; at 10M transactions that table alone made a 1 GB cap fail. Uncapped, the plain join
        # is faster (1.9 s against 3.2 s to hold 1M classified lines).
        named = every.filter(every.id.isin(tx.filter(tx.original_id.notnull()).original_id))
    original = named.select(
        o_id=named.id,
        o_date=named.date,
        o_account=named.account_id,
        o_owner=named.owner_id,
        o_external=named.external_id,
    )
    lines = tx.left_join(original, tx.original_id == original.o_id)
    lines = lines.mutate(
        basis_id=ibis.coalesce(lines.original_id, lines.id),
        basis_date=ibis.coalesce(lines.o_date, lines.date),
        basis_account=ibis.coalesce(lines.o_account, lines.account_id),
        basis_owner=ibis.ifelse(lines.original_id.isnull(), lines.owner_id, lines.o_owner),
        original=lines.o_external,
    ).drop("o_id", "o_date", "o_account", "o_owner", "o_external")
    lines = _with_fx_rate(ctx, plan, _in_months(ctx, lines), t["fx_rates"])

    p = products.select(
        product_id=products.id,
        product__id=products.external_id,
        product__name=products.name,
        product__family=products.family,
        **{f"product__attributes__{a}": products[f"attr_{a}"] for a in attributes.get("product", [])},
    )
    a = accounts.select(
        account_id=accounts.id,
        account__id=accounts.external_id,
        account__name=accounts.name,
        account__industry=accounts.industry,
        account__size=accounts.size,
        account__segment=accounts.segment,
        account__country=accounts.country,
        account__region=accounts.region,
        account__city=accounts.city,
        **{f"account__attributes__{x}": accounts[f"attr_{x}"] for x in attributes.get("account", [])},
    )
    lines = lines.left_join(p, "product_id").left_join(a, "account_id")
    converted = scale(lines.amount, lines.fx_rate)
    listed = scale(lines.list_amount, lines.fx_rate) if with_list_amount else ibis.null().cast(MONEY)
    return lines.mutate(
        transaction__id=lines.external_id,
        transaction__type=lines.type,
        transaction__date=lines.date,
        transaction__currency=lines.currency,
        transaction__amount=converted,
        source_amount=lines.amount,
        plan_amount=converted,
        plan_list_amount=listed,
        **{f"transaction__attributes__{x}": lines[f"attr_{x}"] for x in attributes.get("transaction", [])},
    )
