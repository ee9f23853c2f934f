"""Incent: MEASURES (and credits) → EARNINGS per payee × component × payout month.

Input: a plan's measure values, its credits (for per-transaction rules), quotas,
assignments. Output: `Earning` rows with the trace of their arithmetic.

Order of evaluation for one payee, component and measurement period:

    base (the measure, or the per-transaction credits)
      → rate or tier table (tiers on attainment become amounts via the quota)
      → multipliers (each `when` that holds multiplies)
      → gate (a failed `when` pays 0; `pays_from: threshold` pays only above it)
      → cap (per period, per year across months, or per deal)
      → rounding at the plan's scale and mode

Timing: `payout.timing: end` pays once, in the last month of the measurement
period; `true_up` pays every month the earning to date minus what the period's
earlier months earned (negative increments clawed, carried or floored).

Worked example (golden scenario 6): quota 500,000, bookings 350,000, rate 10%,
multiplier ×0.5 when attainment < 0.8: 350,000 × 10% = 35,000; attainment 0.7
→ × 0.5 = 17,500.00.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from openspm.calc.context import PlanInForce, RunContext
from openspm.calc.rules.caps import apply_cap, cap_limit
from openspm.calc.rules.quotas import presence_fraction, ramp_factor, seasonal_share
from openspm.calc.rules.tiers import Band, apply_tiers, bands_from_tiers
from openspm.calc.rules.true_up import increment
from openspm.calc.stages.measure import MeasureValues, spif_keys
from openspm.core.money import ROUNDING_MODES, to_text
from openspm.core.period import Period, PeriodKind
from openspm.plan.expr import evaluate, parse
from openspm.plan.models import (
    Bonus,
    CapPer,
    Component,
    FlatRate,
    LookupRate,
    NegativeIncrement,
    Override,
    Proration,
    QuotaRule,
    Spif,
    TieredRate,
    TierMethod,
)

ZERO = Decimal(0)
ONE = Decimal(1)


@dataclass
class Earning:
    """What one component earned for one payee in one payout month, with its trace."""

    plan: str
    payee_id: int
    payee: str
    period: str
    component: str
    measure_period: str
    base: Decimal | None
    quota: Decimal | None
    attainment: Decimal | None
    rate: Decimal | None
    amount: Decimal
    cut: Decimal
    currency: str
    trace: dict[str, Any] = field(default_factory=dict)


@dataclass
class PayeeFacts:
    """A payee's data the rules read."""

    id: int
    external_id: str
    hire_date: date | None
    termination_date: date | None
    attributes: dict[str, Any]  # payee.region, payee.role, ... as expression names
    target_incentive: Decimal | None
    parameters: dict[str, Decimal]
    assigned_from: date | None = None  # the plan assignment in force in the paid month
    assigned_to: date | None = None


class CreditRows(Protocol):
    """Credit rows on demand, for the rules that work per transaction and for traces."""

    def rows(self, flag: str, payee_id: int, months: set[str]) -> list[dict[str, Any]]:
        """A payee's credits in `months` whose boolean column `flag` holds (`in__<measure>` or
        `cf__<component>`), each a dict as in `credit_env`."""
        ...


@dataclass
class PlanData:
    """What incent needs besides measures: payees on the plan, quotas, credit rows on demand."""

    payees: list[PayeeFacts]
    quotas: dict[tuple[int, str, str], Decimal]  # (payee, measure, period name) → amount
    credits: CreditRows


def credit_env(row: dict[str, Any]) -> dict[str, Any]:
    """Expression names of one credit row (built on first use, then kept)."""
    env = row.get("env")
    if env is None:
        dotted, i = row["_dotted"]
        env = {name.replace("__", "."): value for name, value in dotted.slice(i, 1).to_pylist()[0].items()}
        env.update(
            amount=row["amount"], quantity=row["quantity"], list_amount=row["list_amount"], discount=row["discount"]
        )
        env.update(
            {
                "credit.role": row["role"],
                "credit.source": row["source"],
                "credit.level": row["level"],
                "credit.share": row["share"],
            }
        )
        row["env"] = env
    return env


