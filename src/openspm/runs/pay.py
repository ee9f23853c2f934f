"""Pay a run's month from the store: earnings → payments, with balances carried from the month before.

`store_payments(session, run_id, ctx, earnings, recompute)` runs inside the transaction that stores a run. For
each plan of the run it gathers, from the store:

- the balances carried from the newest earlier month that has payments (draw owed, guarantees forgiven,
  earnings still held), read from that month's `period_run` (the frozen run of a closed month);
- approved manual adjustments of the month (`adjustments`);
- prior-period adjustments: for each closed month before this one whose inputs changed after its close
  (`changed_since_close`), the month is computed again on today's data (`recompute`) and the difference from its
  snapshot, per payee and component, less what months in between already paid for it, becomes a
  `prior_period_adjustment` line (the snapshot itself never changes);
- holds released this month: manual releases (`hold_releases`), plan acceptances (`plan_acceptances`), and
  customer payments (a transaction's `paid_on` attribute: an earning waiting for payment is released in the
  first month by whose end every transaction credited to it is paid);
- clawbacks (`pay.clawback`): each return or cancellation dated in the month whose original is a sale of an
  earlier month takes back what the original paid: the earnings of the original's month (its `period_run`) of
  the payees credited with it, each shared among its transactions (`allocate`: earning × the original's value
  toward the earning's measure / the measure's base; a per-transaction earning's lines name what each paid),
  then `full` or `pro_rata` within the window (see `calc/rules/clawbacks.py`); a line links to the original, its
  period and component, and the cancellation. (The engine leaves such returns out of the plan's measures, so the
  commission is taken back once; a return in its sale's own month nets in the measure.);
- each payee's draw (`pay.draw`, with `param.*` from the plan assignment), plan start and termination month;
- the rate from the plan currency to the payee's pay currency on the month's last day (`fx_rates`; an
  inverse rate is used as 1/rate, rounded to 12 places, when only that one is stored);

then calls the `pay` stage (`calc/stages/pay.py`) and writes one `payments` row per payee and plan.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Engine, func, insert, or_, select
from sqlalchemy.orm import Session, aliased

from openspm.calc.context import PlanInForce, RunContext
from openspm.calc.rules.clawbacks import (
    Cancellation,
    ClawbackLine,
    ClawbackMethod,
    ClawbackTerms,
    CommissionPaid,
    allocate,
    clawbacks,
)
from openspm.calc.rules.draws import draw_terms
from openspm.calc.rules.holds import HeldEarning, HoldKey, hold_for
from openspm.calc.stages.incent import Earning, parameters_of
from openspm.calc.stages.pay import Adjustment, PayBalance, PayeePay, Payment, PayRate, month_number, pay
from openspm.core.errors import InvalidInput, NotFound
from openspm.core.money import to_text
from openspm.core.period import Period, PeriodKind
from openspm.plan.expr import ExprError, evaluate, parse
from openspm.plan.models import Clawback, HoldUntil, Measure
from openspm.store import models as m

ZERO = Decimal(0)
ONE = Decimal(1)
_RATE_QUANTUM = Decimal(1).scaleb(-12)

Recompute = Callable[[str], list[Earning]]  # a closed month computed again on today's data (nothing stored)

# Entities whose change after a close can change a closed month's results.
INPUT_ENTITIES = (
    "transactions",
    "transaction_splits",
    "splits",
    "accounts",
    "account_assignments",
    "account_territories",
    "territory_assignments",
    "territories",
    "reporting_lines",
    "payees",
    "products",
    "fx_rates",
    "quotas",
    "plan_assignments",
    "plans",
    "plan_versions",
)


# --- which run a month's documents come from ----------------------------------------------------------------


def latest_completed(session: Session, period: str) -> m.Run | None:
    return session.scalars(
        select(m.Run).where(m.Run.period == period, m.Run.status == "completed").order_by(m.Run.id.desc())
    ).first()


def active_close(session: Session, period: str) -> m.PeriodClose | None:
    """The close in force for a month (None when the month is open or was reopened)."""
    return session.scalars(
        select(m.PeriodClose)
        .where(m.PeriodClose.period == period, m.PeriodClose.status == "closed")
        .order_by(m.PeriodClose.id.desc())
    ).first()


def month_run(session: Session, period: str) -> m.Run | None:
    """The run that stands for a month: the run frozen when it was closed, else its newest completed run
    (None when it has none)."""
    closed = active_close(session, period)
    if closed is not None:
        return session.get_one(m.Run, closed.run_id)
    return latest_completed(session, period)


def period_run(session: Session, period: str) -> m.Run:
    """The run a month's documents come from (`month_run`); NotFound when the month has no run."""
    run = month_run(session, period)
    if run is None:
        raise NotFound(f"no completed run for {period}; run `openspm run --period {period}` first")
    return run


