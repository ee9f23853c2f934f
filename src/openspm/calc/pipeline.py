"""The calculation pipeline: classify → credit → measure → incent, per plan.

Input: a `RunContext` (the month to pay, calendar, plans) and `Inputs` (Arrow
tables). Output: `Results` — credits, measure values and earnings with their
trace, and the issues found — ready for the runs service to store. The `pay`
stage (draws, holds, clawbacks) will take `Results.earnings` next.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa

from openspm.calc.context import PlanInForce, RunContext
from openspm.calc.inputs import ATTRIBUTE_TABLES, Inputs
from openspm.calc.stages.classify import classify
from openspm.calc.stages.credit import credit
from openspm.calc.stages.incent import Earning, PayeeFacts, PlanData, incent, parameters_of
from openspm.calc.stages.measure import MeasureValues, flag_measures, measure
from openspm.plan.expr import parse
from openspm.plan.load import plan_expressions
from openspm.plan.models import PlanDocument


@dataclass
class Results:
    """Everything a run produced."""

    credits: list[dict[str, Any]] = field(default_factory=list)
    measures: list[dict[str, Any]] = field(default_factory=list)
    earnings: list[Earning] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def attributes_used(plan: PlanDocument) -> dict[str, list[str]]:
    """Free attributes a plan's expressions read: {"transaction": ["channel"], ...}."""
    found: dict[str, set[str]] = {}
    for _key, _context, text in plan_expressions(plan):
        for name in parse(text).names():
            parts = name.split(".")
            if len(parts) == 3 and parts[1] == "attributes" and parts[0] in ATTRIBUTE_TABLES:
                found.setdefault(parts[0], set()).add(parts[2])
    return {k: sorted(v) for k, v in found.items()}


CREDIT_COLUMNS = (
    "plan",
    "transaction_id",
    "transaction__id",
    "original",
    "date",
    "month",
    "payee_id",
    "payee__id",
    "role",
    "role_class",
    "source",
    "level",
    "share",
    "amount",
    "credit_quantity",
    "credit_list_amount",
    "currency",
    "transaction__type",
    "plan_amount",
    "plan_list_amount",
)


def names_used(plan: PlanDocument) -> set[str]:
    """Every dotted name a plan's expressions read (product.family, transaction.attributes.channel, ...)."""
    return {name for _key, _context, text in plan_expressions(plan) for name in parse(text).names()}


def credit_columns(credits: Any, plan: PlanDocument) -> list[str]:
    """The credit columns a run needs back from the engine: the fixed ones, the measure flags, and only the
    attribute columns the plan's expressions read (fetching every attribute of every credit costs gigabytes)."""
    wanted = {name.replace(".", "__") for name in names_used(plan)}
    return [c for c in credits.columns if c in CREDIT_COLUMNS or c.startswith("in__") or c in wanted]


def _credit_rows(table: pa.Table) -> list[dict[str, Any]]:
    """Credit rows as dicts for the per-transaction rules and the trace.

    `env` (the credit's expression names, for filters evaluated in Python) is built
    only when a rule asks for it, through `credit_env`.
    """
    needed = (
        "transaction_id", "transaction__id", "original", "date", "month", "payee_id", "payee__id", "role",
        "role_class", "source", "level", "share", "amount", "credit_quantity", "credit_list_amount", "currency",
        "transaction__type", "plan_amount", "plan_list_amount",
    )  # fmt: skip
    flags = [name for name in table.column_names if name.startswith("in__")]
    columns = {name: table[name].to_pylist() for name in (*needed, *flags)}
    flag_sets = (
        [
            frozenset(f[4:] for f, on in zip(flags, values, strict=True) if on)
            for values in zip(*(columns[f] for f in flags), strict=True)
        ]
        if flags
        else None
    )
    dotted = table.select([n for n in table.column_names if "__" in n and n not in flags])
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
                "measures": flag_sets[i] if flag_sets is not None else frozenset(),
                "_dotted": (dotted, i),
            }
        )
    return rows


def _payees(inputs: Inputs, plan: PlanInForce, ctx: RunContext) -> list[PayeeFacts]:
    """Payees assigned to the plan at any time in the paid month, with their parameters."""
    assignments = inputs.get("plan_assignments").to_pylist()
    payees = {p["id"]: p for p in inputs.get("payees").to_pylist()}
    month = ctx.period
    chosen: dict[int, dict[str, Any]] = {}
    for a in assignments:
        if a["plan"] != plan.plan_id:
            continue
        start, end = a["effective_from"], a["effective_to"]
        if start < month.end and (end is None or end > month.start):
            chosen[a["payee_id"]] = a
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


