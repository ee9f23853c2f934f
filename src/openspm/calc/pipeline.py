"""The calculation pipeline: classify → credit → measure → incent, per plan.

Input: a `RunContext` (the month to pay, calendar, plans) and `Inputs` (Arrow
tables). Output: `Results` — credits, measure values and earnings with their
trace, and the issues found — ready for the runs service to store. The `pay`
stage (draws, holds, clawbacks) will take `Results.earnings` next.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from openspm.calc.context import PlanInForce, RunContext
from openspm.calc.inputs import ATTRIBUTE_TABLES, Inputs
from openspm.calc.stages.classify import classify, lines_without_rate
from openspm.calc.stages.credit import EXTRA_LINE_COLUMNS, LINE_COLUMNS, credit
from openspm.calc.stages.incent import Earning, PayeeFacts, PlanData, incent, parameters_of
from openspm.calc.stages.measure import MeasureValues, clawed_back, counts_toward, flag_measures, measure
from openspm.core.period import Period, PeriodKind
from openspm.engine.execute import fetch, fetch_batches, materialize, source
from openspm.plan.expr import parse
from openspm.plan.load import plan_expressions
from openspm.plan.models import CreditSource, LookupRate, PlanDocument, Spif, TieredRate


@dataclass
class Results:
    """Everything a run produced.

    `credits` holds the paid month's credits (an Arrow table, columns `STORED_CREDIT_COLUMNS`); `monthly`
    the per-payee monthly values of every sum and count measure in the run's window (what incremental
    recompute starts from); `measures` the measure values of the paid month, quarter and year.
    """

    credits: pa.Table | None = None
    measures: list[dict[str, Any]] = field(default_factory=list)
    monthly: list[dict[str, Any]] = field(default_factory=list)
    earnings: list[Earning] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    payee_ids: list[int] | None = None  # the payees computed, when not all

    @property
    def credit_count(self) -> int:
        return 0 if self.credits is None else self.credits.num_rows

    def add_credits(self, table: pa.Table) -> None:
        self.credits = table if self.credits is None else pa.concat_tables([self.credits, table])


def attributes_used(plan: PlanDocument) -> dict[str, list[str]]:
    """Free attributes a plan's expressions read: {"transaction": ["channel"], ...}."""
    found: dict[str, set[str]] = {}
    for _key, _context, text in plan_expressions(plan):
        for name in parse(text).names():
            parts = name.split(".")
            if len(parts) == 3 and parts[1] == "attributes" and parts[0] in ATTRIBUTE_TABLES:
                found.setdefault(parts[0], set()).add(parts[2])
    return {k: sorted(v) for k, v in found.items()}


ROW_COLUMNS = (
    "transaction_id", "transaction__id", "original", "date", "month", "payee_id", "payee__id", "role",
    "role_class", "source", "level", "share", "amount", "credit_quantity", "credit_list_amount", "currency",
    "transaction__type", "plan_amount", "plan_list_amount",
)  # fmt: skip
STORED_CREDIT_COLUMNS = {
    "plan": "plan",
    "transaction": "transaction__id",
    "original": "original",
    "payee": "payee__id",
    "role": "role",
    "role_class": "role_class",
    "source": "source",
    "level": "level",
    "share": "share",
    "amount": "amount",
    "currency": "currency",
    "date": "date",
    "month": "month",
}


def names_used(plan: PlanDocument) -> set[str]:
    """Every dotted name a plan's expressions read (product.family, transaction.attributes.channel, ...)."""
    return {name for _key, _context, text in plan_expressions(plan) for name in parse(text).names()}


def credit_columns(credits: Any, plan: PlanDocument) -> list[str]:
    """The credit columns a run keeps on the engine: the fixed ones, the measure and component flags, and only
    the attribute columns the plan's expressions read (every attribute of every credit costs gigabytes)."""
    wanted = {name.replace(".", "__") for name in names_used(plan)}
    keep = set(ROW_COLUMNS) | {"plan"}
    return [c for c in credits.columns if c in keep or c.startswith(("in__", "cf__")) or c in wanted]


def extras_used(plan: PlanDocument) -> frozenset[str]:
    """Which of the dearer credit columns the plan reads: `quantity` (× share) and `list_amount` (list amount
    converted and × share, which discounts need); the engine skips the others."""
    names = names_used(plan)
    found = set()
    if "quantity" in names or any(isinstance(c, Spif) and c.per == "unit" for c in plan.components):
        found.add("quantity")
    if names & {"list_amount", "discount"} or any(
        isinstance(c, TieredRate) and c.rate_adjustments for c in plan.components
    ):
        found.add("list_amount")
    return frozenset(found)


