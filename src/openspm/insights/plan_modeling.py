"""Plan modeling: candidate plan versions beside the version in force, on history and on simulated attainment.

`model_plan(engine, params, progress)` reads only; it returns a `PlanModel` (JSON through `model_json`).

Pipeline:

1. **Capture history**, month by month over `[from, to]`: the real pipeline stages (classify → credit → measure
   → incent, `calc.pipeline`) run for the modeled plan, once with the stored version in force (the baseline) and
   once per candidate document in its place, on the same Arrow inputs. What the engine held is kept per month and
   version (`MonthState`: run context, measure values, payees, quotas, credits on demand) with its earnings.
   The earnings equal those of `runs.service.compute(session, month, plans={plan: candidate})` for the plan
   (a test proves it).
2. **History figures** per version: total payout, the primary measure (the measure the payees carry quotas for)
   and cost of sales = payout ÷ primary measure, per-payee totals and their P10/P50/P90/P99/max, cap hits
   (earnings whose cap or deal cap cut something, from the traces) and threshold hits (gates and bonus
   conditions that held, of those evaluated); per payee the candidate's total minus the baseline's.
3. **Monte Carlo**: monthly attainment (primary measure ÷ month quota) of every payee-month with a quota is
   fitted per role (`monte_carlo.fit`, lognormal or bootstrap). Each draw gives every payee an attainment for
   every month from the first window month's fiscal-year start to the last: the primary measure becomes
   attainment × month quota, and each other measure (and SPIF counts) is scaled by the same factor as the
   primary (new ÷ historical primary; with no historical primary, the population's month ratio of the measure
   to the primary). The plan's own rules then run on that synthetic measures table through the incent stage
   (`calc.stages.incent.Evaluator`), so a draw that equals history pays exactly what history paid (tested).
   Every version sees the same draws (common random numbers), so their differences are paired.

Worked example (the AE plan's marginal tiers, quarterly quota 250,000): a draw of 1.2 in each month of a quarter
whose month quotas are 83,333.33 gives bookings 300,000 → 5,000 + 10,000 + 6,400 = 21,400 for the quarter, paid
as true-up increments month by month, exactly as the engine pays those bookings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openspm.calc.context import PlanInForce, RunContext
from openspm.calc.pipeline import (
    INPUT_TABLES,
    EngineCredits,
    attributes_used,
    payees_on_plan,
    plan_credits,
    quotas_of,
)
from openspm.calc.stages.incent import Earning, Evaluator, PayeeFacts, PlanData
from openspm.calc.stages.measure import MeasureValues, measure, spif_keys
from openspm.core.errors import InvalidInput, NotFound
from openspm.core.period import Period, PeriodKind
from openspm.engine.execute import source
from openspm.insights import monte_carlo
from openspm.plan.load import PlanError, parse_plan
from openspm.plan.models import PlanDocument, Spif
from openspm.plans import service as plans
from openspm.runs.service import calendar_periods, load_inputs, run_context

ZERO = Decimal(0)
CENT = Decimal("0.01")
MAX_DRAWS = 10_000
MAX_MONTHS = 24
Progress = Callable[[float, str], None]


# --- parameters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A candidate version: its label, where it came from and its YAML text (checked by the plan checker)."""

    label: str
    text: str
    source: str = ""

    def document(self) -> PlanDocument:
        return parse_plan(self.text, self.label)


@dataclass(frozen=True)
class ModelParams:
    plan: str
    start: str  # first month, e.g. FY2026-M01
    end: str  # last month (inclusive)
    candidates: tuple[Candidate, ...]
    draws: int = 1000
    seed: int = 7
    method: str = "lognormal"


def stored_candidate(engine: Engine, plan: str, version: int) -> Candidate:
    """A stored version of the plan as a candidate."""
    found = plans.plan_version(engine, plan, version)
    return Candidate(f"version {version}", found.document or "", f"stored version {version}")