def closed_months(engine: Engine) -> set[str]:
    """The months whose close is in force."""
    with Session(engine) as session:
        return set(session.scalars(select(m.PeriodClose.period).where(m.PeriodClose.status == "closed")))


def payments_of(session: Session, period: str) -> list[m.Payment]:
    """The payments of a month's `period_run`, by plan and payee."""
    run = period_run(session, period)
    return list(
        session.scalars(select(m.Payment).where(m.Payment.run_id == run.id).order_by(m.Payment.plan, m.Payment.payee))
    )


# --- balances -----------------------------------------------------------------------------------------------


def balance_json(balance: PayBalance) -> dict[str, Any]:
    """A balance as the `payments.balance` JSON (amounts as exact text)."""
    return {
        "draw_owed": to_text(balance.draw_owed),
        "forgiven_to_date": to_text(balance.forgiven_to_date),
        "held_total": to_text(balance.held_total),
        "held": [
            {
                "plan": h.key.plan,
                "payee": h.key.payee,
                "component": h.key.component,
                "period": h.key.period,
                "amount": to_text(h.amount),
                "until": h.until.value,
            }
            for h in sorted(balance.held.values(), key=lambda h: h.key)
        ],
        "owed_at_termination": None if balance.owed_at_termination is None else to_text(balance.owed_at_termination),
    }


def balance_from_json(data: dict[str, Any]) -> PayBalance:
    held = {}
    for h in data.get("held", []):
        key = HoldKey(h["plan"], h["payee"], h["component"], h["period"])
        held[key] = HeldEarning(key, Decimal(h["amount"]), HoldUntil(h["until"]))
    owed = data.get("owed_at_termination")
    return PayBalance(
        draw_owed=Decimal(data.get("draw_owed", "0")),
        forgiven_to_date=Decimal(data.get("forgiven_to_date", "0")),
        held=held,
        owed_at_termination=None if owed is None else Decimal(owed),
    )


def _months_before(ctx: RunContext, period: Period) -> list[Period]:
    """Every month of the calendar before `period`, newest first."""
    months = [p for p in ctx.periods if p.kind is PeriodKind.MONTH and p.start < period.start]
    return sorted(months, key=lambda p: p.start, reverse=True)


def balances_before(session: Session, ctx: RunContext, plan: str) -> dict[str, PayBalance]:
    """Each payee's balance after the newest earlier month in which the plan paid them."""
    found: dict[str, PayBalance] = {}
    for month in _months_before(ctx, ctx.period):
        run = month_run(session, month.name)
        if run is None:
            continue
        rows = session.scalars(select(m.Payment).where(m.Payment.run_id == run.id, m.Payment.plan == plan))
        for row in rows:
            found.setdefault(row.payee, balance_from_json(row.balance))
    return found


# --- prior-period adjustments -------------------------------------------------------------------------------


def changed_since_close(session: Session, closed: m.PeriodClose, start: date, end: date) -> bool:
    """Whether a change after a month's close can change its results: reference data (payees, plans, quotas,
    assignments, FX ...) changed, or a transaction dated in `[start, end)` (the fiscal year to the month's end)
    was imported, changed or posted since."""
    at = closed.closed_at
    reference = [e for e in INPUT_ENTITIES if e != "transactions"]
    changed = session.scalar(
        select(func.count()).select_from(m.AuditEntry).where(m.AuditEntry.at > at, m.AuditEntry.entity.in_(reference))
    )
    if changed:
        return True
    imported = session.scalar(
        select(func.count())
        .select_from(m.Transaction)
        .join(m.ImportBatch, m.ImportBatch.id == m.Transaction.import_batch_id)
        .where(m.ImportBatch.started_at > at, m.Transaction.date >= start, m.Transaction.date < end)
    )
    if imported:
        return True
    entries = session.execute(
        select(m.AuditEntry.entity_key, m.AuditEntry.before, m.AuditEntry.after).where(
            m.AuditEntry.at > at, m.AuditEntry.entity == "transactions", m.AuditEntry.action.in_(("insert", "update"))
        )
    ).all()
    for key, before, after in entries:
        days = {d for d in ((before or {}).get("date"), (after or {}).get("date")) if d}
        if not days:
            found = session.scalar(select(m.Transaction.date).where(m.Transaction.external_id == key))
            days = {found.isoformat()} if found else set()
        if any(start.isoformat() <= d < end.isoformat() for d in days):
            return True
    return False