def flag_components(credits: Any, plan: PlanDocument, excluded: Any | None = None) -> Any:
    """Credits with a boolean column `cf__<component>` for each per-credit component (SPIF, lookup rate):
    the credit's role is in the component's `roles`, it passes its `filter` and (SPIF) it is dated in the
    component's window. A credit for which `excluded` holds counts toward no lookup rate (its clawback takes
    the commission back); a SPIF, which is not clawed back, still counts a cancellation against its deals."""
    flags = {}
    for c in plan.components:
        if isinstance(c, (Spif, LookupRate)):
            flag = counts_toward(credits, c.roles, c.filter)
            if isinstance(c, LookupRate) and excluded is not None:
                flag = flag & ~excluded
            if isinstance(c, Spif) and c.window_from is not None:
                flag = flag & (credits.date >= c.window_from)
            if isinstance(c, Spif) and c.window_to is not None:
                flag = flag & (credits.date < c.window_to)
            flags[f"cf__{c.name}"] = flag
    return credits.mutate(**flags) if flags else credits


def _credit_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Credit rows as dicts for the per-transaction rules.

    `env` (the credit's expression names, for expressions evaluated in Python) is built
    only when a rule asks for it, through `credit_env`.
    """
    nothing = [None] * table.num_rows
    columns = {name: table[name].to_pylist() if name in table.column_names else nothing for name in ROW_COLUMNS}
    dotted = table.select([n for n in table.column_names if "__" in n and not n.startswith(("in__", "cf__"))])
    rows = []
    plan_amounts, plan_lists = columns["plan_amount"], columns["plan_list_amount"]
    for i in range(table.num_rows):
        plan_amount, plan_list = plan_amounts[i], plan_lists[i]
        rows.append(
            {
                "transaction_id": columns["transaction_id"][i],
                "transaction": columns["transaction__id"][i],
                "original": columns["original"][i],
                "date": columns["date"][i],
                "month": columns["month"][i],
                "payee_id": columns["payee_id"][i],
                "payee": columns["payee__id"][i],
                "role": columns["role"][i],
                "role_class": columns["role_class"][i],
                "source": columns["source"][i],
                "level": columns["level"][i],
                "share": columns["share"][i],
                "amount": columns["amount"][i],
                "quantity": columns["credit_quantity"][i],
                "list_amount": columns["credit_list_amount"][i],
                "currency": columns["currency"][i],
                "type": columns["transaction__type"][i],
                "discount": None if not plan_list else Decimal(1) - plan_amount / plan_list,
                "_dotted": (dotted, i),
            }
        )
    return rows


def with_names(credits: Any, t: dict[str, Any], month: Period | None = None) -> Any:
    """Credits with the external ids people read: `transaction__id`, `original` (the original's id for a
    return) and `payee__id`. The credit tables carry only internal ids; names are joined where credits are
    shown (the stored month, per-transaction rules), not for every credit of the year. Credits of one
    `month` read only that month's transactions (and the originals they name)."""
    tx = t["transactions"]
    if "transaction__id" not in credits.columns:
        dated = tx if month is None else tx.filter(tx.date >= month.start, tx.date < month.end)
        names = dated.select(n_tx=dated.id, transaction__id=dated.external_id, n_original=dated.original_id)
        credits = credits.left_join(names, credits.transaction_id == names.n_tx).drop("n_tx")
        named = tx if month is None else tx.filter(tx.id.isin(dated.original_id))
        originals = named.select(n_o=named.id, original=named.external_id)
        credits = credits.left_join(originals, credits.n_original == originals.n_o).drop("n_o", "n_original")
    if "payee__id" not in credits.columns:
        payees = t["payees"]
        names = payees.select(n_payee=payees.id, payee__id=payees.external_id)
        credits = credits.left_join(names, credits.payee_id == names.n_payee).drop("n_payee")
    return credits


class EngineCredits:
    """A plan's credits held by the engine, read back per flag on first use (the `CreditRows` of incent).

    One query per flag fetches the flagged credits of the run's months; rules then read them by payee and
    month in Python. Plans without per-transaction rules never fetch a credit.
    """

    def __init__(self, con: Any, credits: Any | None, t: dict[str, Any]) -> None:
        self.con, self.credits, self.t = con, credits, t
        self._by_flag: dict[str, dict[int, dict[str, list[dict[str, Any]]]]] = {}

    def rows(self, flag: str, payee_id: int, months: set[str]) -> list[dict[str, Any]]:
        if self.credits is None:
            return []
        found = self._by_flag.get(flag)
        if found is None:
            found = self._by_flag[flag] = self._fetch(flag)
        by_month = found.get(payee_id, {})
        return [row for month in sorted(months) for row in by_month.get(month, [])]

    def _fetch(self, flag: str) -> dict[int, dict[str, list[dict[str, Any]]]]:
        t = self.credits
        assert t is not None
        flagged = with_names(t.filter(t[flag]), self.t)
        table = fetch(self.con, flagged.order_by(["payee_id", "date", "transaction_id", "role", "level"]))
        grouped: dict[int, dict[str, list[dict[str, Any]]]] = {}
        for row in _credit_rows(table):
            grouped.setdefault(row["payee_id"], {}).setdefault(row["month"], []).append(row)
        return grouped


def payees_on_plan(inputs: Inputs, plan: PlanInForce, ctx: RunContext) -> list[PayeeFacts]:
    """Payees assigned to the plan at any time in the paid month, with their parameters."""
    assignments = inputs.get("plan_assignments")
    assignments = assignments.filter(pc.equal(assignments["plan"], plan.plan_id))
    month = ctx.period
    chosen: dict[int, dict[str, Any]] = {}
    for a in assignments.to_pylist():
        start, end = a["effective_from"], a["effective_to"]
        if start < month.end and (end is None or end > month.start):
            chosen[a["payee_id"]] = a
    columns = inputs.get("payees").to_pydict()  # a row dict only for the payees on the plan
    row_of = {payee_id: i for i, payee_id in enumerate(columns["id"])}
    payees = {payee_id: {k: v[row_of[payee_id]] for k, v in columns.items()} for payee_id in chosen}
    facts = []
    for payee_id, a in sorted(chosen.items(), key=lambda item: payees[item[0]]["external_id"]):
        p = payees[payee_id]
        attributes = {f"payee.{k}": v for k, v in p.items() if k in ("region", "role", "seniority", "name")}
        attributes["payee.id"] = p["external_id"]
        attributes.update({f"payee.attributes.{k[5:]}": v for k, v in p.items() if k.startswith("attr_")})
        facts.append(
            PayeeFacts(
                id=payee_id,
                external_id=p["external_id"],
                hire_date=p["hire_date"],
                termination_date=p["termination_date"],
                attributes=attributes,
                target_incentive=a["target_incentive"],
                parameters=parameters_of(a["parameters"]),
                assigned_from=a["effective_from"],
                assigned_to=a["effective_to"],
            )
        )
    return facts


def quotas_of(inputs: Inputs) -> dict[tuple[int, str, str], Decimal]:
    """(payee, measure, period name) → quota amount."""
    q = inputs.get("quotas").select(["payee_id", "measure", "period", "amount"]).to_pydict()
    return dict(zip(zip(q["payee_id"], q["measure"], q["period"], strict=True), q["amount"], strict=True))


INPUT_TABLES = (
    "transactions", "products", "accounts", "payees", "splits", "account_assignments", "account_territories",
    "territory_assignments", "reporting_lines", "fx_rates", "plan_assignments",
)  # fmt: skip


def _report_missing_fx(ctx: RunContext, plan: PlanInForce, lacking: Any, t: dict[str, Any]) -> None:
    """An issue for each line without an FX rate (`lacking`: their ids). The lines carry ids only; the few
    lacking a rate get their external id and currency from the transactions (not read at all when every line
    has a rate)."""
    lacking = fetch(ctx.con, lacking)
    if not lacking.num_rows:
        return
    tx = t["transactions"]
    named = tx.filter(tx.id.isin(lacking["id"].to_pylist()))
    missing = fetch(ctx.con, named.select("external_id", "currency", "date").order_by(["date", "external_id"]))
    for tx, currency, day in zip(*(missing[c].to_pylist() for c in ("external_id", "currency", "date")), strict=True):
        ctx.issue(
            "classify", tx, f"no FX rate from {currency} to {plan.document.currency} on or before {day}; not credited"
        )


def line_readers(plan: PlanDocument) -> int:
    """How many queries of crediting read the classified lines: one per direct source, one for overlay split
    roles, one per overlay."""
    rules = plan.crediting
    sources = rules.direct.sources
    overlay_splits = bool(rules.direct.overlay_roles) and CreditSource.SPLITS in sources
    return len(sources) + int(overlay_splits) + len(rules.overlays)


def _report_bad_splits(ctx: RunContext, t: dict[str, Any], bad_splits: Any) -> None:
    tx = t["transactions"]
    named = bad_splits.left_join(tx.select(tx_id=tx.id, tx_name=tx.external_id), bad_splits.transaction_id == tx.id)
    for r in fetch(ctx.con, named.order_by(["transaction_id", "role"])).to_pylist():
        ctx.issue(
            "credit",
            r["tx_name"] or str(r["transaction_id"]),
            f"splits for role {r['role']} sum to {r['total'].normalize():f}, not 1 (100%); "
            + ("the transaction is not credited" if r["blocked"] else "ignored: a source that comes first credits it"),
        )


def _stored_credits(con: Any, credits: Any, t: dict[str, Any], month: Period) -> pa.Table:
    """The paid month's credits in the columns the store keeps (`STORED_CREDIT_COLUMNS`), plus `measures`:
    the names of the measures each counts toward, comma-separated."""
    mine = with_names(credits.filter(credits.month == month.name), t, month)
    flags = [c for c in mine.columns if c.startswith("in__")]
    view = mine.select(
        **{name: mine[column] for name, column in STORED_CREDIT_COLUMNS.items()}, **{f: mine[f] for f in flags}
    ).order_by(["payee", "transaction", "role", "level"])
    # Streamed: each batch loses its flags for the `measures` column as it arrives, so neither a second copy
    # of the month's credits nor a column per flag for all of them is ever held.
    parts = [_with_measures(part, flags) for part in fetch_batches(con, view)]
    schema = parts[0].schema if parts else _with_measures(fetch(con, view.limit(0)), flags).schema
    return pa.concat_tables(parts) if parts else schema.empty_table()


def _with_measures(table: pa.Table, flags: list[str]) -> pa.Table:
    """Credits with their `in__<measure>` flags replaced by `measures`: the names of the measures each counts
    toward, comma-separated (null when none)."""
    names = [pc.if_else(table[f], pa.scalar(f[4:]), pa.scalar(None, pa.string())) for f in flags]
    if not names:
        joined = pa.nulls(table.num_rows, pa.string())
    elif len(names) == 1:
        joined = names[0]
    else:
        joined = pc.binary_join_element_wise(*names, pa.scalar(","), null_handling="skip")
    return table.drop_columns(flags).append_column("measures", joined)


def plan_credits(ctx: RunContext, plan: PlanInForce, t: dict[str, Any], hold: bool = True) -> Any | None:
    """classify → credit → flags: the plan's credits as an expression (None when no source credits anyone),
    with the measure and component flags and only the columns the plan reads. Reports missing FX rates and
    bad splits as issues. `hold` materialises the classified lines and the credit levels on the engine
    (a full run); incremental recompute passes False and compiles the whole into one query."""
    attributes = attributes_used(plan.document)
    extras = extras_used(plan.document)
    wanted = frozenset(name.replace(".", "__") for name in names_used(plan.document))
    classified = classify(ctx, plan, t, attributes, with_list_amount="list_amount" in extras)
    if hold and line_readers(plan.document) > 1:
        # Held when crediting reads the lines more than once: the columns crediting reads, not the external id
        # and currency (two strings per line, a fifth of the table) that only the report of lines without an
        # FX rate needs, nor the source amount and the dearer extras the plan does not read.
        keep = LINE_COLUMNS | wanted | {EXTRA_LINE_COLUMNS[e] for e in extras} | {"fx_rate"}
        classified = materialize(ctx.con, classified.select(*[c for c in classified.columns if c in keep]))
        _report_missing_fx(ctx, plan, classified.filter(classified.fx_rate.isnull()).select("id"), t)
    elif hold:
        # Read once (by the direct credits, which are held): holding the lines as well would write and read
        # every line once more; the lines lacking a rate are found from the window, months and rates alone.
        _report_missing_fx(ctx, plan, lines_without_rate(ctx, plan, t), t)
    credits, bad_splits = credit(ctx, plan, t, classified, attributes, extras, wanted, hold=hold)
    if hold:
        _report_bad_splits(ctx, t, bad_splits)
    if credits is None:
        return None
    excluded = clawed_back(credits) if plan.document.pay and plan.document.pay.clawback else None
    credits = flag_components(flag_measures(credits, plan.document.measures, excluded), plan.document, excluded)
    return credits.select(*credit_columns(credits, plan.document))


def run_plan(
    ctx: RunContext,
    plan: PlanInForce,
    inputs: Inputs,
    results: Results,
    on_credits: Callable[[pa.Table], None] | None = None,
) -> None:
    """classify → credit → measure → incent for one plan; appends to `results` (and hands the paid month's
    credits to `on_credits` as soon as they are fetched).

    The credits stay on the engine (materialised once); measures come back as one payee × month table, and
    only the per-transaction rules read credit rows (see `EngineCredits`).
    """
    clock = time.perf_counter()
    con = ctx.con
    t = {name: source(con, name, inputs.source(name)) for name in INPUT_TABLES}
    held = plan_credits(ctx, plan, t)  # direct credits and roll-up levels are held; the rest streams
    if held is not None:
        month_credits = _stored_credits(con, held, t, ctx.period)
        results.add_credits(month_credits)
        if on_credits is not None:
            on_credits(month_credits)
    results.timings[f"{plan.plan_id}: classify+credit"] = time.perf_counter() - clock
    clock = time.perf_counter()
    values: MeasureValues = measure(ctx, plan, held)
    results.timings[f"{plan.plan_id}: measure"] = time.perf_counter() - clock
    clock = time.perf_counter()
    with paused_gc():  # earnings, traces and measure rows: many small objects, none in a reference cycle
        payees = payees_on_plan(inputs, plan, ctx)
        data = PlanData(payees=payees, quotas=quotas_of(inputs), credits=EngineCredits(con, held, t))
        results.earnings.extend(incent(ctx, plan, values, data))
        _collect_measures(ctx, plan, payees, values, results)
    results.timings[f"{plan.plan_id}: incent"] = time.perf_counter() - clock


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause Python's cycle collector, then restore it: incent makes hundreds of thousands of small acyclic
    objects (decimals, trace dicts, measure rows), and the collector rescanning every live object as they
    pile up cost a third of the stage."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _collect_measures(
    ctx: RunContext, plan: PlanInForce, payees: list[PayeeFacts], values: MeasureValues, results: Results
) -> None:
    """The paid month's, quarter's and year's measure values, and the monthly values of the window."""
    periods = _measured_periods(ctx, plan.document)
    plan_id, paid, value = plan.plan_id, ctx.period, values.value
    results.measures.extend(
        {
            "plan": plan_id,
            "payee_id": payee.id,
            "payee": payee.external_id,
            "period": period.name,
            "measure": name,
            "value": value(name, payee.id, period, paid),
        }
        for payee in payees
        for name in values.measures
        for period in periods
    )
    external = {p.id: p.external_id for p in payees}
    window = {m.name for m in ctx.months_to_date()}  # originals of returns may fall before it
    version, no_counts = plan.version, dict[str, int]()
    for (name, payee_id), months in values.by_month.items():
        counts = values.counts.get((name, payee_id), no_counts)
        payee = external.get(payee_id)
        results.monthly.extend(
            {
                "plan": plan_id,
                "version": version,
                "payee_id": payee_id,
                "payee": payee,
                "month": month,
                "measure": name,
                "value": amount,
                "credits": counts.get(month, 0),
            }
            for month, amount in months.items()
            if month in window
        )


def _measured_periods(ctx: RunContext, plan: PlanDocument) -> list[Any]:
    kinds = {c.period.value for c in plan.components} | {"month"}
    found = []
    for kind in ("month", "quarter", "year"):
        if kind in kinds:
            found.append(ctx.containing(ctx.period.start, _period_kind(kind)))
    return found


def _period_kind(value: str) -> PeriodKind:
    return PeriodKind(value)


def run_pipeline(
    ctx: RunContext,
    inputs: Inputs,
    on_stage: Callable[[str], None] | None = None,
    on_credits: Callable[[pa.Table], None] | None = None,
) -> Results:
    """Every plan in force for the run's month; `on_stage(text)` hears which plan is being computed, and
    `on_credits(table)` gets each plan's paid-month credits as soon as they are known (before its measures
    and earnings), so a caller can start storing them meanwhile."""
    results = Results()
    for plan in ctx.plans:
        if on_stage is not None:
            on_stage(f"{plan.plan_id}: classify → credit → measure → incent")
        run_plan(ctx, plan, inputs, results, on_credits)
    return results