def check_params(params: ModelParams) -> None:
    """InvalidInput (422) for parameters no model could use; the candidates checked like `openspm plan check`."""
    if not params.candidates:
        raise InvalidInput("give at least one candidate version (a stored version or plan YAML)")
    if not 0 <= params.draws <= MAX_DRAWS:
        raise InvalidInput(f"draws {params.draws}: give 0 (history only) to {MAX_DRAWS}")
    if params.method not in monte_carlo.METHODS:
        raise InvalidInput(f"method {params.method!r}: choose {' or '.join(monte_carlo.METHODS)}")
    labels = [c.label for c in params.candidates]
    if len(set(labels)) != len(labels) or "baseline" in labels:
        raise InvalidInput("candidate labels must differ from each other and from 'baseline'")
    for c in params.candidates:
        try:
            document = c.document()
        except PlanError as exc:
            raise InvalidInput(str(exc)) from None
        if document.plan != params.plan:
            raise InvalidInput(f"{c.label}: the document is plan {document.plan!r}, not {params.plan!r}")


def window(session: Session, start: str, end: str) -> list[Period]:
    """The calendar's months from `start` to `end`, both included."""
    months = sorted((p for p in calendar_periods(session) if p.kind is PeriodKind.MONTH), key=lambda p: p.start)
    names = [p.name for p in months]
    for name in (start, end):
        if name not in names:
            hint = f"{names[0]} .. {names[-1]}" if names else "none"
            raise NotFound(f"unknown month {name!r}; the calendar's months are {hint}")
    chosen = months[names.index(start) : names.index(end) + 1]
    if not chosen:
        raise InvalidInput(f"{start} comes after {end}")
    if len(chosen) > MAX_MONTHS:
        raise InvalidInput(f"{len(chosen)} months: model up to {MAX_MONTHS} at a time")
    return chosen


# --- capturing history -------------------------------------------------------------------------


@dataclass
class PlanState:
    """What the engine held for one plan version in force in one month (a month can hold two versions)."""

    plan: PlanInForce
    values: MeasureValues
    data: PlanData


@dataclass
class MonthState:
    """One month of one version: its run context, the plan states and the earnings the engine paid."""

    ctx: RunContext
    parts: list[PlanState]
    earnings: list[Earning]


def capture_month(session: Session, month: str, plan_id: str, documents: list[PlanDocument | None]) -> list[MonthState]:
    """Run the modeled plan's stages for `month` once per document (None: the stored version in force), on one
    read of the store. Output: a `MonthState` per document, in order."""
    base = run_context(session, month)
    mine = [p for p in base.plans if p.plan_id == plan_id]
    if not mine:
        raise NotFound(f"plan {plan_id!r} is not in force in {month}")
    versions = [[p if d is None else replace(p, document=d) for p in mine] for d in documents]
    attributes: dict[str, list[str]] = {}
    for version in versions:
        for plan in version:
            for kind, names in attributes_used(plan.document).items():
                attributes[kind] = sorted(set(attributes.get(kind, [])) | set(names))
    inputs = load_inputs(session, base.year.start, base.period.end, attributes)
    quotas = quotas_of(inputs)
    found = []
    for version in versions:
        ctx = RunContext(period=base.period, periods=base.periods, plans=version, con=base.con)
        t = {name: source(ctx.con, name, inputs.source(name)) for name in INPUT_TABLES}
        parts, earnings = [], []
        for plan in version:
            held = plan_credits(ctx, plan, t)
            values = measure(ctx, plan, held)
            data = PlanData(
                payees=payees_on_plan(inputs, plan, ctx), quotas=quotas, credits=EngineCredits(ctx.con, held, t)
            )
            earnings.extend(Evaluator(ctx, plan, values, data).payouts(ctx.period))
            parts.append(PlanState(plan, values, data))
        found.append(MonthState(ctx, parts, earnings))
    return found


# --- evaluating synthetic measures --------------------------------------------------------------


