"""Connected evaluation of quota drafts: what a draft would have cost on a year's real deals, beside the quotas
as they stand, computed by the same engine that pays.

Pipeline of `evaluate_quota_drafts`: choose the basis (a fiscal year with transactions, by default the year before
the drafts'; a draft's quarters map onto the basis year's quarters by position) → replay each month of the basis
through `runs.service.compute` twice or more: once on the store as it is (the baseline) and once per draft with the
draft's quotas substituted the way `publish` would write them (each of its quarters and the year, per payee; every
other quota row unchanged) → summarise per scenario: compensation cost per currency (Σ the months' earnings of the
draft's plan), revenue (Σ the plan's measure), cost of sales, the year-attainment distribution and each payee's cost
change. Nothing is stored by the replay; `save_evaluation` keeps a draft's latest evaluation in its proposal.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.calc import inputs as inp
from openspm.core.dates import utc_now
from openspm.core.errors import InvalidInput, NotFound
from openspm.core.period import PeriodKind
from openspm.planning.quotas import QuotaDraft, _json, _quotas, _scenario, quota_draft
from openspm.runs.service import calendar_periods, compute
from openspm.store import models as m
from openspm.store.audit import audit

OnMonth = Callable[[int, int, str], None]  # (months done, months in all, what is being done)
TOP = 10


@dataclass(frozen=True)
class Attainment:
    """Year attainment (the year's measure over the annual quota) of the payees with a quota."""

    payees: int
    mean: float | None
    p10: float | None
    p50: float | None
    p90: float | None
    at_or_above_quota: float | None  # share of payees with attainment ≥ 1
    below_half: int  # payees under half their quota


@dataclass(frozen=True)
class Figures:
    """One scenario's column: what the basis months cost under its quotas."""

    scenario: str  # "baseline" or the draft's "#id name"
    quota: Decimal  # Σ annual quota of the draft's payees
    cost: dict[str, Decimal]  # currency → Σ earnings
    revenue: Decimal  # Σ the plan's measure over the draft's payees
    cost_of_sales: float | None  # cost in the plan currency / revenue
    attainment: Attainment
    per_payee: dict[str, Decimal] = field(repr=False)  # payee → cost (plan currency)
    attainments: dict[str, float] = field(default_factory=dict, repr=False)  # payee with a quota → attainment


@dataclass(frozen=True)
class PayeeChange:
    payee: str
    name: str
    baseline: Decimal
    draft: Decimal
    change: Decimal


@dataclass(frozen=True)
class Evaluation:
    """Drafts beside the baseline on the same basis months."""

    plan: str
    measure: str
    currency: str
    basis: str  # e.g. FY2025
    months: list[str]
    quarters: dict[str, str]  # draft quarter → basis quarter
    baseline: Figures
    drafts: dict[int, Figures]
    gains: dict[int, list[PayeeChange]]  # per draft, the top payees whose cost rises
    losses: dict[int, list[PayeeChange]]


# --- the basis ------------------------------------------------------------------------------------------------


def _basis(session: Session, draft: QuotaDraft, basis_year: str | None, months: list[str] | None) -> Any:
    """The basis year's name, its months to replay and the draft-quarter → basis-quarter map."""
    periods = calendar_periods(session)
    years = {p.name: p for p in periods if p.kind is PeriodKind.YEAR}
    if draft.year not in years:
        raise NotFound(f"unknown year {draft.year!r}")
    name = basis_year or f"FY{years[draft.year].fiscal_year - 1}"
    year = years.get(name)
    if year is None:
        raise NotFound(f"unknown basis year {name!r}; use a fiscal year of the calendar, e.g. {draft.year}")

    def of(kind: PeriodKind, fiscal_year: int) -> list[Any]:
        return sorted((p for p in periods if p.kind is kind and p.fiscal_year == fiscal_year), key=lambda p: p.start)

    basis_months = of(PeriodKind.MONTH, year.fiscal_year)
    last = session.scalar(
        select(func.max(m.Transaction.date)).where(m.Transaction.date >= year.start, m.Transaction.date < year.end)
    )
    if last is None:
        raise InvalidInput(f"no transactions in {name} to evaluate on; pick a basis year with deals (--basis)")
    last_day = last if isinstance(last, date) else date.fromisoformat(str(last))
    chosen = [p.name for p in basis_months if p.start <= last_day]
    if months:
        unknown = [x for x in months if x not in {p.name for p in basis_months}]
        if unknown:
            raise InvalidInput(f"{unknown[0]!r} is not a month of {name}")
        chosen = [p.name for p in basis_months if p.name in set(months)]
    draft_quarters = [q.name for q in of(PeriodKind.QUARTER, years[draft.year].fiscal_year)]
    basis_quarters = [q.name for q in of(PeriodKind.QUARTER, year.fiscal_year)]
    return name, chosen, dict(zip(draft_quarters, basis_quarters, strict=False))


def _substituted(draft: QuotaDraft, measure: str, basis: str, quarters: dict[str, str]) -> Any:
    """An `adjust` for `compute`: the draft's quotas in the inputs, as `publish` would write them for the basis."""
    wanted: dict[str, dict[str, Decimal]] = {}
    for line in draft.lines:
        amounts = {quarters[q]: a for q, a in line.quarters.items() if q in quarters}
        if amounts:
            wanted[line.payee] = {**amounts, basis: sum(line.quarters.values(), Decimal(0))}

    def adjust(inputs: inp.Inputs) -> inp.Inputs:
        payees = inputs.get("payees")
        ids = dict(zip(payees["external_id"].to_pylist(), payees["id"].to_pylist(), strict=True))
        new = {ids[p]: amounts for p, amounts in wanted.items() if p in ids}
        rows = inputs.get("quotas").to_pylist()
        kept = [r for r in rows if not (r["measure"] == measure and r["period"] in new.get(r["payee_id"], {}))]
        added = [
            {"payee_id": pid, "measure": measure, "period": period, "amount": amount}
            for pid, amounts in new.items()
            for period, amount in amounts.items()
        ]
        every = kept + added
        table = inp.table("quotas", {c: [r[c] for r in every] for c, _ in inp.SCHEMAS["quotas"]})
        return inp.Inputs({**inputs.tables, "quotas": table})

    return adjust


# --- replay and summary -------------------------------------------------------------------------------------


@dataclass
class _Tally:
    cost: dict[str, Decimal] = field(default_factory=dict)
    per_payee: dict[str, Decimal] = field(default_factory=dict)
    measure: dict[str, Decimal] = field(default_factory=dict)

    def add(self, results: Any, month: str, plan: str, measure: str, payees: set[str]) -> None:
        for e in results.earnings:
            if e.plan == plan and e.payee in payees:
                self.cost[e.currency] = self.cost.get(e.currency, Decimal(0)) + e.amount
                self.per_payee[e.payee] = self.per_payee.get(e.payee, Decimal(0)) + e.amount
        for x in results.monthly:
            if x["plan"] == plan and x["measure"] == measure and x["month"] == month and x["payee"] in payees:
                self.measure[x["payee"]] = self.measure.get(x["payee"], Decimal(0)) + Decimal(str(x["value"]))


def _attainments(measure: dict[str, Decimal], quotas: dict[str, Decimal]) -> dict[str, float]:
    """Each payee with a positive quota → the year's measure over it."""
    return {p: float(measure.get(p, Decimal(0)) / q) for p, q in sorted(quotas.items()) if q > 0}


def _attainment(measure: dict[str, Decimal], quotas: dict[str, Decimal]) -> Attainment:
    values = list(_attainments(measure, quotas).values())
    if not values:
        return Attainment(0, None, None, None, None, None, 0)
    cuts = statistics.quantiles(values, n=10, method="inclusive") if len(values) > 1 else [values[0]] * 9
    return Attainment(
        payees=len(values),
        mean=statistics.fmean(values),
        p10=cuts[0],
        p50=statistics.median(values),
        p90=cuts[-1],
        at_or_above_quota=sum(1 for v in values if v >= 1) / len(values),
        below_half=sum(1 for v in values if v < 0.5),
    )


def _figures(label: str, tally: _Tally, quotas: dict[str, Decimal], currency: str) -> Figures:
    revenue = sum(tally.measure.values(), Decimal(0))
    cost = tally.cost.get(currency, Decimal(0))
    return Figures(
        scenario=label,
        quota=sum(quotas.values(), Decimal(0)),
        cost=dict(sorted(tally.cost.items())),
        revenue=revenue,
        cost_of_sales=float(cost / revenue) if revenue else None,
        attainment=_attainment(tally.measure, quotas),
        per_payee=tally.per_payee,
        attainments=_attainments(tally.measure, quotas),
    )


def _changes(names: dict[str, str], baseline: Figures, draft: Figures) -> tuple[list[PayeeChange], list[PayeeChange]]:
    rows = [
        PayeeChange(p, names.get(p, p), baseline.per_payee.get(p, Decimal(0)), draft.per_payee.get(p, Decimal(0)),
                    draft.per_payee.get(p, Decimal(0)) - baseline.per_payee.get(p, Decimal(0)))
        for p in sorted(set(baseline.per_payee) | set(draft.per_payee))
    ]  # fmt: skip
    gains = sorted((r for r in rows if r.change > 0), key=lambda r: (-r.change, r.payee))[:TOP]
    losses = sorted((r for r in rows if r.change < 0), key=lambda r: (r.change, r.payee))[:TOP]
    return gains, losses


def evaluate_quota_drafts(
    engine: Engine,
    scenario_ids: list[int],
    basis_year: str | None = None,
    months: list[str] | None = None,
    on_month: OnMonth | None = None,
) -> Evaluation:
    """Replay the basis months through the engine for the store's quotas and for each draft (one plan and
    measure for all), and summarise each beside the baseline (see the module docstring). Reads only."""
    if not scenario_ids:
        raise InvalidInput("name at least one quota draft to evaluate")
    drafts = [quota_draft(engine, i) for i in dict.fromkeys(scenario_ids)]
    with Session(engine) as session:
        rows = {d.id: _scenario(session, d.id) for d in drafts}
        plans = {(r.params["plan"], r.params["measure"]) for r in rows.values()}
        if len(plans) > 1:
            raise InvalidInput("drafts evaluated side by side must be for one plan and measure")
        plan, measure = plans.pop()
        years = {d.year for d in drafts}
        if len(years) > 1 and basis_year is None:
            raise InvalidInput("drafts for different years: say which basis year to evaluate on (--basis)")
        basis, chosen, quarters = _basis(session, drafts[0], basis_year, months)
        if not chosen:
            raise InvalidInput(f"no month of {basis} to evaluate on")
        currency = session.scalars(select(m.Plan.currency).where(m.Plan.external_id == plan)).first() or ""
        year = session.scalars(select(m.Period).where(m.Period.name == basis, m.Period.kind == "year")).one()
        basis_quarters = list(
            session.scalars(
                select(m.Period).where(m.Period.kind == "quarter", m.Period.fiscal_year == year.fiscal_year)
            )
        )
        everyone = sorted({line.payee for d in drafts for line in d.lines})
        payee_rows = {
            p.external_id: p for p in session.scalars(select(m.Payee).where(m.Payee.external_id.in_(everyone)))
        }
        stored = _quotas(session, measure, [p.id for p in payee_rows.values()], year, basis_quarters)
        baseline_quotas = {x: stored[p.id] for x, p in payee_rows.items() if p.id in stored}
        names = {x: p.name for x, p in payee_rows.items()}
        adjusters = {d.id: _substituted(d, measure, basis, quarters) for d in drafts}
        payees = set(everyone)
        baseline, tallies = _Tally(), {d.id: _Tally() for d in drafts}
        steps = len(chosen) * (1 + len(drafts))
        done = 0
        for month in chosen:
            if on_month is not None:
                on_month(done, steps, f"{month}: the quotas as they stand")
            _ctx, results, _counts = compute(session, month)
            baseline.add(results, month, plan, measure, payees)
            done += 1
            for d in drafts:
                if on_month is not None:
                    on_month(done, steps, f"{month}: draft {d.id}")
                _ctx, results, _counts = compute(session, month, adjust=adjusters[d.id])
                tallies[d.id].add(results, month, plan, measure, payees)
                done += 1
        if on_month is not None:
            on_month(done, steps, "done")
    baseline_figures = _figures("baseline", baseline, baseline_quotas, currency)
    figures: dict[int, Figures] = {}
    gains: dict[int, list[PayeeChange]] = {}
    losses: dict[int, list[PayeeChange]] = {}
    for d in drafts:
        annual = {x.payee: sum(x.quarters.values(), Decimal(0)) for x in d.lines if x.quarters}
        figures[d.id] = _figures(f"#{d.id} {d.name}", tallies[d.id], annual, currency)
        gains[d.id], losses[d.id] = _changes(names, baseline_figures, figures[d.id])
    return Evaluation(plan, measure, currency, basis, chosen, quarters, baseline_figures, figures, gains, losses)


def evaluate_quota_draft(
    engine: Engine,
    scenario_id: int,
    basis_year: str | None = None,
    months: list[str] | None = None,
    on_month: OnMonth | None = None,
) -> Evaluation:
    """One draft beside the baseline (`evaluate_quota_drafts` for one id)."""
    return evaluate_quota_drafts(engine, [scenario_id], basis_year, months, on_month)


def check_quota_evaluation(engine: Engine, scenario_id: int, basis_year: str | None = None) -> tuple[str, list[str]]:
    """The basis year and months an evaluation of the draft would replay, without replaying them: NotFound for
    an unknown draft or basis year, InvalidInput for a basis without deals (fast, before a job is queued)."""
    draft = quota_draft(engine, scenario_id)
    with Session(engine) as session:
        basis, chosen, _quarters = _basis(session, draft, basis_year, None)
    if not chosen:
        raise InvalidInput(f"no month of {basis} to evaluate on")
    return basis, chosen


# --- keeping it -----------------------------------------------------------------------------------------------


def figures_json(f: Figures) -> dict[str, Any]:
    """A column as JSON (money as exact strings, the per-payee costs left out)."""
    return {
        "scenario": f.scenario,
        "quota": _json(f.quota),
        "cost": _json(f.cost),
        "revenue": _json(f.revenue),
        "cost_of_sales": f.cost_of_sales,
        "attainment": f.attainment.__dict__.copy(),
    }


def evaluation_json(evaluation: Evaluation, scenario_id: int) -> dict[str, Any]:
    """What a draft keeps of an evaluation: its basis, the baseline and its own column, who gains and loses."""
    return {
        "plan": evaluation.plan,
        "measure": evaluation.measure,
        "currency": evaluation.currency,
        "basis": evaluation.basis,
        "months": evaluation.months,
        "quarters": evaluation.quarters,
        "baseline": figures_json(evaluation.baseline),
        "draft": figures_json(evaluation.drafts[scenario_id]),
        "gains": [_json(c.__dict__) for c in evaluation.gains[scenario_id]],
        "losses": [_json(c.__dict__) for c in evaluation.losses[scenario_id]],
    }


def save_evaluation(engine: Engine, evaluation: Evaluation, actor: str) -> None:
    """Keep each draft's part of `evaluation` as its latest, in `proposal["evaluation"]`, audited."""
    with Session(engine) as session, session.begin():
        for scenario_id in evaluation.drafts:
            row = _scenario(session, scenario_id)
            kept = evaluation_json(evaluation, scenario_id) | {
                "evaluated_by": actor,
                "evaluated_at": utc_now().isoformat(timespec="seconds"),
            }
            row.proposal = {**row.proposal, "evaluation": kept}
            audit(
                session,
                actor,
                "evaluate",
                "planning_scenarios",
                str(scenario_id),
                after={"basis": evaluation.basis, "cost": kept["draft"]["cost"]},
            )


def saved_evaluation(engine: Engine, scenario_id: int) -> dict[str, Any] | None:
    """A draft's latest kept evaluation (JSON), or None."""
    with Session(engine) as session:
        found: dict[str, Any] | None = _scenario(session, scenario_id).proposal.get("evaluation")
        return found