def _quotas(inputs: Inputs) -> dict[tuple[int, str, str], Decimal]:
    return {(q["payee_id"], q["measure"], q["period"]): q["amount"] for q in inputs.get("quotas").to_pylist()}


def run_plan(ctx: RunContext, plan: PlanInForce, inputs: Inputs, results: Results) -> None:
    """classify → credit → measure → incent for one plan; appends to `results`."""
    clock = time.perf_counter()
    attributes = attributes_used(plan.document)
    t = {
        name: ibis.memtable(inputs.get(name))
        for name in (
            "transactions",
            "products",
            "accounts",
            "payees",
            "splits",
            "account_assignments",
            "account_territories",
            "territory_assignments",
            "reporting_lines",
            "fx_rates",
            "plan_assignments",
        )
    }
    classified = classify(ctx, plan, t, attributes)
    missing = classified.filter(classified.fx_rate.isnull()).select("external_id", "currency", "date").to_pyarrow()
    for tx, currency, day in zip(*(missing[c].to_pylist() for c in ("external_id", "currency", "date")), strict=True):
        ctx.issue(
            "classify", tx, f"no FX rate from {currency} to {plan.document.currency} on or before {day}; not credited"
        )
    credits, bad_splits = credit(ctx, plan, t, classified, attributes)
    bad = bad_splits.to_pyarrow().to_pylist()
    if bad:
        ids = {r["transaction_id"] for r in bad}
        names = dict(
            zip(
                inputs.get("transactions")["id"].to_pylist(),
                inputs.get("transactions")["external_id"].to_pylist(),
                strict=True,
            )
        )
        for r in bad:
            ctx.issue(
                "credit",
                names.get(r["transaction_id"], str(r["transaction_id"])),
                f"splits for role {r['role']} sum to {r['total'].normalize():f}, not 1 (100%); "
                + (
                    "the transaction is not credited"
                    if r["blocked"]
                    else "ignored: a source that comes first credits it"
                ),
            )
        del ids
    results.timings[f"{plan.plan_id}: classify+credit"] = time.perf_counter() - clock
    clock = time.perf_counter()
    if credits is not None:
        credits = flag_measures(credits, plan.document.measures)
        credits = credits.select(*credit_columns(credits, plan.document))
    credit_table: pa.Table | None = credits.to_pyarrow() if credits is not None else None
    results.timings[f"{plan.plan_id}: classify+credit"] += time.perf_counter() - clock
    clock = time.perf_counter()
    materialized = ibis.memtable(credit_table) if credit_table is not None else None
    values: MeasureValues = measure(ctx, plan, materialized)
    rows = _credit_rows(credit_table) if credit_table is not None else []
    results.credits.extend(
        {k: v for k, v in r.items() if k not in ("env", "_dotted", "measures")} | {"plan": plan.plan_id} for r in rows
    )
    results.timings[f"{plan.plan_id}: measure"] = time.perf_counter() - clock
    clock = time.perf_counter()
    payees = _payees(inputs, plan, ctx)
    data = PlanData(payees=payees, quotas=_quotas(inputs), credits=rows)
    earnings = incent(ctx, plan, values, data)
    results.earnings.extend(earnings)
    for payee in payees:
        for name in values.measures:
            for period in _measured_periods(ctx, plan.document):
                results.measures.append(
                    {
                        "plan": plan.plan_id,
                        "payee_id": payee.id,
                        "payee": payee.external_id,
                        "period": period.name,
                        "measure": name,
                        "value": values.value(name, payee.id, period, ctx.period),
                    }
                )
    results.timings[f"{plan.plan_id}: incent"] = time.perf_counter() - clock


def _measured_periods(ctx: RunContext, plan: PlanDocument) -> list[Any]:
    kinds = {c.period.value for c in plan.components} | {"month"}
    found = []
    for kind in ("month", "quarter", "year"):
        if kind in kinds:
            found.append(ctx.containing(ctx.period.start, _period_kind(kind)))
    return found


def _period_kind(value: str) -> Any:
    from openspm.core.period import PeriodKind

    return PeriodKind(value)


def run_pipeline(ctx: RunContext, inputs: Inputs, on_stage: Callable[[str], None] | None = None) -> Results:
    """Every plan in force for the run's month; `on_stage(text)` hears which plan is being computed."""
    results = Results()
    for plan in ctx.plans:
        if on_stage is not None:
            on_stage(f"{plan.plan_id}: classify → credit → measure → incent")
        run_plan(ctx, plan, inputs, results)
    return results