class ScaledCredits:
    """A payee's credit rows with their amounts multiplied by the payee-month's factor (per-transaction rules
    on simulated months); factor 1 when none is given."""

    def __init__(self, base: Any, factors: dict[tuple[int, str], Decimal]) -> None:
        self.base, self.factors = base, factors

    def rows(self, flag: str, payee_id: int, months: set[str]) -> list[dict[str, Any]]:
        out = []
        for row in self.base.rows(flag, payee_id, months):
            f = self.factors.get((payee_id, row["month"]))
            if f is None or f == 1:
                out.append(row)
                continue
            scaled = {k: v for k, v in row.items() if k != "env"}
            for key in ("amount", "list_amount"):
                if scaled.get(key) is not None:
                    scaled[key] = scaled[key] * f
            out.append(scaled)
        return out


class _Simulation(Evaluator):
    """The incent stage with a light trace: the same arithmetic (`raw`, `evaluate`, `payouts`), but an earning
    keeps only what modeling counts (its cut and whether its gate or bonus condition held)."""

    def share_caches(self, other: Evaluator) -> None:
        """Use another evaluator's caches of quotas, tier bands and periods (none depends on the measures)."""
        self._quotas, self._band_cache, self._periods = other._quotas, other._band_cache, other._periods
        self._months_in, self._month_facts, self._shares = other._months_in, other._month_facts, other._shares

    def _behind(self, name: str, payee: PayeeFacts, period: Period, through: Period) -> dict[str, Any] | None:
        return None

    def _earning(
        self, c: Any, payee: PayeeFacts, period: Period, month: Period, out: dict[str, Any], pay: Decimal
    ) -> Earning:
        return Earning(
            plan=self.plan.plan_id,
            payee_id=payee.id,
            payee=payee.external_id,
            period=month.name,
            component=c.name,
            measure_period=period.name,
            base=None,
            quota=None,
            attainment=None,
            rate=None,
            amount=pay,
            cut=out["cut"],
            currency=self.doc.currency,
            trace={"threshold": _threshold(out)},
        )


def _threshold(out: dict[str, Any]) -> bool | None:
    """Whether an evaluation's gate or bonus condition held (None: it has neither)."""
    gate = out.get("gate")
    if isinstance(gate, dict) and "passed" in gate:
        return bool(gate["passed"])
    if "holds" in out:
        return bool(out["holds"])
    return None


ByMonth = dict[tuple[str, int], dict[str, Decimal]]


def simulate_month(
    state: MonthState,
    by_month: list[ByMonth],
    factors: dict[tuple[int, str], Decimal] | None = None,
    known: list[Evaluator] | None = None,
) -> list[Earning]:
    """The month's earnings when each plan state's monthly measure values are `by_month[i]` (the incent stage on
    a synthetic measures table; credit rows of per-transaction rules scaled by `factors`). `known[i]`, an evaluator
    of the same plan state, lends its caches of what does not depend on measures (quotas, bands, periods)."""
    ctx = RunContext(period=state.ctx.period, periods=state.ctx.periods, plans=state.ctx.plans, con=state.ctx.con)
    found: list[Earning] = []
    for i, (part, values) in enumerate(zip(state.parts, by_month, strict=True)):
        synthetic = MeasureValues(ctx, part.values.measures, by_month=values)
        data = part.data if not factors else replace(part.data, credits=ScaledCredits(part.data.credits, factors))
        evaluator = _Simulation(ctx, part.plan, synthetic, data)
        if known is not None:
            evaluator.share_caches(known[i])
        found.extend(evaluator.payouts(ctx.period))
    return found


# --- figures -------------------------------------------------------------------------------------


@dataclass
class Tally:
    """Payouts of one version over the window (history, or one draw)."""

    total: Decimal = ZERO
    primary: Decimal = ZERO
    per_payee: dict[str, Decimal] = field(default_factory=dict)
    by_component: dict[str, Decimal] = field(default_factory=dict)
    by_month: dict[str, Decimal] = field(default_factory=dict)
    cap_hits: int = 0
    thresholds_met: int = 0
    thresholds: int = 0

    def add(self, earnings: list[Earning]) -> None:
        for e in earnings:
            self.total += e.amount
            self.per_payee[e.payee] = self.per_payee.get(e.payee, ZERO) + e.amount
            self.by_component[e.component] = self.by_component.get(e.component, ZERO) + e.amount
            self.by_month[e.period] = self.by_month.get(e.period, ZERO) + e.amount
            if e.cut > 0:
                self.cap_hits += 1
            held = e.trace.get("threshold") if "threshold" in e.trace else _trace_threshold(e.trace)
            if held is not None:
                self.thresholds += 1
                self.thresholds_met += bool(held)


