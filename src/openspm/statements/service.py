"""Statements: what one payee earned and is paid in one month, read back from the store.

`statement(session, "FY2025-M08", "P0001")` assembles, from the run behind the month (`period_run`: the run
frozen at close for a closed month, else the newest completed run):

- the payee, the run, and whether the month is closed (and when);
- each earning of the payee with its arithmetic from the trace: the base and quota, tier lines (with the
  attainment bands they came from), per-deal lines, multipliers, gate, cap and what it cut, rounding, and for
  true-up components the earning to date and what earlier months earned;
- the payment of each plan (`payments`): its lines (earning, hold, release, adjustments, clawbacks, draw),
  totals by kind, the stored amounts in the plan and the pay currency, and the balances carried forward;
- year-to-date totals: earned and paid in the fiscal year through this month, each month from its own run;
- the drill-down: every credit of the month behind the payee's earnings (`run_credits` of the run), with its
  transaction (date, account, product, amount in the transaction's currency).

Nothing here formats money: amounts stay `Decimal` as stored, and sums are exact. The templates format them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openspm.core.errors import InvalidInput, NotFound
from openspm.core.period import Period, PeriodKind
from openspm.plan.load import PlanError, parse_plan
from openspm.plan.models import Component, PlanDocument, TieredRate
from openspm.runs.pay import active_close, period_run
from openspm.runs.service import calendar_periods
from openspm.store import models as m
from openspm.store.audit import values_before

ZERO = Decimal(0)

LINE_LABELS = {
    "earning": "Earning",
    "hold": "Held",
    "release": "Released",
    "adjustment": "Adjustment",
    "prior_period_adjustment": "Prior-period adjustment",
    "clawback": "Clawback",
    "draw_advance": "Draw advance",
    "draw_recovery": "Draw recovery",
    "guarantee_forgiven": "Guarantee (forgiven)",
}
KIND_LABELS = {
    "tiered_rate": "Tiered rate",
    "flat_rate": "Flat rate",
    "bonus": "Bonus",
    "spif": "SPIF",
    "override": "Override",
    "lookup_rate": "Rate table",
}


# --- the statement's parts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PayeeInfo:
    external_id: str
    name: str
    email: str | None
    role: str | None
    region: str | None
    cost_center: str | None
    pay_currency: str
    hire_date: date | None
    termination_date: date | None


@dataclass(frozen=True)
class TierStep:
    """One band of a tier table: `portion × rate = amount` within `[lower, upper)` (amount units); for tiers on
    attainment, the band's bounds as fractions of the quota too."""

    lower: Decimal
    upper: Decimal | None
    portion: Decimal
    rate: Decimal
    amount: Decimal
    lower_attainment: Decimal | None = None
    upper_attainment: Decimal | None = None


@dataclass(frozen=True)
class DealLine:
    """One transaction of a per-transaction rule: its credited base, rate (when one applies) and amount."""

    transaction: str
    base: Decimal
    amount: Decimal
    rate: Decimal | None = None
    key: tuple[str, ...] = ()
    tiers: tuple[TierStep, ...] = ()


@dataclass(frozen=True)
class EarningDetail:
    """One earning of the payee, as stored, with the steps of its arithmetic from the trace."""

    plan: str
    plan_name: str
    component: str
    kind: str
    kind_label: str
    period: str
    measure_period: str
    measure: str | None
    base: Decimal | None
    quota: Decimal | None
    attainment: Decimal | None
    rate: Decimal | None
    amount: Decimal  # paid this month (stored)
    cut: Decimal  # cut by a cap (stored)
    currency: str
    basis: str | None = None  # tiers on "amount" or "attainment"
    method: str | None = None  # marginal, retroactive, section, interpolated
    timing: str | None = None  # end, true_up
    eligible: bool = True
    eligible_condition: str | None = None
    threshold: Decimal | None = None
    tiers: tuple[TierStep, ...] = ()
    deals: tuple[DealLine, ...] = ()
    raw: Decimal | None = None  # before multipliers, gate and cap (exact)
    multipliers: tuple[tuple[str, Decimal], ...] = ()
    gate: tuple[str, bool] | None = None
    bonus_condition: tuple[str, bool] | None = None
    bonus_target_share: Decimal | None = None  # a bonus of this fraction of the annual target incentive
    spif_count: Decimal | None = None  # deals or units
    spif_unit: str | None = None
    cap_limit: Decimal | None = None
    cap_per: str | None = None
    cap_already_paid: Decimal | None = None
    unrounded: Decimal | None = None
    rounded: Decimal | None = None  # the earning to date after rounding (trace "amount")
    rounding_scale: int | None = None
    rounding_mode: str | None = None
    to_date: Decimal | None = None
    earned_before: Decimal | None = None
    carried: Decimal | None = None
    credits_months: tuple[str, ...] = ()
    credits_count: int | None = None
    credits_value: Decimal | None = None
    month_credits: int = 0  # credits of this month behind the measure, listed in the drill-down
    month_credits_value: Decimal = ZERO