def _text(value: Decimal | None) -> str | None:
    return None if value is None else to_text(value.normalize() if value == value.to_integral() else value)


class PeriodEnv(Mapping[str, Any]):
    """The names a condition may use for one payee × measurement period: payee attributes, parameters and
    target incentive given up front; each measure `m`, `quota(m)` and `attainment(m)` computed when first
    read (a plan with ten measures whose conditions read one computes one)."""

    def __init__(
        self, values: dict[str, Any], evaluator: Evaluator, payee: PayeeFacts, period: Period, through: Period
    ) -> None:
        self._values, self._evaluator = values, evaluator
        self._payee, self._period, self._through = payee, period, through
        self._measures = evaluator.measures.measures

    def _measure_of(self, key: str) -> str | None:
        """The measure a derived name reads: `m`, `quota(m)`, `attainment(m)` → `m`; other names: None."""
        if key in self._measures:
            return key
        for prefix in ("quota(", "attainment("):
            if key.startswith(prefix) and key.endswith(")") and key[len(prefix) : -1] in self._measures:
                return key[len(prefix) : -1]
        return None

    def __getitem__(self, key: str) -> Any:
        found = self._values.get(key, _MISSING)
        if found is not _MISSING:
            return found
        name = self._measure_of(key)
        if name is None:
            raise KeyError(key)
        e = self._evaluator
        value = e.measures.value(name, self._payee.id, self._period, self._through)
        quota = e.quota(self._payee, name, self._period)
        self._values[name] = value
        self._values[f"quota({name})"] = quota
        self._values[f"attainment({name})"] = None if not quota else value / quota
        return self._values[key]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (key in self._values or self._measure_of(key) is not None)

    def __iter__(self) -> Iterator[str]:
        for name in self._measures:
            self[name]
        return iter(list(self._values))

    def __len__(self) -> int:
        return len(list(iter(self)))


_MISSING = object()