@dataclass(frozen=True)
class PriorPeriodDelta:
    """What a closed month would earn today, less its snapshot and what later months already paid for it."""

    plan: str
    payee: str
    component: str
    period: str
    amount: Decimal
    snapshot_run: int


def prior_period_deltas(session: Session, ctx: RunContext, recompute: Recompute) -> list[PriorPeriodDelta]:
    """The prior-period adjustments this month pays (see the module docstring)."""
    deltas: list[PriorPeriodDelta] = []
    for month in sorted(_months_before(ctx, ctx.period), key=lambda p: p.start):
        closed = active_close(session, month.name)
        if closed is None:
            continue
        year_start = ctx.containing(month.start, PeriodKind.YEAR).start
        if not changed_since_close(session, closed, year_start, month.end):
            continue
        snapshot: dict[tuple[str, str, str], Decimal] = {}
        for e in session.scalars(select(m.RunEarning).where(m.RunEarning.run_id == closed.run_id)):
            key = (e.plan, e.payee, e.component)
            snapshot[key] = snapshot.get(key, ZERO) + e.amount
        today: dict[tuple[str, str, str], Decimal] = {}
        for earning in recompute(month.name):
            key = (earning.plan, earning.payee, earning.component)
            today[key] = today.get(key, ZERO) + earning.amount
        paid = _prior_adjustments_paid(session, ctx, month)
        for key in sorted(set(snapshot) | set(today) | set(paid)):
            amount = today.get(key, ZERO) - snapshot.get(key, ZERO) - paid.get(key, ZERO)
            if amount:
                deltas.append(PriorPeriodDelta(*key, month.name, amount, closed.run_id))
    return deltas


def _prior_adjustments_paid(
    session: Session, ctx: RunContext, corrected: Period
) -> dict[tuple[str, str, str], Decimal]:
    """Prior-period adjustments for `corrected` already paid by the months between it and the run's month."""
    paid: dict[tuple[str, str, str], Decimal] = {}
    between = [p for p in _months_before(ctx, ctx.period) if p.start > corrected.start]
    for month in between:
        run = month_run(session, month.name)
        if run is None:
            continue
        for row in session.scalars(select(m.Payment).where(m.Payment.run_id == run.id)):
            for line in row.lines:
                source = line.get("source", {})
                if line.get("kind") == "prior_period_adjustment" and source.get("period") == corrected.name:
                    key = (row.plan, row.payee, source.get("component", ""))
                    paid[key] = paid.get(key, ZERO) + Decimal(line["amount"])
    return paid


# --- holds released -----------------------------------------------------------------------------------------


def released_keys(
    session: Session, ctx: RunContext, plan: PlanInForce, candidates: Iterable[HoldKey], payee_ids: dict[str, int]
) -> set[HoldKey]:
    """The candidate holds (held before, or earned this month) whose condition is met by the month's end."""
    holds = plan.document.pay.holds if plan.document.pay else []
    month = ctx.period
    keys = list(candidates)
    manual = {
        (r.payee_id, r.component, r.origin_period)
        for r in session.scalars(
            select(m.HoldRelease).where(m.HoldRelease.plan == plan.plan_id, m.HoldRelease.released_in == month.name)
        )
    }
    accepted = {
        r.payee_id
        for r in session.scalars(
            select(m.PlanAcceptance).where(
                m.PlanAcceptance.plan == plan.plan_id, m.PlanAcceptance.accepted_on < month.end
            )
        )
    }
    released: set[HoldKey] = set()
    for key in keys:
        rule = hold_for(key.component, holds)
        payee_id = payee_ids.get(key.payee)
        if rule is None or payee_id is None:
            continue
        if rule.until is HoldUntil.MANUAL:
            met = (payee_id, key.component, key.period) in manual
        elif rule.until is HoldUntil.PLAN_ACCEPTED:
            met = payee_id in accepted
        else:
            met = _paid_by(session, key, month.end)
        if met:
            released.add(key)
    return released