@dataclass(frozen=True)
class PaymentLineDetail:
    """A stored payment line; `source` is its link (plan, component, period, transaction, adjustment, draw, ...),
    with the draw balances it moves as Decimals."""

    kind: str
    label: str
    amount: Decimal
    pay_amount: Decimal
    source: dict[str, str]
    reason: str
    balance_before: Decimal | None = None
    balance_after: Decimal | None = None


@dataclass(frozen=True)
class BalanceItem:
    label: str
    amount: Decimal
    detail: str = ""


@dataclass(frozen=True)
class PaymentDetail:
    """A stored payment of one plan: its amounts as stored, its lines, totals by line kind, balances after."""

    plan: str
    plan_name: str
    currency: str
    earned: Decimal
    amount: Decimal
    pay_currency: str
    rate: Decimal
    rate_date: date | None
    pay_amount: Decimal
    lines: tuple[PaymentLineDetail, ...]
    by_kind: dict[str, Decimal]
    balance: tuple[BalanceItem, ...]


@dataclass(frozen=True)
class CreditLine:
    """A credit of the month (a share of a transaction to the payee) and its transaction."""

    plan: str
    transaction: str
    date: date
    role: str
    role_class: str
    source: str
    level: int
    share: Decimal
    amount: Decimal  # credited, in the plan currency
    currency: str
    measures: tuple[str, ...]
    original: str | None
    type: str | None = None  # sale, return, cancellation
    account: str | None = None
    account_name: str | None = None
    product: str | None = None
    product_name: str | None = None
    product_family: str | None = None
    order: str | None = None
    transaction_amount: Decimal | None = None
    transaction_currency: str | None = None


@dataclass(frozen=True)
class YearToDate:
    """Earned and paid in the fiscal year through the month, each month read from its own run."""

    months: tuple[str, ...]
    earned: dict[str, Decimal]  # per plan currency
    paid: dict[str, Decimal]  # per plan currency
    paid_pay: dict[str, Decimal]  # per pay currency
    without_run: tuple[str, ...] = ()
    without_payments: tuple[str, ...] = ()


@dataclass(frozen=True)
class StatementData:
    period: str
    period_start: date
    period_end: date  # exclusive
    fiscal_year: int
    payee: PayeeInfo
    run_id: int
    run_finished_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    earnings: tuple[EarningDetail, ...]
    earned: dict[str, Decimal]  # Σ earnings per currency
    payments: tuple[PaymentDetail, ...]
    payments_stored: bool  # False: the run was made before payments existed
    paid: dict[str, Decimal]  # Σ payment amounts per plan currency
    paid_pay: dict[str, Decimal]  # Σ pay amounts per pay currency
    credits: tuple[CreditLine, ...]
    ytd: YearToDate
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @property
    def period_last_day(self) -> date:
        return self.period_end - timedelta(days=1)


# --- reading -----------------------------------------------------------------------------------------------


