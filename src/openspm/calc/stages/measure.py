"""Measure: CREDITS → MEASURES (payee × month × measure), then period and to-date values.

Input: a plan's credits. Output: `MeasureValues`, which answers "what is
measure m for payee p over period P up to month M" exactly:

- `sum: EXPR` sums the expression over the payee's credits whose role class
  (direct, rollup, overlay) or role is in `roles` and that pass `filter`;
- `count: transactions` counts distinct credited sales minus cancellations;
- `formula` combines other measures of the same payee and period;
- `accumulate: qtd | ytd` widens the window to the quarter or year to date.

The heavy aggregation (credits → payee × month) runs on the engine; period
sums and formulas run on the small monthly table in Decimal.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ibis

from openspm.calc.context import PlanInForce, RunContext
from openspm.core.period import Period, PeriodKind
from openspm.engine.duckdb import as_money
from openspm.plan.expr import evaluate, parse, to_ibis
from openspm.plan.models import Accumulation, Measure

ROLE_CLASSES = {"direct", "rollup", "overlay"}
ZERO = Decimal(0)


def credit_resolver(credits: Any) -> Any:
    """Expression names over a credit → credits columns."""
    renamed = {
        "amount": "amount",
        "quantity": "credit_quantity",
        "list_amount": "credit_list_amount",
        "discount": "discount",
        "credit.role": "role",
        "credit.source": "source",
        "credit.level": "level",
        "credit.share": "share",
    }

    def resolve(name: str) -> Any:
        return credits[renamed.get(name, name.replace(".", "__"))]

    return resolve


def counts_toward(credits: Any, roles: list[str], condition: str | None) -> Any:
    """A boolean expression: the credit's role class or role is in `roles` and it passes `condition`."""
    classes = [r for r in roles if r in ROLE_CLASSES]
    names = [r for r in roles if r not in ROLE_CLASSES]
    keep = credits.role_class.isin(classes) if classes else ibis.literal(False)
    if names:
        keep = keep | credits.role.isin(names)
    if condition:
        keep = keep & to_ibis(parse(condition), credit_resolver(credits)).fill_null(False)
    return keep


def flag_measures(credits: Any, measures: list[Measure]) -> Any:
    """Credits with a boolean column `in__<measure>` per sum or count measure: does it count?"""
    flags = {f"in__{m.name}": counts_toward(credits, m.roles, m.filter) for m in measures if m.formula is None}
    return credits.mutate(**flags) if flags else credits


def monthly(credits: Any, measure: Measure) -> Any:
    """payee_id × month → value of a sum or count measure (on credits flagged by `flag_measures`)."""
    selected = credits.filter(credits[f"in__{measure.name}"])
    if measure.sum is not None:
        value = as_money(to_ibis(parse(measure.sum), credit_resolver(selected))).sum()
    else:
        sale = selected.transaction__type == "sale"
        cancelled = selected.transaction__type == "cancellation"
        if measure.count == "transactions":
            value = (
                sale.ifelse(selected.transaction_id, ibis.null()).nunique()
                - cancelled.ifelse(selected.transaction_id, ibis.null()).nunique()
            )
        else:
            value = selected.count()
        value = as_money(value)
    return selected.group_by(["payee_id", "month"]).aggregate(value=value)


@dataclass
class MeasureValues:
    """Monthly values of a plan's measures, and the arithmetic to widen them to periods."""

    ctx: RunContext
    measures: dict[str, Measure]
    by_month: dict[tuple[str, int], dict[str, Decimal]] = field(
        default_factory=dict
    )  # (measure, payee) → month → value

    def window(self, measure: Measure, period: Period, through: Period) -> list[Period]:
        """The months a measure sums over for `period`, up to month `through`."""
        start = period.start
        if measure.accumulate is Accumulation.YTD:
            start = self.ctx.containing(period.start, PeriodKind.YEAR).start
        elif measure.accumulate is Accumulation.QTD:
            start = self.ctx.containing(period.start, PeriodKind.QUARTER).start
        end = min(period.end, through.end)
        return [p for p in self.ctx.periods if p.kind is PeriodKind.MONTH and start <= p.start < end]

    def value(self, name: str, payee_id: int, period: Period, through: Period) -> Decimal:
        """Measure `name` for a payee over `period`, counting months up to `through`."""
        measure = self.measures[name]
        if measure.formula is not None:
            expression = parse(measure.formula)
            env = {n: self.value(n, payee_id, period, through) for n in expression.names()}
            result = evaluate(expression, env)
            return ZERO if result is None else Decimal(result)
        months = self.by_month.get((name, payee_id), {})
        return sum((months.get(m.name, ZERO) for m in self.window(measure, period, through)), ZERO)

    def rows(self, payee_ids: list[int], period: Period, through: Period) -> list[tuple[int, str, Decimal]]:
        """(payee, measure, value) of every measure for `period` to `through`."""
        return [(p, n, self.value(n, p, period, through)) for p in payee_ids for n in self.measures]


def measure(ctx: RunContext, plan: PlanInForce, credits: Any) -> MeasureValues:
    """MEASURES of a plan from its credits."""
    values = MeasureValues(ctx, {m.name: m for m in plan.document.measures})
    if credits is None:
        return values
    stored: defaultdict[tuple[str, int], dict[str, Decimal]] = defaultdict(dict)
    for m in plan.document.measures:
        if m.formula is not None:
            continue
        table = monthly(credits, m).to_pyarrow()
        for payee_id, month, value in zip(
            table["payee_id"].to_pylist(), table["month"].to_pylist(), table["value"].to_pylist(), strict=True
        ):
            stored[(m.name, payee_id)][month] = value if value is not None else ZERO
    values.by_month = dict(stored)
    return values