def _paid_by(session: Session, key: HoldKey, end: date) -> bool:
    """Whether every transaction credited to the held earning's payee in its month was paid before `end`."""
    run = month_run(session, key.period)
    if run is None:
        return False
    names = set(
        session.scalars(
            select(m.RunCredit.transaction).where(
                m.RunCredit.run_id == run.id, m.RunCredit.plan == key.plan, m.RunCredit.payee == key.payee
            )
        )
    )
    if not names:
        return True
    last = end - timedelta(days=1)
    for chunk in _chunks(sorted(names), 500):
        for attributes in session.scalars(select(m.Transaction.attributes).where(m.Transaction.external_id.in_(chunk))):
            paid_on = (attributes or {}).get("paid_on")
            if not paid_on or str(paid_on) > last.isoformat():
                return False
    return True


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- clawbacks ---------------------------------------------------------------------------------------------


def plan_clawbacks(session: Session, ctx: RunContext, plan: PlanInForce) -> dict[str, list[ClawbackLine]]:
    """Per payee, the clawback lines of the returns and cancellations dated in the run's month (see the module
    docstring); a plan without `pay.clawback` has none."""
    rule = plan.document.pay.clawback if plan.document.pay else None
    if rule is None:
        return {}
    month = ctx.period
    terms = ClawbackTerms(
        method=ClawbackMethod(rule.method.value),
        window_days=rule.window_days,
        window_months=rule.window_months,
        scale=plan.document.rounding.scale,
    )
    tx, original = m.Transaction, aliased(m.Transaction)
    rows = session.execute(
        select(tx.external_id, tx.date, tx.amount, original.external_id, original.date, original.amount)
        .add_columns(original.attributes)
        .join(original, original.id == tx.original_id)
        .where(tx.type.in_(("return", "cancellation")), tx.date >= month.start, tx.date < month.end)
        .order_by(tx.date, tx.external_id)
    ).all()
    found: dict[str, list[ClawbackLine]] = {}
    for cancel_id, cancelled_on, cancel_amount, original_id, sold_on, sold_amount, attributes in rows:
        origin = _month_name(ctx, sold_on)
        if origin is None:
            raise InvalidInput(
                f"{cancel_id} cancels {original_id} of {sold_on.isoformat()}, outside the calendar: add its fiscal "
                "year to know what it paid"
            )
        if month_number(origin) >= month_number(month.name):
            continue  # sold in this month: the return nets in the measure, nothing was paid to take back
        run = period_run(session, origin)
        credits = list(
            session.scalars(
                select(m.RunCredit)
                .where(
                    m.RunCredit.run_id == run.id,
                    m.RunCredit.plan == plan.plan_id,
                    m.RunCredit.transaction == original_id,
                )
                .order_by(m.RunCredit.payee, m.RunCredit.role, m.RunCredit.level)
            )
        )
        if not credits:
            continue  # the original was not credited under this plan
        paid = commissions_paid(session, run, plan, original_id, credits)
        share = ONE if not sold_amount else min(max(-cancel_amount / sold_amount, ZERO), ONE)
        facts = dict(attributes or {})
        anchor, missing = _anchor(rule, sold_on, facts)
        term = _term(rule, facts)
        if missing is None and rule.method.value == "pro_rata" and term is None:
            missing = f"{original_id} has no whole number of months in {rule.term_attribute!r}: pro rata needs its term"
        cancellation = Cancellation(cancel_id, original_id, cancelled_on, anchor, share, sold_on, term)
        for line in _lines(paid, cancellation, terms, month.name, missing):
            found.setdefault(line.original.payee, []).append(line)
    return found


