"""Measure: CREDITS → MEASURES (payee × month × measure), then period and to-date values.

Input: a plan's credits. Output: `MeasureValues`, which answers "what is
measure m for payee p over period P up to month M" exactly:

- `sum: EXPR` sums the expression over the payee's credits whose role class
  (direct, rollup, overlay) or role is in `roles` and that pass `filter`;
- `count: transactions` counts distinct credited sales minus cancellations;
- `formula` combines other measures of the same payee and period;
- `accumulate: qtd | ytd` widens the window to the quarter or year to date;
- under a plan with `pay.clawback`, a return or cancellation of an earlier month's sale counts toward no
  measure (`clawed_back`): the pay stage takes back what its original paid instead.

The heavy aggregation (credits → payee × month) runs on the engine; period
sums and formulas run on the small monthly table in Decimal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ibis

from openspm.calc.context import PlanInForce, RunContext
from openspm.core.period import Period, PeriodKind
from openspm.engine.duckdb import as_money
from openspm.engine.execute import fetch
from openspm.plan.expr import evaluate, parse, to_ibis
from openspm.plan.models import Accumulation, Measure, Spif

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


def clawed_back(credits: Any) -> Any:
    """A boolean expression: the credit is a return or cancellation of a sale dated in an earlier month.

    Under a plan with `pay.clawback` such a credit counts toward no measure (the pay stage takes back the
    commission its original paid, so the measure must not fall as well); it is still stored, for the trace. A
    return in its sale's own month nets in the measure as before: nothing was paid to take back."""
    own = credits.date.year() * 12 + credits.date.month()
    basis = credits.basis_date.year() * 12 + credits.basis_date.month()
    return credits.transaction__type.isin(["return", "cancellation"]) & (basis < own)


def flag_measures(credits: Any, measures: list[Measure], excluded: Any | None = None) -> Any:
    """Credits with a boolean column `in__<measure>` per sum or count measure: does it count? A credit for
    which `excluded` (a boolean expression, see `clawed_back`) holds counts toward none."""
    flags = {f"in__{m.name}": counts_toward(credits, m.roles, m.filter) for m in measures if m.formula is None}
    if excluded is not None:
        flags = {name: flag & ~excluded for name, flag in flags.items()}
    return credits.mutate(**flags) if flags else credits


def _monthly_value(credits: Any, measure: Measure) -> Any:
    """The aggregate of one sum or count measure over a payee-month's credits (flagged by `flag_measures`)."""
    flag = credits[f"in__{measure.name}"]
    if measure.sum is not None:
        term = as_money(to_ibis(parse(measure.sum), credit_resolver(credits)))
        return flag.ifelse(term, ibis.null()).sum()
    if measure.count == "transactions":
        sale = flag & (credits.transaction__type == "sale")
        cancelled = flag & (credits.transaction__type == "cancellation")
        value = (
            sale.ifelse(credits.transaction_id, ibis.null()).nunique()
            - cancelled.ifelse(credits.transaction_id, ibis.null()).nunique()
        )
    else:
        value = flag.ifelse(1, 0).sum()
    return as_money(value)


def spif_keys(name: str) -> tuple[str, str]:
    """The names under which a SPIF's monthly deal and unit counts are kept beside the measures."""
    return f"spif:{name}:deals", f"spif:{name}:units"


def monthly(credits: Any, measures: list[Measure], spifs: Sequence[str] = (), by: tuple[str, ...] = ()) -> Any:
    """payee_id × month (× the extra keys `by`) → `v__<measure>` and `n__<measure>` (how many credits count)
    for every sum and count measure, and `d__<spif>` / `u__<spif>` (deals net of cancellations, units) for
    each SPIF component flagged `cf__<spif>`, in one aggregation over the credits.

    Grouped by transaction as well (`by=("transaction_id",)`), the rows are each transaction's contribution:
    they add up to the monthly values (a count of distinct transactions is 1, 0 or −1 per transaction)."""
    aggregates: dict[str, Any] = {}
    for m in measures:
        if m.formula is not None:
            continue
        aggregates[f"v__{m.name}"] = _monthly_value(credits, m)
        aggregates[f"n__{m.name}"] = credits[f"in__{m.name}"].ifelse(1, 0).sum()
    for name in spifs:
        flag = credits[f"cf__{name}"]
        sale = flag & (credits.transaction__type == "sale")
        cancelled = flag & (credits.transaction__type == "cancellation")
        aggregates[f"d__{name}"] = (
            sale.ifelse(credits.transaction_id, ibis.null()).nunique()
            - cancelled.ifelse(credits.transaction_id, ibis.null()).nunique()
        )
        aggregates[f"u__{name}"] = as_money(flag.ifelse(credits.credit_quantity, ibis.null()).sum())
    return credits.group_by([*by, "payee_id", "month"]).aggregate(**aggregates)