def statement(session: Session, period: str, payee_external_id: str) -> StatementData:
    """The statement of one payee for one month (NotFound for an unknown payee or month, or a payee with
    nothing in the month's run)."""
    month = _month(session, period)
    payee = session.scalars(select(m.Payee).where(m.Payee.external_id == payee_external_id)).first()
    if payee is None:
        raise NotFound(f"unknown payee {payee_external_id!r}")
    run = period_run(session, period)
    close = active_close(session, period)
    earnings_rows = list(
        session.scalars(
            select(m.RunEarning)
            .where(m.RunEarning.run_id == run.id, m.RunEarning.payee == payee.external_id)
            .order_by(m.RunEarning.plan, m.RunEarning.id)
        )
    )
    payment_rows = list(
        session.scalars(
            select(m.Payment)
            .where(m.Payment.run_id == run.id, m.Payment.payee == payee.external_id)
            .order_by(m.Payment.plan)
        )
    )
    credit_rows = list(
        session.scalars(
            select(m.RunCredit)
            .where(m.RunCredit.run_id == run.id, m.RunCredit.payee == payee.external_id)
            .order_by(m.RunCredit.date, m.RunCredit.transaction, m.RunCredit.plan, m.RunCredit.role, m.RunCredit.id)
        )
    )
    if not earnings_rows and not payment_rows and not credit_rows:
        raise NotFound(
            f"payee {payee.external_id} has no earnings, payments or credits in {period} (run {run.id}); "
            "are they on a plan that month?"
        )
    payments_stored = _run_has_payments(session, run.id)
    plans = _PlanDocuments(session)
    credits = _credits(session, credit_rows, close.closed_at if close is not None else None)
    earnings = tuple(_earning(e, plans, credits) for e in earnings_rows)
    payments = tuple(_payment(p, plans) for p in payment_rows)
    notes: list[str] = []
    if not payments_stored:
        notes.append(
            f"Run {run.id} was made before payments existed: this statement shows earnings only. "
            f"Run {period} again to see what is paid."
        )
    elif not payment_rows:
        notes.append(f"Run {run.id} has no payment for {payee.external_id} in {period}.")
    if close is None:
        notes.append(f"{period} is open: these figures can still change until the month is closed.")
    return StatementData(
        period=month.name,
        period_start=month.start,
        period_end=month.end,
        fiscal_year=month.fiscal_year,
        payee=PayeeInfo(
            payee.external_id,
            payee.name,
            payee.email,
            payee.role,
            payee.region,
            payee.cost_center,
            payee.pay_currency,
            payee.hire_date,
            payee.termination_date,
        ),
        run_id=run.id,
        run_finished_at=run.finished_at,
        closed_at=close.closed_at if close else None,
        closed_by=close.closed_by if close else None,
        earnings=earnings,
        earned=_sum_by((e.currency, e.amount) for e in earnings),
        payments=payments,
        payments_stored=payments_stored,
        paid=_sum_by((p.currency, p.amount) for p in payments),
        paid_pay=_sum_by((p.pay_currency, p.pay_amount) for p in payments),
        credits=credits,
        ytd=year_to_date(session, month, payee.external_id),
        notes=tuple(notes),
    )


def statement_payees(session: Session, period: str) -> list[str]:
    """The payees with earnings or payments in the month's run, sorted by external id."""
    run = period_run(session, period)
    found = set(session.scalars(select(m.RunEarning.payee).where(m.RunEarning.run_id == run.id).distinct()))
    found |= set(session.scalars(select(m.Payment.payee).where(m.Payment.run_id == run.id).distinct()))
    return sorted(found)


def _month(session: Session, period: str) -> Period:
    periods = calendar_periods(session)
    month = next((p for p in periods if p.name == period), None)
    if month is None:
        raise NotFound(f"unknown period {period!r}")
    if month.kind is not PeriodKind.MONTH:
        raise InvalidInput(f"{period} is a {month.kind.value}; statements are per month, e.g. FY2025-M08")
    return month


def _run_has_payments(session: Session, run_id: int) -> bool:
    return session.scalar(select(m.Payment.id).where(m.Payment.run_id == run_id).limit(1)) is not None