def _lines(
    paid: list[CommissionPaid],
    cancellation: Cancellation,
    terms: ClawbackTerms,
    period: str,
    missing: str | None,
) -> list[ClawbackLine]:
    """The clawback lines of one cancellation landing in `period`; with `missing` (no anchor date or term to
    count from), a 0 line per original commission that says why."""
    if missing is None:
        return clawbacks(paid, cancellation, terms, period)
    trace = {"cancelled_on": cancellation.cancelled_on.isoformat(), "method": terms.method.value}
    return [ClawbackLine(p, cancellation.id, period, ZERO, ZERO, f"no clawback: {missing}", trace) for p in paid]


def _anchor(rule: Clawback, sold_on: date, attributes: dict[str, Any]) -> tuple[date, str | None]:
    """The date the window counts from, or the reason there is none."""
    name = rule.anchor_field
    if name is None:
        return sold_on, None
    value = attributes.get(name)
    try:
        return date.fromisoformat(str(value)), None
    except ValueError:
        shown = "no value" if value in (None, "") else repr(value)
        return sold_on, f"anchor {rule.anchor.value}: the original's {name!r} has {shown}, not a date"


def _term(rule: Clawback, attributes: dict[str, Any]) -> int | None:
    value = attributes.get(rule.term_attribute)
    try:
        months = Decimal(str(value))
    except (ArithmeticError, ValueError):
        return None
    if not months.is_finite() or months <= 0 or months != months.to_integral_value():
        return None
    return int(months)


def commissions_paid(
    session: Session, run: m.Run, plan: PlanInForce, transaction: str, credits: list[m.RunCredit]
) -> list[CommissionPaid]:
    """What `transaction` was paid by each earning of `run` (its month's) of the payees credited with it: a
    per-transaction earning's lines share it exactly; an aggregate earning is shared by the transaction's value
    toward its measure, `earning × value / base` (`allocate`). Bonuses and SPIFs are not shared (not clawed)."""
    payees = sorted({c.payee for c in credits})
    measures = {x.name: x for x in plan.document.measures}
    scale = plan.document.rounding.scale
    earnings = session.scalars(
        select(m.RunEarning)
        .where(m.RunEarning.run_id == run.id, m.RunEarning.plan == plan.plan_id, m.RunEarning.payee.in_(payees))
        .order_by(m.RunEarning.payee, m.RunEarning.component, m.RunEarning.id)
    )
    found: list[CommissionPaid] = []
    for e in earnings:
        trace = e.trace if isinstance(e.trace, dict) else {}
        lines = [x for x in trace.get("lines") or [] if isinstance(x, dict) and "transaction" in x]
        if lines:
            by_tx: dict[str, Decimal] = {}
            for x in lines:
                by_tx[x["transaction"]] = by_tx.get(x["transaction"], ZERO) + Decimal(str(x["amount"]))
            if transaction not in by_tx:
                continue
            amount = allocate(e.amount, by_tx, sum(by_tx.values(), ZERO), scale)[transaction]
        elif trace.get("measure") and trace.get("base") is not None:
            name = str(trace["measure"])
            mine = [c for c in credits if c.payee == e.payee and name in (c.measures or "").split(",")]
            if not mine:
                continue
            value = _credit_value(measures.get(name), mine)
            amount = allocate(e.amount, {transaction: value}, Decimal(str(trace["base"])), scale)[transaction]
        else:
            continue
        if amount:
            found.append(CommissionPaid(plan.plan_id, e.payee, e.component, e.period, transaction, amount))
    return found


def _credit_value(measure: Measure | None, credits: list[m.RunCredit]) -> Decimal:
    """What a transaction's credits of one payee add to a sum or count measure."""
    if measure is not None and measure.count == "transactions":
        return ONE
    if measure is not None and measure.count == "credits":
        return Decimal(len(credits))
    if measure is None or measure.sum is None:
        return sum((c.amount for c in credits), ZERO)
    expression = parse(measure.sum)
    total = ZERO
    for c in credits:
        env = {
            "amount": c.amount,
            "credit.share": c.share,
            "credit.level": c.level,
            "credit.role": c.role,
            "credit.source": c.source,
        }
        try:
            total += Decimal(evaluate(expression, env) or 0)
        except ExprError as exc:
            raise InvalidInput(f"measure {measure.name}: cannot value {c.transaction} for a clawback: {exc}") from None
    return total


# --- rates --------------------------------------------------------------------------------------------------