def _trace_threshold(trace: dict[str, Any]) -> bool | None:
    """From a stored-style trace: a gate's `passed`, a bonus's `holds`."""
    return _threshold(trace)


def _primary_measure(document: PlanDocument, quotas: dict[tuple[int, str, str], Decimal]) -> str | None:
    """The measure the payees carry quotas for (the first such of the plan's measures)."""
    with_quota = {measure for _payee, measure, _period in quotas}
    return next((x.name for x in document.measures if x.name in with_quota), None)


def _cents(value: Decimal | float) -> str:
    return str(Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP))


def _ratio(payout: Decimal, base: Decimal) -> str | None:
    return None if not base else str((payout / base).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP))


@dataclass
class VersionResult:
    label: str
    source: str
    history: Tally
    draws: list[Tally]


@dataclass
class PlanModel:
    plan: str
    currency: str
    months: list[str]
    primary: str | None
    primary_is_count: bool
    draws: int
    seed: int
    method: str
    versions: list[VersionResult]
    roles: dict[str, str]  # payee → role
    names: dict[str, str]  # payee → name
    fits: list[dict[str, Any]]
    simulated: bool
    note: str
    seconds: float


class _Basis:
    """One month state's history as the simulation needs it, computed once: per plan state and payee-month the
    month quota of the primary measure and the historical monthly values of every measure and SPIF count, and the
    population's month ratio of each to the primary (for payees without a primary of their own)."""

    def __init__(self, state: MonthState, primary: str | None) -> None:
        self.state, self.primary = state, primary
        ctx = state.ctx
        self.paid = ctx.period.name
        self.months = ctx.months_to_date()
        self.parts: list[dict[str, Any]] = []
        self.evaluators: list[Evaluator] = []
        for part in state.parts:
            measures = part.values.measures
            keys = [n for n, x in measures.items() if x.formula is None]
            counts = {n for n, x in measures.items() if x.count is not None}
            for c in part.plan.document.components:
                if isinstance(c, Spif):
                    deals, units = spif_keys(c.name)
                    keys += [deals, units]
                    counts.add(deals)
            has_primary = primary in keys
            evaluator = Evaluator(ctx, part.plan, part.values, part.data)
            self.evaluators.append(evaluator)
            rows = []
            sums: dict[tuple[str, str], Decimal] = {}
            for p in part.data.payees:
                for month in self.months:
                    hist = {k: part.values.by_month.get((k, p.id), {}).get(month.name, ZERO) for k in keys}
                    quota = evaluator.quota(p, primary, month) if has_primary and primary is not None else None
                    rows.append((p, month.name, quota, hist))
                    for k, value in hist.items():
                        sums[(k, month.name)] = sums.get((k, month.name), ZERO) + value
            ratios = {
                (k, month.name): (sums[(k, month.name)] / sums[(primary, month.name)])
                if primary is not None and has_primary and sums.get((primary, month.name))
                else ZERO
                for k in keys
                for month in self.months
            }
            self.parts.append({"keys": keys, "counts": counts, "rows": rows, "ratios": ratios, "primary": has_primary})

    def observations(self, month: str) -> list[tuple[str, float]]:
        """(role, attainment) of every payee-month `month` with a positive quota (the baseline's history)."""
        found = []
        for part in self.parts:
            for p, name, quota, hist in part["rows"]:
                if name == month and quota is not None and quota > 0 and self.primary is not None:
                    found.append((str(p.attributes.get("payee.role") or ""), float(hist[self.primary] / quota)))
        return found

    def synthetic(
        self, drawn: dict[tuple[str, str], Decimal]
    ) -> tuple[list[ByMonth], dict[tuple[int, str], Decimal], Decimal]:
        """Monthly values for one draw (payee, month → attainment): the primary = attainment × month quota (a
        whole number for a count), the others scaled like it; the payee-month factors; the paid month's primary
        total."""
        primary = self.primary
        out: list[ByMonth] = []
        factors: dict[tuple[int, str], Decimal] = {}
        total = ZERO
        for part in self.parts:
            values: ByMonth = {}
            counts, ratios = part["counts"], part["ratios"]
            for p, month, quota, hist in part["rows"]:
                if primary is None or not part["primary"] or quota is None or quota <= 0:
                    new_values = hist
                else:
                    new = drawn[(p.external_id, month)] * quota
                    if primary in counts:
                        new = new.quantize(Decimal(1), rounding=ROUND_HALF_UP)
                    before = hist[primary]
                    factor = new / before if before != 0 else None
                    new_values = {}
                    for k, value in hist.items():
                        if k == primary:
                            scaled = new
                        elif factor is not None:
                            scaled = value * factor
                        else:
                            scaled = new * ratios[(k, month)]
                        if k in counts:
                            scaled = scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP)
                        new_values[k] = scaled
                    if factor is not None:
                        factors[(p.id, month)] = factor
                for k, value in new_values.items():
                    values.setdefault((k, p.id), {})[month] = value
                if month == self.paid and primary is not None and part["primary"]:
                    total += new_values[primary]
            out.append(values)
        return out, factors, total