def read_monthly(
    table: Any, measures: list[Measure], spifs: Sequence[str]
) -> tuple[dict[tuple[str, int], dict[str, Decimal]], dict[tuple[str, int], dict[str, int]]]:
    """The Arrow result of `monthly` as (name, payee) → month → value, and → month → credit count (SPIF
    counts are kept under `spif_keys`). Rows of several transactions of one payee-month add up."""
    payees, months = table["payee_id"].to_pylist(), table["month"].to_pylist()
    values: defaultdict[tuple[str, int], dict[str, Decimal]] = defaultdict(dict)
    counts: defaultdict[tuple[str, int], dict[str, int]] = defaultdict(dict)

    def add(name: str, payee_id: int, month: str, value: Decimal, n: int) -> None:
        found = values[(name, payee_id)]
        found[month] = found.get(month, ZERO) + value
        tally = counts[(name, payee_id)]
        tally[month] = tally.get(month, 0) + n

    for m in measures:
        if m.formula is not None:
            continue
        column, numbers = table[f"v__{m.name}"].to_pylist(), table[f"n__{m.name}"].to_pylist()
        for payee_id, month, value, n in zip(payees, months, column, numbers, strict=True):
            if n:
                add(m.name, payee_id, month, value if value is not None else ZERO, int(n))
    for name in spifs:
        deals_key, units_key = spif_keys(name)
        deals, units = table[f"d__{name}"].to_pylist(), table[f"u__{name}"].to_pylist()
        for payee_id, month, d, u in zip(payees, months, deals, units, strict=True):
            if d:
                add(deals_key, payee_id, month, Decimal(d), 0)
            if u:
                add(units_key, payee_id, month, u, 0)
    return dict(values), dict(counts)


@dataclass
class MeasureValues:
    """Monthly values of a plan's measures, and the arithmetic to widen them to periods."""

    ctx: RunContext
    measures: dict[str, Measure]
    by_month: dict[tuple[str, int], dict[str, Decimal]] = field(
        default_factory=dict
    )  # (measure, payee) → month → value
    counts: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)  # (measure, payee) → month → credits
    _windows: dict[tuple[Accumulation, str, str], list[Period]] = field(default_factory=dict)
    _values: dict[tuple[str, int, str, str], Decimal] = field(default_factory=dict)
    _names: dict[tuple[Accumulation, str, str], list[str]] = field(default_factory=dict)

    def window(self, measure: Measure, period: Period, through: Period) -> list[Period]:
        """The months a measure sums over for `period`, up to month `through` (computed once per triple)."""
        key = (measure.accumulate, period.name, through.name)
        found = self._windows.get(key)
        if found is None:
            found = self._windows[key] = self._window(measure, period, through)
        return found

    def _window(self, measure: Measure, period: Period, through: Period) -> list[Period]:
        start = period.start
        if measure.accumulate is Accumulation.YTD:
            start = self.ctx.containing(period.start, PeriodKind.YEAR).start
        elif measure.accumulate is Accumulation.QTD:
            start = self.ctx.containing(period.start, PeriodKind.QUARTER).start
        end = min(period.end, through.end)
        return [p for p in self.ctx.periods if p.kind is PeriodKind.MONTH and start <= p.start < end]

    def value(self, name: str, payee_id: int, period: Period, through: Period) -> Decimal:
        """Measure `name` for a payee over `period`, counting months up to `through` (computed once; the
        monthly values must not change after the first call)."""
        key = (name, payee_id, period.name, through.name)
        found = self._values.get(key)
        if found is None:
            found = self._values[key] = self._value(name, payee_id, period, through)
        return found

    def _value(self, name: str, payee_id: int, period: Period, through: Period) -> Decimal:
        measure = self.measures[name]
        if measure.formula is not None:
            expression = parse(measure.formula)
            env = {n: self.value(n, payee_id, period, through) for n in expression.names()}
            result = evaluate(expression, env)
            return ZERO if result is None else Decimal(result)
        months = self.by_month.get((name, payee_id))
        if not months:
            return ZERO
        total = ZERO
        for month in self._window_names(measure, period, through):
            value = months.get(month)
            if value is not None:
                total += value
        return total

    def _window_names(self, measure: Measure, period: Period, through: Period) -> list[str]:
        """The names of `window`'s months (computed once per window)."""
        key = (measure.accumulate, period.name, through.name)
        found = self._names.get(key)
        if found is None:
            found = self._names[key] = [m.name for m in self.window(measure, period, through)]
        return found

    def rows(self, payee_ids: list[int], period: Period, through: Period) -> list[tuple[int, str, Decimal]]:
        """(payee, measure, value) of every measure for `period` to `through`."""
        return [(p, n, self.value(n, p, period, through)) for p in payee_ids for n in self.measures]

    def total(self, key: str, payee_id: int, months: set[str]) -> Decimal:
        """A monthly value kept under `key` (a measure or `spif_keys`) summed over `months`."""
        found = self.by_month.get((key, payee_id), {})
        return sum((found.get(m, ZERO) for m in months), ZERO)

    def credit_count(self, name: str, payee_id: int, period: Period, through: Period) -> int:
        """How many credits a sum or count measure adds up for a payee over `period` to `through`."""
        measure = self.measures[name]
        months = self.counts.get((name, payee_id), {})
        return sum(months.get(m.name, 0) for m in self.window(measure, period, through))


def spif_names(plan: PlanInForce) -> list[str]:
    return [c.name for c in plan.document.components if isinstance(c, Spif)]


def measure(ctx: RunContext, plan: PlanInForce, credits: Any) -> MeasureValues:
    """MEASURES of a plan from its credits: one aggregation on the engine, read back as payee × month values."""
    values = MeasureValues(ctx, {m.name: m for m in plan.document.measures})
    counted = [m for m in plan.document.measures if m.formula is None]
    spifs = spif_names(plan)
    if credits is None or not (counted or spifs):
        return values
    table = fetch(ctx.con, monthly(credits, counted, spifs))
    values.by_month, values.counts = read_monthly(table, counted, spifs)
    return values