def pay_rate(session: Session, from_currency: str, to_currency: str, day: date) -> PayRate | None:
    """The stored from→to rate in force on `day` (or 1 / the inverse rate, at 12 places); None if neither."""
    fx = m.FxRate
    found = session.execute(
        select(fx.from_currency, fx.rate, fx.effective_date)
        .where(
            or_(
                (fx.from_currency == from_currency) & (fx.to_currency == to_currency),
                (fx.from_currency == to_currency) & (fx.to_currency == from_currency),
            ),
            fx.effective_date <= day,
        )
        .order_by(fx.effective_date.desc())
    ).all()
    direct = next((r for r in found if r[0] == from_currency), None)
    if direct is not None:
        return PayRate(from_currency, to_currency, direct[1], direct[2])
    inverse = next(iter(found), None)
    if inverse is None:
        return None
    return PayRate(from_currency, to_currency, (1 / inverse[1]).quantize(_RATE_QUANTUM, ROUND_HALF_UP), inverse[2])


# --- the month ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Facts:
    id: int
    pay_currency: str
    termination: date | None
    plan_start: date | None
    parameters: dict[str, Decimal]
    target_incentive: Decimal | None


def _facts(session: Session, plan: PlanInForce, month: Period) -> dict[str, _Facts]:
    """Payees assigned to the plan in the month, by external id."""
    pa = m.PlanAssignment
    rows = session.execute(
        select(m.Payee.external_id, m.Payee.id, m.Payee.pay_currency, m.Payee.termination_date, pa)
        .join(pa, pa.payee_id == m.Payee.id)
        .join(m.Plan, m.Plan.id == pa.plan_id)
        .where(m.Plan.external_id == plan.plan_id, pa.effective_from < month.end)
        .where(or_(pa.effective_to.is_(None), pa.effective_to > month.start))
        .order_by(pa.effective_from)
    ).all()
    found: dict[str, _Facts] = {}
    for external_id, payee_id, currency, termination, assignment in rows:
        first = found.get(external_id)
        found[external_id] = _Facts(
            payee_id,
            currency,
            termination,
            first.plan_start if first else assignment.effective_from,
            parameters_of(json.dumps(assignment.parameters) if assignment.parameters else None),
            assignment.target_incentive,
        )
    return found


def _month_name(ctx: RunContext, day: date | None) -> str | None:
    if day is None:
        return None
    try:
        return ctx.containing(day, PeriodKind.MONTH).name
    except LookupError:
        return None