def _sum_by(pairs: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    total: dict[str, Decimal] = {}
    for currency, amount in pairs:
        total[currency] = total.get(currency, ZERO) + amount
    return dict(sorted(total.items()))


def year_to_date(session: Session, month: Period, payee: str) -> YearToDate:
    """Earned and paid in the month's fiscal year through the month, from each month's `period_run`."""
    months = sorted(
        (
            p
            for p in calendar_periods(session)
            if p.kind is PeriodKind.MONTH and p.fiscal_year == month.fiscal_year and p.start <= month.start
        ),
        key=lambda p: p.start,
    )
    earned: list[tuple[str, Decimal]] = []
    paid: list[tuple[str, Decimal]] = []
    paid_pay: list[tuple[str, Decimal]] = []
    without_run: list[str] = []
    without_payments: list[str] = []
    for p in months:
        try:
            run = period_run(session, p.name)
        except NotFound:
            without_run.append(p.name)
            continue
        rows = session.execute(
            select(m.RunEarning.currency, m.RunEarning.amount).where(
                m.RunEarning.run_id == run.id, m.RunEarning.payee == payee
            )
        )
        earned.extend((currency, amount) for currency, amount in rows)
        if not _run_has_payments(session, run.id):
            without_payments.append(p.name)
            continue
        for payment in session.scalars(select(m.Payment).where(m.Payment.run_id == run.id, m.Payment.payee == payee)):
            paid.append((payment.currency, payment.amount))
            paid_pay.append((payment.pay_currency, payment.pay_amount))
    return YearToDate(
        months=tuple(p.name for p in months),
        earned=_sum_by(earned),
        paid=_sum_by(paid),
        paid_pay=_sum_by(paid_pay),
        without_run=tuple(without_run),
        without_payments=tuple(without_payments),
    )


# --- plans -------------------------------------------------------------------------------------------------


class _PlanDocuments:
    """Plan documents by (plan, version), parsed once; None when a version cannot be read."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.found: dict[tuple[str, int | None], PlanDocument | None] = {}

    def get(self, plan: str, version: int | None) -> PlanDocument | None:
        key = (plan, version)
        if key not in self.found:
            self.found[key] = self._load(plan, version)
        return self.found[key]

    def _load(self, plan: str, version: int | None) -> PlanDocument | None:
        query = select(m.PlanVersion.document).join(m.Plan, m.Plan.id == m.PlanVersion.plan_id)
        query = query.where(m.Plan.external_id == plan)
        if version is not None:
            query = query.where(m.PlanVersion.version == version)
        document = self.session.scalars(query.order_by(m.PlanVersion.version.desc())).first()
        if not document:
            return None
        try:
            return parse_plan(document, f"plan {plan} version {version}")
        except PlanError:
            return None

    def name(self, plan: str, version: int | None = None) -> str:
        doc = self.get(plan, version)
        if doc is not None:
            return doc.name
        stored = self.session.scalars(select(m.Plan.name).where(m.Plan.external_id == plan)).first()
        return stored or plan

    def component(self, plan: str, version: int | None, name: str) -> Component | None:
        doc = self.get(plan, version)
        if doc is None:
            return None
        return next((c for c in doc.components if c.name == name), None)


# --- earnings ----------------------------------------------------------------------------------------------


def _dec(value: Any) -> Decimal | None:
    """A trace value (exact text, or an int) as a Decimal; None when absent."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _tier_steps(lines: Any, quota: Decimal | None, on_attainment: bool) -> tuple[TierStep, ...]:
    steps = []
    for line in lines or []:
        if not isinstance(line, dict) or "portion" not in line:
            continue
        lower = _dec(line.get("from")) or ZERO
        upper = _dec(line.get("to"))
        scale = quota if on_attainment and quota else None
        steps.append(
            TierStep(
                lower=lower,
                upper=upper,
                portion=_dec(line.get("portion")) or ZERO,
                rate=_dec(line.get("rate")) or ZERO,
                amount=_dec(line.get("amount")) or ZERO,
                lower_attainment=lower / scale if scale else None,
                upper_attainment=upper / scale if scale is not None and upper is not None else None,
            )
        )
    return tuple(steps)


def _earning(e: m.RunEarning, plans: _PlanDocuments, credits: tuple[CreditLine, ...]) -> EarningDetail:
    t: dict[str, Any] = e.trace or {}
    version = t.get("plan_version")
    version = version if isinstance(version, int) else None
    component = plans.component(e.plan, version, e.component)
    kind = str(t.get("kind") or (component.kind if component else ""))
    on_attainment = isinstance(component, TieredRate) and component.basis == "attainment"
    if component is not None and component.kind == "override":
        on_attainment = getattr(component, "basis", "amount") == "attainment"
    quota = e.quota if e.quota is not None else _dec(t.get("quota"))
    tiers = _tier_steps(t.get("lines"), quota, on_attainment)
    deals = tuple(
        DealLine(
            transaction=str(line.get("transaction", "")),
            base=_dec(line.get("base")) or ZERO,
            amount=_dec(line.get("amount")) or ZERO,
            rate=_dec(line.get("rate")),
            key=tuple(str(k) for k in line.get("key", [])),
            tiers=_tier_steps(line.get("tiers"), quota, on_attainment),
        )
        for line in t.get("lines") or []
        if isinstance(line, dict) and "transaction" in line
    )
    base = _dec(t.get("base"))
    threshold = _dec(t.get("threshold"))
    rate = _dec(t.get("rate"))
    raw: Decimal | None = None
    if deals:
        raw = sum((d.amount for d in deals), ZERO)
    elif tiers:
        raw = sum((s.amount for s in tiers), ZERO)
    elif kind in ("flat_rate", "override") and base is not None and rate is not None:
        raw = (max(base - threshold, ZERO) if threshold is not None else base) * rate
    elif kind == "spif":
        count = _dec(t.get("deals")) if "deals" in t else _dec(t.get("units"))
        raw = count * rate if count is not None and rate is not None else None
    elif kind == "bonus":
        raw = None  # the bonus amount is shown with its condition
    gate = t.get("gate")
    cap = t.get("cap") if isinstance(t.get("cap"), dict) else None
    true_up = t.get("true_up") if isinstance(t.get("true_up"), dict) else None
    behind = t.get("credits") if isinstance(t.get("credits"), dict) else None
    measure = t.get("measure")
    mine = [c for c in credits if behind is not None and c.plan == e.plan and str(behind.get("measure")) in c.measures]
    count = behind.get("count") if behind else None
    return EarningDetail(
        plan=e.plan,
        plan_name=plans.name(e.plan, version),
        component=e.component,
        kind=kind,
        kind_label=KIND_LABELS.get(kind, kind.replace("_", " ").capitalize()),
        period=e.period,
        measure_period=e.measure_period,
        measure=str(measure) if measure else None,
        base=e.base,
        quota=e.quota,
        attainment=e.attainment,
        rate=e.rate,
        amount=e.amount,
        cut=e.cut,
        currency=e.currency,
        basis=("attainment" if on_attainment else "amount") if kind in ("tiered_rate", "override") else None,
        method=str(t["method"]) if t.get("method") else None,
        timing=component.payout.timing if component is not None else ("true_up" if true_up else None),
        eligible=t.get("eligible") is not False,
        eligible_condition=str(t["condition"]) if t.get("eligible") is False and t.get("condition") else None,
        threshold=threshold,
        tiers=tiers if not deals else (),
        deals=deals,
        raw=raw,
        multipliers=tuple(
            (str(x.get("when")), _dec(x.get("factor")) or ZERO)
            for x in t.get("multipliers") or []
            if isinstance(x, dict)
        ),
        gate=(str(gate.get("when")), bool(gate.get("passed"))) if isinstance(gate, dict) else None,
        bonus_condition=(str(t.get("when")), bool(t.get("holds"))) if kind == "bonus" and "when" in t else None,
        bonus_target_share=getattr(component, "target_share", None) if kind == "bonus" else None,
        spif_count=(_dec(t.get("deals")) if "deals" in t else _dec(t.get("units"))) if kind == "spif" else None,
        spif_unit=("deal" if "deals" in t else "unit") if kind == "spif" else None,
        cap_limit=_dec(cap.get("limit")) if cap else None,
        cap_per=str(cap.get("per")) if cap and cap.get("per") else None,
        cap_already_paid=_dec(cap.get("already_paid")) if cap else None,
        unrounded=_dec(t.get("unrounded")),
        rounded=_dec(t.get("amount")),
        rounding_scale=t.get("rounding_scale") if isinstance(t.get("rounding_scale"), int) else None,
        rounding_mode=str(t["rounding_mode"]) if t.get("rounding_mode") else None,
        to_date=_dec(true_up.get("to_date")) if true_up else None,
        earned_before=_dec(true_up.get("earned_before")) if true_up else None,
        carried=_dec(true_up.get("carried")) if true_up else None,
        credits_months=tuple(str(x) for x in behind.get("months", [])) if behind else (),
        credits_count=count if isinstance(count, int) else None,
        credits_value=_dec(behind.get("value")) if behind else None,
        month_credits=len(mine),
        month_credits_value=sum((c.amount for c in mine), ZERO),
    )


# --- payments ----------------------------------------------------------------------------------------------


def _payment(p: m.Payment, plans: _PlanDocuments) -> PaymentDetail:
    lines = []
    for line in p.lines or []:
        kind = str(line.get("kind", ""))
        source = line.get("source") or {}
        lines.append(
            PaymentLineDetail(
                kind=kind,
                label=LINE_LABELS.get(kind, kind.replace("_", " ").capitalize()),
                amount=_dec(line.get("amount")) or ZERO,
                pay_amount=_dec(line.get("pay_amount")) or ZERO,
                source={str(k): str(v) for k, v in source.items()} if isinstance(source, dict) else {},
                reason=str(line.get("reason") or ""),
                balance_before=_dec(source.get("balance_before")) if isinstance(source, dict) else None,
                balance_after=_dec(source.get("balance_after")) if isinstance(source, dict) else None,
            )
        )
    by_kind: dict[str, Decimal] = {}
    for line in lines:
        by_kind[line.kind] = by_kind.get(line.kind, ZERO) + line.amount
    return PaymentDetail(
        plan=p.plan,
        plan_name=plans.name(p.plan),
        currency=p.currency,
        earned=p.earned,
        amount=p.amount,
        pay_currency=p.pay_currency,
        rate=p.rate,
        rate_date=p.rate_date,
        pay_amount=p.pay_amount,
        lines=tuple(lines),
        by_kind=by_kind,
        balance=tuple(_balance(p.balance or {})),
    )


BALANCE_LABELS = {
    "draw_owed": "Draw balance owed",
    "forgiven_to_date": "Guarantees forgiven to date",
    "held_total": "Held, to be paid on release",
    "owed_at_termination": "Draw owed at termination",
}


def _balance(data: dict[str, Any]) -> Iterator[BalanceItem]:
    for key in [*BALANCE_LABELS, *sorted(k for k in data if k not in BALANCE_LABELS and k != "held")]:
        amount = _dec(data.get(key))
        if amount is not None:
            yield BalanceItem(BALANCE_LABELS.get(key, key.replace("_", " ").capitalize()), amount)
    held = data.get("held")
    if isinstance(held, list):
        for h in held:
            if isinstance(h, dict) and _dec(h.get("amount")) is not None:
                detail = f"until {h.get('until')}" if h.get("until") else ""
                label = f"Held: {h.get('component', '')} of {h.get('period', '')}"
                yield BalanceItem(label, _dec(h.get("amount")) or ZERO, detail)


# --- credits -----------------------------------------------------------------------------------------------


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _as_of(session: Session, found: dict[str, Any], at: datetime) -> dict[str, Any]:
    """The transactions as they were at `at` (a close): a change audited since is undone field by field, from
    the `before` of the first audited change of each field. Account and product names are today's."""
    if not found:
        return found
    a, p = m.Account, m.Product
    rows = {k: list(v) for k, v in found.items()}
    for key, fields in values_before(session, "transactions", at, sorted(found)).items():
        row = rows[key]
        for field_name, value in fields.items():
            if field_name == "amount" and value is not None:
                row[2] = Decimal(str(value))
            elif field_name in ("type", "currency"):
                row[1 if field_name == "type" else 3] = value
            elif field_name in ("order", "order_id"):
                row[4] = value
            elif field_name in ("account", "account_id") and value is not None:
                column = a.external_id if field_name == "account" else a.id
                account = session.execute(select(a.external_id, a.name).where(column == value)).first()
                if account is not None:
                    row[5], row[6] = account
            elif field_name in ("product", "product_id") and value is not None:
                column = p.external_id if field_name == "product" else p.id
                product = session.execute(select(p.external_id, p.name, p.family).where(column == value)).first()
                if product is not None:
                    row[7], row[8], row[9] = product
    return rows


def _credits(session: Session, rows: list[m.RunCredit], closed_at: datetime | None = None) -> tuple[CreditLine, ...]:
    """The run's credits with their transactions (account, product, amount as imported; for a closed month, as
    they were at its close)."""
    names = sorted({c.transaction for c in rows})
    t, a, p = m.Transaction, m.Account, m.Product
    found: dict[str, Any] = {}
    for chunk in _chunks(names, 500):
        query = (
            select(t.external_id, t.type, t.amount, t.currency, t.order_id, a.external_id, a.name, p.external_id,
                   p.name, p.family)
            .join(a, a.id == t.account_id)
            .join(p, p.id == t.product_id)
            .where(t.external_id.in_(chunk))
        )  # fmt: skip
        for row in session.execute(query):
            found[row[0]] = row
    if closed_at is not None:
        found = _as_of(session, found, closed_at)
    lines = []
    for c in rows:
        tx = found.get(c.transaction)
        lines.append(
            CreditLine(
                plan=c.plan,
                transaction=c.transaction,
                date=c.date,
                role=c.role,
                role_class=c.role_class,
                source=c.source,
                level=c.level,
                share=c.share,
                amount=c.amount,
                currency=c.currency,
                measures=tuple(x for x in (c.measures or "").split(",") if x),
                original=c.original,
                type=tx[1] if tx else None,
                transaction_amount=tx[2] if tx else None,
                transaction_currency=tx[3] if tx else None,
                order=tx[4] if tx else None,
                account=tx[5] if tx else None,
                account_name=tx[6] if tx else None,
                product=tx[7] if tx else None,
                product_name=tx[8] if tx else None,
                product_family=tx[9] if tx else None,
            )
        )
    return tuple(lines)