class Evaluator:
    """Evaluates one plan's components for its payees, month by month."""

    def __init__(self, ctx: RunContext, plan: PlanInForce, measures: MeasureValues, data: PlanData) -> None:
        self.ctx, self.plan, self.measures, self.data = ctx, plan, measures, data
        self.doc = plan.document
        self.rounding = self.doc.rounding
        self.quota_rules: dict[str, QuotaRule] = {q.measure: q for q in self.doc.quotas}
        self.reporting = True  # issues and credit lists are kept for the paid month only, not for months re-evaluated
        self._quotas: dict[tuple[int, str, str], Decimal | None] = {}
        self._envs: dict[tuple[int, str, str], PeriodEnv] = {}
        self._shares: dict[tuple[str, int], tuple[Decimal, Decimal]] = {}
        self._band_cache: dict[tuple[str, Decimal], list[Band]] = {}
        self._quantum = Decimal(1).scaleb(-self.rounding.scale)
        self._rounding_mode = ROUNDING_MODES[self.rounding.mode]
        self._month_facts: dict[str, tuple[str, str, int]] = {}
        self._months_in: dict[tuple[str, str], set[str]] = {}
        self._periods: dict[tuple[str, str], Period] = {}

    def _round(self, value: Decimal) -> Decimal:
        """`round_money` at the plan's scale and mode (its quantum and mode looked up once)."""
        return value.quantize(self._quantum, rounding=self._rounding_mode)

    def _period_of(self, c: Component, month: Period) -> Period:
        """The component's measurement period that contains `month` (looked up once per component and month)."""
        key = (c.name, month.name)
        found = self._periods.get(key)
        if found is None:
            found = self._periods[key] = self.ctx.containing(month.start, _kind(c.period.value))
        return found

    def _months_to(self, period: Period, through: Period) -> set[str]:
        """The names of `period`'s months up to `through` (built once per pair; never changed by callers)."""
        key = (period.name, through.name)
        found = self._months_in.get(key)
        if found is None:
            found = self._months_in[key] = {m.name for m in self.ctx.months_of(period) if m.start <= through.start}
        return found

    # --- quotas ------------------------------------------------------------------------

    def _month_quota(self, payee: PayeeFacts, measure: str, month: Period) -> Decimal | None:
        """The unrounded quota share of one month, from the store's month, quarter or year quota."""
        quotas, rule = self.data.quotas, self.quota_rules.get(measure)
        weights = rule.seasonality if rule else None
        direct = quotas.get((payee.id, measure, month.name))
        if direct is not None:
            base = direct
        else:
            quarter, year, index = self._facts_of(month)
            q_amount = quotas.get((payee.id, measure, quarter))
            y_amount = quotas.get((payee.id, measure, year))
            month_share, quarter_share = self._shares_of(measure, weights, index)
            if q_amount is not None:
                base = q_amount * month_share / quarter_share if quarter_share else ZERO
            elif y_amount is not None:
                base = y_amount * month_share
            else:
                return None
        if rule is not None:
            if rule.proration is Proration.MONTHS:
                base *= presence_fraction(
                    month.start, month.end, payee.hire_date, payee.termination_date, rule.proration
                )
            if rule.ramp:
                base *= ramp_factor(rule.ramp, payee.hire_date, month.start)
        return base

    def _facts_of(self, month: Period) -> tuple[str, str, int]:
        """A month's quarter and year (their names) and its index in the year (looked up once per month)."""
        found = self._month_facts.get(month.name)
        if found is None:
            quarter = self.ctx.containing(month.start, PeriodKind.QUARTER).name
            year = self.ctx.containing(month.start, PeriodKind.YEAR).name
            found = self._month_facts[month.name] = (quarter, year, self.ctx.month_index(month))
        return found

    def _shares_of(self, measure: str, weights: list[Decimal] | None, index: int) -> tuple[Decimal, Decimal]:
        """A month's share of the year's quota and its quarter's share, under the measure's seasonality
        (computed once per measure and month)."""
        key = (measure, index)
        found = self._shares.get(key)
        if found is None:
            found = self._shares[key] = (seasonal_share(weights, index, 12), seasonal_share(weights, index // 3, 4))
        return found

    def quota(self, payee: PayeeFacts, measure: str, period: Period) -> Decimal | None:
        """Quota of a measure for a period, rounded to the plan scale; None when the store has none."""
        key = (payee.id, measure, period.name)
        if key not in self._quotas:
            self._quotas[key] = self._quota(payee, measure, period)
        return self._quotas[key]

    def _quota(self, payee: PayeeFacts, measure: str, period: Period) -> Decimal | None:
        rule = self.quota_rules.get(measure)
        stored = self.data.quotas.get((payee.id, measure, period.name))
        if stored is not None and (rule is None or (rule.proration is Proration.NONE and not rule.ramp)):
            return stored
        parts = [self._month_quota(payee, measure, m) for m in self.ctx.months_of(period)]
        if all(p is None for p in parts):
            return None
        total = sum((p for p in parts if p is not None), ZERO)
        if rule is not None and rule.proration is Proration.DAYS:
            # Days employed over the days of the whole period: 59 of Q1's 90 days → 59/90.
            hire, leave = payee.hire_date, payee.termination_date
            total *= presence_fraction(period.start, period.end, hire, leave, Proration.DAYS)
        return self._round(total)

    # --- expressions ---------------------------------------------------------------------

    def env(self, payee: PayeeFacts, period: Period, through: Period) -> PeriodEnv:
        """Names a component condition may use, for one payee and measurement period (kept once built)."""
        key = (payee.id, period.name, through.name)
        if key not in self._envs:
            self._envs[key] = self._env(payee, period, through)
        return self._envs[key]

    def _env(self, payee: PayeeFacts, period: Period, through: Period) -> PeriodEnv:
        values: dict[str, Any] = dict(payee.attributes)
        values["target_incentive"] = payee.target_incentive
        for name, value in {**self.doc.parameters, **payee.parameters}.items():
            values[f"param.{name}"] = value
        return PeriodEnv(values, self, payee, period, through)

    # --- one evaluation ----------------------------------------------------------------

    def _component_credits(self, c: LookupRate, payee: PayeeFacts, months: set[str]) -> list[dict[str, Any]]:
        """The payee's credits in `months` with a role in the component's `roles` that pass its `filter`."""
        return self.data.credits.rows(f"cf__{c.name}", payee.id, months)

    def _measure_credits(self, name: str, payee: PayeeFacts, months: set[str]) -> list[dict[str, Any]]:
        """The payee's credits in `months` that count toward measure `name`."""
        return self.data.credits.rows(f"in__{name}", payee.id, months)

    def raw(self, c: Component, payee: PayeeFacts, period: Period, through: Period, env: PeriodEnv) -> dict[str, Any]:
        """The earning before multipliers, gate and cap, with its arithmetic."""
        months = self._months_to(period, through)
        if isinstance(c, (FlatRate, TieredRate, Override)):
            base = self.measures.value(c.measure, payee.id, period, through)
            quota = self.quota(payee, c.measure, period)
            out: dict[str, Any] = {
                "measure": c.measure,
                "base": base,
                "quota": quota,
                "attainment": None if not quota else base / quota,
                "credits": self._behind(c.measure, payee, period, through) if self.reporting else None,
            }
            if c.gate is not None and c.gate.pays_from == "threshold" and c.gate.threshold is not None:
                threshold = Decimal(evaluate(parse(c.gate.threshold), env) or 0)
                out["threshold"] = threshold
                base = max(base - threshold, ZERO)
            if isinstance(c, FlatRate):
                rate = c.rate if isinstance(c.rate, Decimal) else Decimal(evaluate(parse(c.rate), env))
                if c.cap is not None and c.cap.per is CapPer.DEAL:
                    total, lines = ZERO, []
                    for row in self._measure_credits(c.measure, payee, months):
                        amount = self._deal_cap(c, payee, row["amount"] * rate, out)
                        total += amount
                        lines.append({"transaction": row["transaction"], "base": row["amount"], "amount": amount})
                    out.update(rate=rate, amount=total, lines=lines)
                    return out
                out.update(rate=rate, amount=base * rate, lines=[])
                return out
            if isinstance(c, Override) and c.rate is not None:
                out.update(rate=c.rate, amount=base * c.rate, lines=[])
                return out
            tiers = c.tiers
            method = c.method
            boundary = c.boundary if isinstance(c, TieredRate) else "lower"
            scale = ONE
            if isinstance(c, (TieredRate, Override)) and c.basis == "attainment":
                if not quota:
                    if self.reporting:
                        self.ctx.issue(
                            "incent",
                            f"{payee.external_id}/{c.name}",
                            f"no quota for {c.measure} in {period.name}; pays 0",
                        )
                    out.update(rate=None, amount=ZERO, lines=[])
                    return out
                scale = quota
            bands = self._bands(c.name, tiers, scale)
            if isinstance(c, TieredRate) and c.apply == "per_transaction":
                total, lines = ZERO, []
                for row in self._measure_credits(c.measure, payee, months):
                    result = apply_tiers(row["amount"], bands, method, boundary)
                    amount = result.amount * self._discount_factor(c, row)
                    amount = self._deal_cap(c, payee, amount, out)
                    total += amount
                    lines.append(
                        {
                            "transaction": row["transaction"],
                            "base": row["amount"],
                            "amount": amount,
                            "tiers": [_line(x) for x in result.lines],
                        }
                    )
                out.update(rate=None, amount=total, lines=lines)
                return out
            result = apply_tiers(base, bands, method, boundary)
            amount = result.amount
            if isinstance(c, TieredRate) and c.rate_adjustments and base:
                rows = self._measure_credits(c.measure, payee, months)
                weighted = sum((r["amount"] * self._discount_factor(c, r) for r in rows), ZERO)
                amount = amount * weighted / base
            out.update(
                rate=result.rate,
                amount=amount,
                lines=[_line(x) for x in result.lines],
                method=method.value,
                band=result.band,
            )
            return out
        if isinstance(c, Bonus):
            holds = bool(evaluate(parse(c.when), env))
            if c.amount is not None:
                amount = c.amount
            else:
                assert c.target_share is not None
                amount = c.target_share * (payee.target_incentive or ZERO)
            return {"when": c.when, "holds": holds, "amount": amount if holds else ZERO, "lines": []}
        if isinstance(c, Spif):
            # Deals (distinct sales net of cancellations) and units of the credits that qualify: the
            # component's roles and filter, dated in its window (counted on the engine per payee-month).
            deals_key, units_key = spif_keys(c.name)
            if c.per == "unit":
                units = self.measures.total(units_key, payee.id, months)
                return {"units": units, "amount": units * c.amount, "rate": c.amount, "lines": []}
            deals = int(self.measures.total(deals_key, payee.id, months))
            spif: dict[str, Any] = {"deals": deals, "rate": c.amount, "lines": []}
            spif["amount"] = Decimal(deals) * self._deal_cap(c, payee, c.amount, spif)
            if "deal_cut" in spif:
                spif["deal_cut"] *= deals
            return spif
        if isinstance(c, LookupRate):
            table = {tuple(row.match): row.rate for row in c.table}
            keys = [parse(k) for k in c.keys]
            total, lines = ZERO, []
            found: dict[str, Any] = {}
            for r in self._component_credits(c, payee, months):
                key = tuple(str(evaluate(k, credit_env(r))) for k in keys)
                found_rate = table.get(key, c.default_rate)
                if found_rate is None and self.reporting:
                    self.ctx.issue(
                        "incent",
                        f"{payee.external_id}/{c.name}",
                        f"no rate for {key} in the lookup table; pays 0",
                        r["transaction"],
                    )
                found_rate = ZERO if found_rate is None else found_rate
                amount = self._deal_cap(c, payee, r["amount"] * found_rate, found)
                total += amount
                lines.append(
                    {
                        "transaction": r["transaction"],
                        "key": list(key),
                        "rate": found_rate,
                        "base": r["amount"],
                        "amount": amount,
                    }
                )
            return {**found, "amount": total, "lines": lines}
        raise AssertionError(f"unknown component kind {c!r}")  # pragma: no cover

    def _bands(self, component: str, tiers: Any, scale: Decimal) -> list[Band]:
        """A component's tiers as amount bands for a quota (built once per component and scale)."""
        key = (component, scale)
        found = self._band_cache.get(key)
        if found is None:
            found = self._band_cache[key] = bands_from_tiers(tiers, scale_by=scale)
        return found

    def _behind(self, name: str, payee: PayeeFacts, period: Period, through: Period) -> dict[str, Any] | None:
        """Which credits a sum or count measure adds up, for the trace: the measure, its months, how many
        credits and their value (the credits themselves are the run's stored credits of those months;
        `openspm explain --credits` lists them). Formula measures: None."""
        measure = self.measures.measures[name]
        if measure.formula is not None:
            return None
        months = [m.name for m in self.measures.window(measure, period, through)]
        return {
            "measure": name,
            "months": months,
            "count": self.measures.credit_count(name, payee.id, period, through),
            "value": self.measures.value(name, payee.id, period, through),
        }

    def _discount_factor(self, c: TieredRate, row: dict[str, Any]) -> Decimal:
        discount = row.get("discount")
        factor = ONE
        for adjustment in sorted(c.rate_adjustments, key=lambda a: a.lower):
            if discount is not None and discount >= adjustment.lower:
                factor = adjustment.factor
        return factor

    def _target_for(self, c: Component, payee: PayeeFacts, period: Period) -> Decimal | None:
        """The annual target incentive, or its share for a period cap on a month or quarter (TI × months / 12)."""
        target = payee.target_incentive
        if target is None or c.cap is None or c.cap.per is CapPer.YEAR:
            return target
        months = len(self.ctx.months_of(period))
        return target * months / 12

    def _deal_cap(self, c: Component, payee: PayeeFacts, amount: Decimal, out: dict[str, Any]) -> Decimal:
        """A per-deal cap on one transaction's earning; what it cuts adds up in `out["deal_cut"]`."""
        if c.cap is None or c.cap.per is not CapPer.DEAL:
            return amount
        capped = apply_cap(amount, cap_limit(c.cap, payee.target_incentive))  # a deal cap names an amount
        out["deal_cut"] = out.get("deal_cut", ZERO) + capped.cut
        return capped.amount

    def evaluate(
        self, c: Component, payee: PayeeFacts, period: Period, through: Period, paid_in_year: Decimal
    ) -> dict[str, Any]:
        """Earning to date for a measurement period, through a month: raw → multipliers → gate → cap → round."""
        env = self.env(payee, period, through)
        out = self.raw(c, payee, period, through, env)
        amount: Decimal = out["amount"]
        applied = []
        for multiplier in c.multipliers:
            if evaluate(parse(multiplier.when), env):
                amount *= multiplier.factor
                applied.append({"when": multiplier.when, "factor": multiplier.factor})
        out["multipliers"] = applied
        if c.gate is not None:
            passed = bool(evaluate(parse(c.gate.when), env))
            out["gate"] = {"when": c.gate.when, "passed": passed}
            if not passed:
                amount = ZERO
        cut = out.get("deal_cut", ZERO)
        if c.cap is not None and c.cap.per is not CapPer.DEAL:
            limit = cap_limit(c.cap, self._target_for(c, payee, period))
            capped = apply_cap(amount, limit, paid_in_year if c.cap.per is CapPer.YEAR else ZERO)
            cut += amount - capped.amount
            amount = capped.amount
            out["cap"] = {"limit": limit, "per": c.cap.per.value, "already_paid": paid_in_year, "cut": cut}
        out["unrounded"] = amount
        out["amount"] = self._round(amount)
        out["cut"] = self._round(cut)
        return out

    # --- months ------------------------------------------------------------------------------

    def payouts(self, through: Period) -> list[Earning]:
        """Earnings paid in `through` (evaluating earlier months of the year for year caps and true-ups)."""
        result: list[Earning] = []
        months = self.ctx.months_to_date() if through == self.ctx.period else [through]
        # Per component, once: the months to evaluate with their measurement period (a month of a component
        # paid at the period's end is skipped unless it ends the period), and the period of `through`.
        schedules = []
        for c in self.doc.components:
            steps = []
            for month in self._months_needed(c, months, through):
                period = self._period_of(c, month)
                if c.payout.timing == "end" and month.end != period.end:
                    continue
                steps.append((month, period, month.name == through.name))
            schedules.append((c, steps, self._period_of(c, through), c.payout.timing == "true_up"))
        for payee in self.data.payees:
            assigned_from = payee.assigned_from
            for c, steps, through_period, true_up in schedules:
                if c.eligible and not evaluate(parse(c.eligible), self.env(payee, through, through)):
                    if true_up or through.end == through_period.end:
                        ineligible = {"eligible": False, "condition": c.eligible, "amount": ZERO, "cut": ZERO}
                        result.append(self._earning(c, payee, through_period, through, ineligible, ZERO))
                    continue
                paid_in_year = ZERO
                carried = ZERO
                earned_in_period: dict[str, Decimal] = {}
                for month, period, paid_now in steps:
                    if assigned_from is not None and month.end <= assigned_from:
                        continue  # not on the plan yet: nothing was earned under it
                    self.reporting = paid_now
                    out = self.evaluate(c, payee, period, month, paid_in_year)
                    to_date: Decimal = out["amount"]
                    if true_up:
                        before = earned_in_period.get(period.name, ZERO)
                        pay, carried = increment(to_date, before, carried, c.payout.negative)
                        earned_in_period[period.name] = to_date
                        out["true_up"] = {"to_date": to_date, "earned_before": before, "carried": carried}
                    else:
                        pay = to_date
                    paid_in_year += pay
                    if paid_now:
                        result.append(self._earning(c, payee, period, month, out, pay))
        return result

    def _months_needed(self, c: Component, months: list[Period], through: Period) -> list[Period]:
        """The months whose evaluation the payout of `through` depends on.

        A year cap and a true-up that carries or floors negative increments depend on every earlier month
        of the year; a true-up that claws pays `to date − to date through the month before`, so it needs
        that month only (when it is in the same measurement period); anything else needs `through` alone.
        """
        if (c.cap is not None and c.cap.per is CapPer.YEAR) or (
            c.payout.timing == "true_up" and c.payout.negative != NegativeIncrement.CLAW
        ):
            return months
        if c.payout.timing != "true_up":
            return [through]
        period = self.ctx.containing(through.start, _kind(c.period.value))
        earlier = [m for m in months if m.start < through.start and m.start >= period.start]
        return [*earlier[-1:], through]

    def _earning(
        self, c: Component, payee: PayeeFacts, period: Period, month: Period, out: dict[str, Any], pay: Decimal
    ) -> Earning:
        return Earning(
            plan=self.plan.plan_id,
            payee_id=payee.id,
            payee=payee.external_id,
            period=month.name,
            component=c.name,
            measure_period=period.name,
            base=_normal(out.get("base")),
            quota=out.get("quota"),
            attainment=_normal(out.get("attainment")),
            rate=_normal(out.get("rate")),
            amount=pay,
            cut=out["cut"],
            currency=self.doc.currency,
            trace={
                "kind": c.kind,
                "plan_version": self.plan.version,
                "rounding_scale": self.rounding.scale,
                "rounding_mode": self.rounding.mode,
                **_jsonable(out),
            },
        )


def _normal(value: Decimal | None) -> Decimal | None:
    """The same number without trailing zeros (19540138.297709000000 → 19540138.297709), never in exponent form."""
    if value is None:
        return None
    if value == 0:
        return Decimal(0)
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal.as_tuple().exponent > 0 else normal  # type: ignore[operator]


def _kind(value: str) -> PeriodKind:
    return PeriodKind(value)


def _line(line: Any) -> dict[str, Any]:
    return {"from": line.lower, "to": line.upper, "portion": line.portion, "rate": line.rate, "amount": line.amount}


def _jsonable(value: Any) -> Any:
    """Trace values as JSON: decimals as exact normalized text (500, 200.05), dates as ISO (the common types
    tested first by exact type: this runs for every value of every trace)."""
    kind = type(value)
    if kind is Decimal:
        return "0" if not value else format(value.normalize(), "f")
    if kind is dict:
        out = {}
        for k, v in value.items():  # the leaves inline: most values of a trace are decimals and text
            leaf = type(v)
            if k == "env":
                continue
            if leaf is Decimal:
                out[k] = "0" if not v else format(v.normalize(), "f")
            elif leaf is str or v is None:
                out[k] = v
            else:
                out[k] = _jsonable(v)
        return out
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is list or kind is tuple:
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return "0" if value == 0 else to_text(value.normalize())
    if isinstance(value, (date, TierMethod)):
        return str(value)
    return value


def parameters_of(text: str | None) -> dict[str, Decimal]:
    """Numeric plan parameters from an assignment's JSON parameters."""
    if not text:
        return {}
    found: dict[str, Decimal] = {}
    for key, value in json.loads(text).items():
        try:
            found[key] = Decimal(str(value))
        except InvalidOperation:
            continue
    return found


def incent(ctx: RunContext, plan: PlanInForce, measures: MeasureValues, data: PlanData) -> list[Earning]:
    """EARNINGS of a plan for the run's month."""
    return Evaluator(ctx, plan, measures, data).payouts(ctx.period)


__all__ = ["Band", "Earning", "PayeeFacts", "PlanData", "incent", "parameters_of"]