def _fit(bases: dict[str, list[_Basis]], months: list[Period], method: str) -> monte_carlo.AttainmentModel:
    """Monthly attainments of the window's payee-months (the baseline's), fitted per role."""
    observations: dict[str, list[float]] = {}
    for month in months:
        for role, value in bases[month.name][0].observations(month.name):
            observations.setdefault(role, []).append(value)
    return monte_carlo.fit(observations, method)


def _simulated_months(ctx: RunContext, months: list[Period]) -> list[str]:
    """Every month from the fiscal-year start of the window's first month to its last month."""
    start = ctx.containing(months[0].start, PeriodKind.YEAR).start
    found = [p for p in ctx.periods if p.kind is PeriodKind.MONTH and start <= p.start <= months[-1].start]
    return [p.name for p in sorted(found, key=lambda p: p.start)]


def model_plan(engine: Engine, params: ModelParams, progress: Progress | None = None) -> PlanModel:
    """History and Monte Carlo of the baseline and each candidate (see the module's docstring). Reads only."""
    clock = time.perf_counter()
    check_params(params)
    say = progress or (lambda _f, _t: None)
    documents: list[PlanDocument | None] = [None, *(c.document() for c in params.candidates)]
    labels = ["baseline", *(c.label for c in params.candidates)]
    sources = ["stored version in force", *(c.source or c.label for c in params.candidates)]
    states: dict[str, list[MonthState]] = {}
    with Session(engine) as session:
        months = window(session, params.start, params.end)
        for i, month in enumerate(months):
            say(0.4 * i / len(months), f"history: {month.name} ({len(documents)} versions)")
            states[month.name] = capture_month(session, month.name, params.plan, documents)
    histories = [Tally() for _ in documents]
    names: dict[str, str] = {}
    roles: dict[str, str] = {}
    for month in months:
        for v, state in enumerate(states[month.name]):
            histories[v].add(state.earnings)
            for part in state.parts:
                for p in part.data.payees:
                    roles[p.external_id] = str(p.attributes.get("payee.role") or "")
                    names[p.external_id] = str(p.attributes.get("payee.name") or p.external_id)
    first = states[months[0].name][0]
    document = first.parts[0].plan.document
    primary = _primary_measure(document, first.parts[0].data.quotas)
    is_count = (
        primary is not None and document.measures[[x.name for x in document.measures].index(primary)].count is not None
    )
    for v in range(len(documents)):
        for month in months:
            for part in states[month.name][v].parts:
                if primary in part.values.measures:
                    histories[v].primary += sum(
                        (part.values.by_month.get((primary, p.id), {}).get(month.name, ZERO) for p in part.data.payees),
                        ZERO,
                    )
    draws: list[list[Tally]] = [[] for _ in documents]
    fits: list[dict[str, Any]] = []
    note = ""
    simulated = False
    if params.draws and primary is None:
        note = "no measure of the plan has quotas: Monte Carlo needs attainment (measure ÷ quota); history only"
    elif params.draws:
        simulated = True
        bases = {m.name: [_Basis(state, primary) for state in states[m.name]] for m in months}
        model = _fit(bases, months, params.method)
        fits = [
            {
                "role": f.group,
                "observations": f.observations,
                "zero_share": round(f.zero_share, 4),
                "mu": round(f.mu, 4),
                "sigma": round(f.sigma, 4),
                "mean": round(f.mean, 4),
                "pooled": f.pooled,
            }
            for f in model.fits.values()
            if f.group != monte_carlo.POOLED
        ]
        sim_months = _simulated_months(first.ctx, months)
        payees = sorted(roles)
        rng = np.random.default_rng(params.seed)
        attainment = {
            p: model.draw(rng, roles[p], params.draws * len(sim_months)).reshape(params.draws, len(sim_months))
            for p in payees
        }
        column = {name: j for j, name in enumerate(sim_months)}
        step = max(1, params.draws // 50)
        for d in range(params.draws):
            if d % step == 0:
                say(0.4 + 0.58 * d / params.draws, f"Monte Carlo: draw {d + 1} of {params.draws}")
            drawn = {
                (p, name): Decimal(repr(round(float(attainment[p][d, j]), 6)))
                for p in payees
                for name, j in column.items()
            }
            for v in range(len(documents)):
                tally = Tally()
                for month in months:
                    state = states[month.name][v]
                    basis = bases[month.name][v]
                    by_month, factors, primary_total = basis.synthetic(drawn)
                    tally.add(simulate_month(state, by_month, factors, basis.evaluators))
                    tally.primary += primary_total
                draws[v].append(tally)
    say(1.0, "done")
    return PlanModel(
        plan=params.plan,
        currency=document.currency,
        months=[m.name for m in months],
        primary=primary,
        primary_is_count=is_count,
        draws=params.draws if simulated else 0,
        seed=params.seed,
        method=params.method,
        versions=[
            VersionResult(label, src, histories[v], draws[v])
            for v, (label, src) in enumerate(zip(labels, sources, strict=True))
        ],
        roles=roles,
        names=names,
        fits=fits,
        simulated=simulated,
        note=note,
        seconds=time.perf_counter() - clock,
    )


# --- the result as JSON ------------------------------------------------------------------------------

TOP = 10


def _tails(values: list[float]) -> dict[str, str]:
    return {k: _cents(v) for k, v in monte_carlo.percentiles(values).items()}


def _history_json(t: Tally) -> dict[str, Any]:
    return {
        "total": _cents(t.total),
        "primary": _cents(t.primary),
        "cost_of_sales": _ratio(t.total, t.primary),
        "payees": len(t.per_payee),
        "payee_tails": _tails([float(v) for v in t.per_payee.values()]),
        "cap_hits": t.cap_hits,
        "thresholds_met": t.thresholds_met,
        "thresholds": t.thresholds,
        "by_component": {k: _cents(v) for k, v in sorted(t.by_component.items())},
        "by_month": {k: _cents(v) for k, v in sorted(t.by_month.items())},
    }


def _simulation_json(draws: list[Tally]) -> dict[str, Any] | None:
    if not draws:
        return None
    totals = [float(d.total) for d in draws]
    payees = [float(v) for d in draws for v in d.per_payee.values()]
    payout = sum((d.total for d in draws), ZERO)
    primary = sum((d.primary for d in draws), ZERO)
    n = len(draws)
    return {
        "total": _tails(totals),
        "payee": _tails(payees),
        "cost_of_sales": _ratio(payout, primary),
        "primary_mean": _cents(primary / n),
        "cap_hits_mean": round(sum(d.cap_hits for d in draws) / n, 2),
        "thresholds_met_mean": round(sum(d.thresholds_met for d in draws) / n, 2),
        "thresholds_mean": round(sum(d.thresholds for d in draws) / n, 2),
    }


def _changes(model: PlanModel, base: VersionResult, other: VersionResult) -> dict[str, Any]:
    """Who gains and who loses with a candidate: per payee the candidate's history total minus the baseline's
    (and the mean of the paired differences over the draws)."""
    payees = sorted(set(base.history.per_payee) | set(other.history.per_payee))
    sim: dict[str, Decimal] = {}
    if base.draws and other.draws:
        for b, o in zip(base.draws, other.draws, strict=True):
            for p in set(b.per_payee) | set(o.per_payee):
                sim[p] = sim.get(p, ZERO) + o.per_payee.get(p, ZERO) - b.per_payee.get(p, ZERO)
    rows: list[tuple[Decimal, dict[str, Any]]] = []
    for p in payees:
        before, after = base.history.per_payee.get(p, ZERO), other.history.per_payee.get(p, ZERO)
        rows.append(
            (
                after - before,
                {
                    "payee": p,
                    "name": model.names.get(p, p),
                    "role": model.roles.get(p, ""),
                    "baseline": _cents(before),
                    "candidate": _cents(after),
                    "delta": _cents(after - before),
                    "simulated_delta": _cents(sim[p] / len(base.draws)) if p in sim else None,
                },
            )
        )
    gains = [r for d, r in sorted((x for x in rows if x[0] > 0), key=lambda x: (-x[0], x[1]["payee"]))]
    losses = [r for d, r in sorted((x for x in rows if x[0] < 0), key=lambda x: (x[0], x[1]["payee"]))]
    return {
        "label": other.label,
        "total_delta": _cents(other.history.total - base.history.total),
        "gainers": len(gains),
        "losers": len(losses),
        "unchanged": len(rows) - len(gains) - len(losses),
        "top_gains": gains[:TOP],
        "top_losses": losses[:TOP],
        "payees": [r for _d, r in rows],
    }


def model_json(model: PlanModel) -> dict[str, Any]:
    """The comparison as JSON: money as text rounded to cents, statistics as numbers."""
    base = model.versions[0]
    histogram = monte_carlo.histogram({v.label: [float(d.total) for d in v.draws] for v in model.versions if v.draws})
    return {
        "plan": model.plan,
        "currency": model.currency,
        "months": model.months,
        "from": model.months[0],
        "to": model.months[-1],
        "primary": model.primary,
        "primary_is_count": model.primary_is_count,
        "draws": model.draws,
        "seed": model.seed,
        "method": model.method,
        "simulated": model.simulated,
        "note": model.note,
        "seconds": round(model.seconds, 3),
        "fits": model.fits,
        "versions": [
            {
                "label": v.label,
                "source": v.source,
                "history": _history_json(v.history),
                "simulation": _simulation_json(v.draws),
            }
            for v in model.versions
        ],
        "histogram": {
            "edges": [round(e, 2) for e in histogram["edges"]],  # type: ignore[attr-defined]
            "counts": histogram["counts"],
        },
        "changes": [_changes(model, base, other) for other in model.versions[1:]],
    }


def params_json(params: ModelParams) -> dict[str, Any]:
    return {
        "plan": params.plan,
        "from": params.start,
        "to": params.end,
        "draws": params.draws,
        "seed": params.seed,
        "method": params.method,
        "candidates": [{"label": c.label, "source": c.source, "text": c.text} for c in params.candidates],
    }


def params_of(values: dict[str, Any]) -> ModelParams:
    return ModelParams(
        plan=str(values["plan"]),
        start=str(values["from"]),
        end=str(values["to"]),
        candidates=tuple(
            Candidate(str(c["label"]), str(c["text"]), str(c.get("source") or "")) for c in values["candidates"]
        ),
        draws=int(values.get("draws", 1000)),
        seed=int(values.get("seed", 7)),
        method=str(values.get("method", "lognormal")),
    )