def plan_payments(
    session: Session,
    ctx: RunContext,
    plan: PlanInForce,
    earnings: list[Earning],
    deltas: list[PriorPeriodDelta],
) -> list[Payment]:
    """One plan's payments for the run's month (see the module docstring)."""
    month = ctx.period
    doc = plan.document
    facts = _facts(session, plan, month)
    before = balances_before(session, ctx, plan.plan_id)
    mine = [e for e in earnings if e.plan == plan.plan_id and e.period == month.name]
    by_payee: dict[str, list[Earning]] = {}
    for e in mine:
        by_payee.setdefault(e.payee, []).append(e)
    adjustments: dict[str, list[Adjustment]] = {}
    external = {f.id: name for name, f in facts.items()}
    for row in session.scalars(
        select(m.Adjustment)
        .where(m.Adjustment.plan == plan.plan_id, m.Adjustment.period == month.name, m.Adjustment.status == "approved")
        .order_by(m.Adjustment.id)
    ):
        name = external.get(row.payee_id) or session.get_one(m.Payee, row.payee_id).external_id
        if row.currency != doc.currency:
            raise InvalidInput(f"adjustment {row.id} is in {row.currency}; plan {plan.plan_id} pays in {doc.currency}")
        adjustments.setdefault(name, []).append(
            Adjustment(str(row.id), name, month.name, row.amount, row.reason_code, row.note or "", row.prior_period)
        )
    for d in (d for d in deltas if d.plan == plan.plan_id):
        adjustments.setdefault(d.payee, []).append(
            Adjustment(
                f"ppa:{d.period}:{d.component}",
                d.payee,
                month.name,
                d.amount,
                f"{d.component}: {d.period} changed after its close (snapshot run {d.snapshot_run})",
                prior_period=d.period,
            )
        )
    clawed = plan_clawbacks(session, ctx, plan)
    names = sorted(set(by_payee) | {p for p, b in before.items() if b.draw_owed or b.held} | set(adjustments))
    names = sorted(set(names) | set(clawed))
    if doc.pay and doc.pay.draw:
        names = sorted(set(names) | set(facts))
    payee_ids = {n: f.id for n, f in facts.items()}
    for n in names:
        if n not in payee_ids:
            payee_ids[n] = session.scalars(select(m.Payee.id).where(m.Payee.external_id == n)).one()
    candidates = [k for n in names for k in before.get(n, PayBalance()).held] + [
        HoldKey(e.plan, e.payee, e.component, e.period) for e in mine
    ]
    released = released_keys(session, ctx, plan, candidates, payee_ids)
    last_day = month.end - timedelta(days=1)
    inputs: list[PayeePay] = []
    for name in names:
        fact = facts.get(name)
        currency = (
            fact.pay_currency
            if fact
            else session.scalars(select(m.Payee.pay_currency).where(m.Payee.external_id == name)).one()
        )
        rates = {}
        if currency != doc.currency:
            rate = pay_rate(session, doc.currency, currency, last_day)
            if rate is None:
                raise InvalidInput(
                    f"{name} is paid in {currency}: no {doc.currency}→{currency} rate on or before {last_day}"
                )
            rates[month.name] = rate
        draw = None
        if doc.pay and doc.pay.draw and fact is not None:
            env: dict[str, Any] = {f"param.{k}": v for k, v in {**doc.parameters, **fact.parameters}.items()}
            env["target_incentive"] = fact.target_incentive
            draw = draw_terms(doc.pay.draw, env, doc.rounding.scale)
        inputs.append(
            PayeePay(
                payee=name,
                pay_currency=currency,
                earnings=by_payee.get(name, []),
                adjustments=adjustments.get(name, []),
                clawbacks=clawed.get(name, []),
                draw=draw,
                plan_start=_month_name(ctx, fact.plan_start) if fact else None,
                terminated_in=_month_name(ctx, fact.termination) if fact else None,
                released={month.name: released},
                rates=rates,
            )
        )
    payments, _after = pay([month.name], inputs, doc.pay, before, plan=plan.plan_id, currency=doc.currency)
    return payments


def payment_row(payment: Payment, payee_id: int) -> dict[str, Any]:
    """A payment as the columns of `payments` (without the run id)."""
    earned = sum((line.amount for line in payment.lines if line.kind.value == "earning"), ZERO)
    return {
        "plan": payment.plan,
        "payee_id": payee_id,
        "payee": payment.payee,
        "period": payment.period,
        "currency": payment.currency,
        "earned": earned,
        "amount": payment.amount,
        "pay_currency": payment.pay_currency,
        "rate": payment.rate,
        "rate_date": payment.rate_date,
        "pay_amount": payment.pay_amount,
        "lines": [
            {
                "kind": line.kind.value,
                "amount": to_text(line.amount),
                "pay_amount": to_text(line.pay_amount),
                "source": line.source,
                "reason": line.reason,
            }
            for line in payment.lines
        ],
        "balance": balance_json(payment.balance),
    }


def payment_rows(
    session: Session,
    ctx: RunContext,
    earnings: list[Earning],
    recompute: Recompute,
    payees: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The run's payments for every plan, as `payments` rows without their run id (reads only; the plan
    version in force at the month's end gives the pay policy)."""
    deltas = prior_period_deltas(session, ctx, recompute)
    last: dict[str, PlanInForce] = {}
    for plan in ctx.plans:
        current = last.get(plan.plan_id)
        if current is None or (plan.applies_from or date.min) >= (current.applies_from or date.min):
            last[plan.plan_id] = plan
    ids = dict(session.execute(select(m.Payee.external_id, m.Payee.id)).tuples().all())
    rows: list[dict[str, Any]] = []
    for plan_id in sorted(last):
        for payment in plan_payments(session, ctx, last[plan_id], earnings, deltas):
            if payees is None or payment.payee in payees:
                rows.append(payment_row(payment, ids[payment.payee]))
    return rows


def store_payments(session: Session, run_id: int, rows: list[dict[str, Any]]) -> None:
    """Write a run's payment rows."""
    if rows:
        session.execute(insert(m.Payment), [row | {"run_id": run_id} for row in rows])
