"""A payee's plan document: the plan version's rules in words, with the payee's own figures, and its acceptance.

`plan_document(session, payee, plan, version)` reads the plan version's YAML (`plan_versions.document`), the
payee's assignments to the plan (dates, target incentive, currency, parameters) and quotas, and the payee's
acceptance of that version (`plan_acceptances`), and explains every part of the plan: what each component pays
(rates, tier tables, gates, multipliers, caps, bonuses, SPIFs, overrides, lookups, payout timing and true-up),
the draw, the holds, the clawback policy and the effective dates. Worked examples use the engine's own tier
arithmetic (`calc.rules.tiers.apply_tiers`) on the payee's quota: "at 100% of your quota of 250,000 you earn
15,000.00" is what the same rate table would pay (before gates, multipliers and caps).

Which version governs a day follows the runs (`runs.service.plans_in_force`): versions take over from one
another on their `effective_from` (the higher version number wins a tie) and stop at their own `effective_to`.
A payee's *current* version of a plan is the one governing today, clipped to their assignment; before the
assignment starts, the first version of it; after it ends, the last.

`acceptance_status(session, ...)` lists, per plan version, every payee assigned to the plan while that version
governs, with their acceptance of that version (or none): a new version needs a new acceptance.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from openspm.calc.rules.tiers import apply_tiers, bands_from_tiers
from openspm.core.dates import utc_now
from openspm.core.errors import NotFound
from openspm.core.money import round_money
from openspm.plan.load import parse_plan
from openspm.plan.models import (
    Bonus,
    Component,
    FlatRate,
    HoldUntil,
    LookupRate,
    Override,
    PlanDocument,
    Spif,
    Tier,
    TieredRate,
    TierMethod,
)
from openspm.store import models as m

EXAMPLE_ATTAINMENTS = (Decimal("0.5"), Decimal(1), Decimal("1.5"))
PERIOD_WORDS = {"month": "month", "quarter": "quarter", "year": "year"}
METHOD_WORDS = {
    TierMethod.MARGINAL: "marginal: each band's portion of the base is paid at that band's rate",
    TierMethod.RETROACTIVE: "retroactive: the whole base is paid at the rate of the highest band reached",
    TierMethod.SECTION: "section: the whole base is paid at the rate of the band that contains it; "
    "a base outside every band pays nothing",
    TierMethod.INTERPOLATED: "interpolated: the rate moves in a straight line between the band starts",
}
NEGATIVE_WORDS = {
    "claw": "a negative increment (a cancellation, or a quota that grows faster than bookings) is paid back",
    "carry": "a negative increment is not paid back at once: it is carried and offsets later increments",
    "floor": "a negative increment is not paid back: the month pays zero",
}
HOLD_WORDS = {
    HoldUntil.PAYMENT_RECEIVED: "until the customer has paid the invoices behind it",
    HoldUntil.PLAN_ACCEPTED: "until you accept this plan version",
    HoldUntil.MANUAL: "until an administrator releases it",
}


# --- what a document holds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AcceptanceRecord:
    """A payee's acceptance of a plan version: who recorded it and when."""

    version: int
    accepted_on: date
    accepted_at: datetime
    accepted_by: str


@dataclass(frozen=True)
class TierRow:
    lower: Decimal
    upper: Decimal | None
    rate: Decimal
    lower_amount: Decimal | None = None  # attainment bounds times the payee's quota
    upper_amount: Decimal | None = None


@dataclass(frozen=True)
class Example:
    """What the rule pays at one point: `base` of the measure (`attainment` of the quota), before gates,
    multipliers and caps."""

    attainment: Decimal | None
    base: Decimal
    amount: Decimal


@dataclass(frozen=True)
class ComponentDoc:
    name: str
    kind: str
    period: str
    summary: str
    details: list[str] = field(default_factory=list)
    basis: str = "amount"
    tiers: list[TierRow] = field(default_factory=list)
    lookup: list[tuple[str, Decimal]] = field(default_factory=list)  # match text → rate
    quota: Decimal | None = None
    quota_period: str | None = None
    examples: list[Example] = field(default_factory=list)


@dataclass(frozen=True)
class AssignmentDoc:
    effective_from: date
    effective_to: date | None
    target_incentive: Decimal | None
    currency: str | None
    parameters: dict[str, str]


@dataclass(frozen=True)
class QuotaDoc:
    measure: str
    period: str
    start: date
    amount: Decimal
    currency: str | None


@dataclass(frozen=True)
class VersionRef:
    """One version of a plan a payee is (or was) assigned to, with the days it governs for them."""

    plan: str
    plan_name: str
    version: int
    applies_from: date
    applies_to: date | None
    current: bool
    acceptance: AcceptanceRecord | None
    holds_until_accepted: bool


@dataclass(frozen=True)
class PlanDoc:
    """Everything the plan document shows (rendered by `plandocs.render`)."""

    payee: str
    payee_name: str
    pay_currency: str
    role: str | None
    plan: str
    plan_name: str
    currency: str
    description: str | None
    version: int
    versions: list[int]
    effective_from: date  # the version's own dates
    effective_to: date | None
    applies_from: date  # the days it governs for this payee (clipped to the assignment)
    applies_to: date | None
    published_at: datetime
    digest: str  # SHA-256 of the version's YAML: what exactly was accepted
    assignments: list[AssignmentDoc]
    quotas: list[QuotaDoc]
    parameters: list[tuple[str, str]]  # the payee's parameter values (assignment, else the plan's default)
    crediting: list[str]
    measures: list[tuple[str, str]]
    quota_rules: list[str]
    components: list[ComponentDoc]
    pay: list[str]
    rounding: str
    acceptance: AcceptanceRecord | None
    holds_until_accepted: bool
    notes: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.acceptance is not None


@dataclass(frozen=True)
class StatusRow:
    """Whether a payee accepted a plan version they are assigned to."""

    plan: str
    plan_name: str
    version: int
    applies_from: date
    applies_to: date | None
    payee: str
    payee_name: str
    acceptance: AcceptanceRecord | None
    holds_until_accepted: bool

    @property
    def accepted(self) -> bool:
        return self.acceptance is not None


# --- which versions govern when -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Version:
    row: m.PlanVersion
    applies_from: date
    applies_to: date | None


def governing(versions: list[m.PlanVersion]) -> list[_Version]:
    """The days each version governs (the rule of `runs.service.plans_in_force`), by start; versions that
    never govern (replaced the day they start) are left out."""
    by_start: dict[date, m.PlanVersion] = {}
    for v in sorted(versions, key=lambda v: (v.effective_from, v.version)):
        by_start[v.effective_from] = v
    starts = sorted(by_start)
    out: list[_Version] = []
    for i, start in enumerate(starts):
        v = by_start[start]
        ends = [d for d in (v.effective_to, starts[i + 1] if i + 1 < len(starts) else None) if d is not None]
        out.append(_Version(v, start, min(ends) if ends else None))
    return out


def _overlap(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> tuple[date, date | None] | None:
    start = max(a_from, b_from)
    ends = [d for d in (a_to, b_to) if d is not None]
    end = min(ends) if ends else None
    return None if end is not None and end <= start else (start, end)


def _plan(session: Session, plan: str) -> m.Plan:
    found = session.scalars(select(m.Plan).where(m.Plan.external_id == plan)).first()
    if found is None:
        raise NotFound(f"unknown plan {plan!r}")
    return found


def _assignments(session: Session, payee_id: int, plan_id: int) -> list[m.PlanAssignment]:
    return list(
        session.scalars(
            select(m.PlanAssignment)
            .where(m.PlanAssignment.payee_id == payee_id, m.PlanAssignment.plan_id == plan_id)
            .order_by(m.PlanAssignment.effective_from)
        )
    )


def _acceptances(
    session: Session, plan: str, payee_ids: set[int] | None = None
) -> dict[tuple[int, int], AcceptanceRecord]:
    query = select(m.PlanAcceptance).where(m.PlanAcceptance.plan == plan)
    if payee_ids is not None:
        query = query.where(m.PlanAcceptance.payee_id.in_(payee_ids or [-1]))
    return {
        (a.payee_id, a.version): AcceptanceRecord(a.version, a.accepted_on, a.accepted_at, a.accepted_by)
        for a in session.scalars(query)
    }


def _holds_until_accepted(document: str | None) -> bool:
    if not document:
        return False
    parsed = _parse(document, "")
    return bool(parsed.pay and any(h.until is HoldUntil.PLAN_ACCEPTED for h in parsed.pay.holds))


_PARSED: dict[str, PlanDocument] = {}


def _parse(document: str, source: str) -> PlanDocument:
    """The parsed plan version (kept per text: a stored version never changes)."""
    key = hashlib.sha256(document.encode("utf-8")).hexdigest()
    if key not in _PARSED:
        if len(_PARSED) > 256:
            _PARSED.clear()
        _PARSED[key] = parse_plan(document, source or "plan.yaml")
    return _PARSED[key]


def _payee_versions(session: Session, payee: m.Payee, plan: m.Plan) -> list[tuple[_Version, date, date | None]]:
    """The versions governing some day of the payee's assignments to the plan, with those days."""
    versions = governing(list(session.scalars(select(m.PlanVersion).where(m.PlanVersion.plan_id == plan.id))))
    found: list[tuple[_Version, date, date | None]] = []
    for v in versions:
        spans = [
            span
            for a in _assignments(session, payee.id, plan.id)
            if (span := _overlap(v.applies_from, v.applies_to, a.effective_from, a.effective_to)) is not None
        ]
        if spans:
            ends = [s[1] for s in spans]
            found.append((v, min(s[0] for s in spans), None if None in ends else max(e for e in ends if e)))
    return found


def _current(found: list[tuple[_Version, date, date | None]], today: date) -> int:
    """Index of the version governing today (else the next to start, else the last)."""
    for i, (_, start, end) in enumerate(found):
        if start <= today and (end is None or today < end):
            return i
    later = [i for i, (_, start, _) in enumerate(found) if start > today]
    return later[0] if later else len(found) - 1


def payee_plans(session: Session, payee: m.Payee, today: date | None = None) -> list[VersionRef]:
    """Every plan version the payee is assigned under, by plan and start; `current` marks the one governing
    today for each plan."""
    today = today or utc_now().date()
    plan_ids = set(session.scalars(select(m.PlanAssignment.plan_id).where(m.PlanAssignment.payee_id == payee.id)))
    refs: list[VersionRef] = []
    for plan in session.scalars(select(m.Plan).where(m.Plan.id.in_(plan_ids or [-1])).order_by(m.Plan.external_id)):
        found = _payee_versions(session, payee, plan)
        if not found:
            continue
        accepted = _acceptances(session, plan.external_id, {payee.id})
        current = _current(found, today)
        for i, (v, start, end) in enumerate(found):
            refs.append(
                VersionRef(
                    plan.external_id,
                    plan.name,
                    v.row.version,
                    start,
                    end,
                    i == current,
                    accepted.get((payee.id, v.row.version)),
                    _holds_until_accepted(v.row.document),
                )
            )
    return refs


def resolve_version(session: Session, payee: m.Payee, plan: str, version: int | None) -> tuple[m.Plan, int]:
    """The plan and the version of it to show the payee: `version`, or the current one. NotFound when the
    payee is not assigned to the plan, or the version never governs their assignment."""
    found_plan = _plan(session, plan)
    found = _payee_versions(session, payee, found_plan)
    if not found:
        raise NotFound(f"{payee.external_id} is not assigned to plan {plan!r}")
    if version is None:
        return found_plan, found[_current(found, utc_now().date())][0].row.version
    if version not in {v.row.version for v, _, _ in found}:
        known = ", ".join(str(v.row.version) for v, _, _ in found)
        raise NotFound(f"plan {plan} has no version {version} for {payee.external_id}; theirs: {known}")
    return found_plan, version


# --- the document ---------------------------------------------------------------------------------------------


def _pct(value: Decimal) -> str:
    shifted = (value * 100).normalize()
    text = format(shifted, "f")
    return f"{text}%"


def _amount(value: Decimal, currency: str) -> str:
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        normal = normal.quantize(Decimal("0.01"))
    return f"{format(normal, ',f')} {currency}"


_ATTAINMENT = re.compile(r"attainment\((\w+)\)\s*(>=|<=|>|<|==)\s*([0-9.]+)")
_OPS = {">=": "at least", "<=": "at most", ">": "above", "<": "below", "==": "exactly"}


def condition_words(expression: str) -> str:
    """A condition as a reader says it: `attainment(bookings) >= 0.75` → `attainment of bookings at least 75%`
    (other expressions are shown as written)."""

    def words(match: re.Match[str]) -> str:
        return f"attainment of {match.group(1)} {_OPS[match.group(2)]} {_pct(Decimal(match.group(3)))}"

    return _ATTAINMENT.sub(words, expression).replace(" and ", " and ").replace("==", "is")


def _param(value: Decimal | str, params: dict[str, Decimal]) -> tuple[Decimal | None, str]:
    """A rate or amount that may be a `param.x` expression: its value for the payee and how it was found."""
    if isinstance(value, Decimal):
        return value, ""
    match = re.fullmatch(r"\s*param\.(\w+)\s*", value)
    if match and match.group(1) in params:
        return params[match.group(1)], f" (your parameter {match.group(1)})"
    return None, f" ({value})"


def _quota_for(quotas: list[QuotaDoc], measure: str, kind: str, kinds: dict[str, str]) -> QuotaDoc | None:
    """The first of the payee's quotas for `measure` over a period of the component's kind."""
    return next((q for q in quotas if q.measure == measure and kinds.get(q.period) == kind), None)


def _examples(tiers: list[Tier], c: TieredRate | Override, quota: Decimal | None, scale: int, mode: str
              ) -> list[Example]:  # fmt: skip
    if quota is None or quota <= 0:
        return []
    scale_by = quota if c.basis == "attainment" else Decimal(1)
    bands = bands_from_tiers(tiers, scale_by)
    boundary = c.boundary if isinstance(c, TieredRate) else "lower"
    out = []
    for attainment in EXAMPLE_ATTAINMENTS:
        base = quota * attainment
        result = apply_tiers(base, bands, c.method, boundary)
        out.append(Example(attainment, base, round_money(result.amount, scale, mode)))
    return out


def _tier_rows(tiers: list[Tier], basis: str, quota: Decimal | None) -> list[TierRow]:
    scale = quota if basis == "attainment" and quota else None
    return [
        TierRow(
            t.lower,
            t.upper,
            t.rate,
            t.lower * scale if scale is not None else None,
            t.upper * scale if scale is not None and t.upper is not None else None,
        )
        for t in tiers
    ]


def _common(c: Component, currency: str, target: Decimal | None) -> list[str]:
    """Gate, multipliers, cap, payout timing and eligibility in words."""
    period = PERIOD_WORDS.get(str(c.period), str(c.period))
    out: list[str] = []
    if c.eligible:
        out.append(f"Applies to payees where {condition_words(c.eligible)}.")
    if c.gate is not None:
        start = (
            "the whole base is paid once it is met (a cliff)"
            if c.gate.pays_from == "first_unit"
            else f"only the part of the base above {c.gate.threshold} is paid"
        )
        out.append(f"Gate: pays nothing unless {condition_words(c.gate.when)}; {start}.")
    for mult in c.multipliers:
        out.append(f"Multiplier: × {mult.factor.normalize():f} when {condition_words(mult.when)}.")
    if c.cap is not None:
        per = {"period": f"per {period}", "year": "per year", "deal": "per deal"}[str(c.cap.per)]
        if c.cap.amount is not None:
            out.append(f"Cap: at most {_amount(c.cap.amount, currency)} {per}; the amount cut is shown on statements.")
        else:
            multiple = c.cap.target_multiple or Decimal(0)
            limit = f" = {_amount(multiple * target, currency)}" if target is not None else ""
            out.append(f"Cap: at most {multiple.normalize():f} × your target incentive{limit} {per}.")
    if c.payout.timing == "true_up" and c.period != "month":
        out.append(
            f"Paid monthly on {period}-to-date results (true-up): each month pays the earning to date minus what "
            f"earlier months of the {period} paid; {NEGATIVE_WORDS[str(c.payout.negative)]}."
        )
    elif c.period != "month":
        out.append(f"Paid in the last month of each {period}.")
    return out


def _component(
    c: Component,
    doc: PlanDocument,
    params: dict[str, Decimal],
    target: Decimal | None,
    quotas: list[QuotaDoc],
    kinds: dict[str, str],
) -> ComponentDoc:
    currency = doc.currency
    period = PERIOD_WORDS.get(str(c.period), str(c.period))
    scale, mode = doc.rounding.scale, doc.rounding.mode
    details = _common(c, currency, target)
    if isinstance(c, FlatRate):
        rate, how = _param(c.rate, params)
        rate_text = _pct(rate) if rate is not None else "a rate"
        quota = _quota_for(quotas, c.measure, str(c.period), kinds)
        examples = (
            [
                Example(a, quota.amount * a, round_money(quota.amount * a * rate, scale, mode))
                for a in EXAMPLE_ATTAINMENTS
            ]
            if quota is not None and rate is not None
            else []
        )
        return ComponentDoc(
            c.name, c.kind, period, f"Pays {rate_text}{how} of your {c.measure} each {period}.", details,
            quota=quota.amount if quota else None, quota_period=quota.period if quota else None, examples=examples,
        )  # fmt: skip
    if isinstance(c, TieredRate):
        quota = _quota_for(quotas, c.measure, str(c.period), kinds)
        q = quota.amount if quota else None
        on = "your attainment (the measure divided by your quota)" if c.basis == "attainment" else f"your {c.measure}"
        apply = " Each deal is paid on its own amount." if c.apply == "per_transaction" else ""
        edge = "the upper" if c.boundary == "lower" else "the lower"
        details.insert(0, f"Method {METHOD_WORDS[c.method]}.{apply}")
        details.insert(1, f"Bands are [from, to): a value exactly on a band edge belongs to {edge} band.")
        for adj in c.rate_adjustments:
            details.append(f"Discounts of {_pct(adj.lower)} or more multiply the rate by {adj.factor.normalize():f}.")
        return ComponentDoc(
            c.name, c.kind, period, f"Pays a rate table on {on} of {c.measure} each {period}.", details,
            basis=c.basis, tiers=_tier_rows(c.tiers, c.basis, q), quota=q, quota_period=quota.period if quota else None,
            examples=_examples(c.tiers, c, q, scale, mode),
        )  # fmt: skip
    if isinstance(c, Bonus):
        if c.amount is not None:
            what = _amount(c.amount, currency)
        else:
            share = c.target_share or Decimal(0)
            value = f" = {_amount(round_money(share * target, scale, mode), currency)}" if target is not None else ""
            what = f"{_pct(share)} of your annual target incentive{value}"
        return ComponentDoc(c.name, c.kind, period, f"Pays {what} once per {period} when {condition_words(c.when)}.",
                            details)  # fmt: skip
    if isinstance(c, Spif):
        unit = "eligible deal" if c.per == "deal" else "unit sold"
        window = ""
        if c.window_from or c.window_to:
            window = f" from {c.window_from or 'the start'} to before {c.window_to or 'the end'}"
        which = f" where {condition_words(c.filter)}" if c.filter else ""
        return ComponentDoc(
            c.name, c.kind, period, f"Pays {_amount(c.amount, currency)} per {unit}{which}{window}.", details
        )
    if isinstance(c, Override):
        quota = _quota_for(quotas, c.measure, str(c.period), kinds)
        q = quota.amount if quota else None
        if c.rate is not None:
            summary = f"Pays {_pct(c.rate)} of your team's {c.measure} (credit rolled up to you) each {period}."
            return ComponentDoc(c.name, c.kind, period, summary, details)
        details.insert(0, f"Method {METHOD_WORDS[c.method]}.")
        return ComponentDoc(
            c.name, c.kind, period, f"Pays a rate table on your team's {c.measure} each {period}.", details,
            basis=c.basis, tiers=_tier_rows(c.tiers, c.basis, q), quota=q,
            quota_period=quota.period if quota else None, examples=_examples(c.tiers, c, q, scale, mode),
        )  # fmt: skip
    assert isinstance(c, LookupRate)
    lookup = [(" × ".join(row.match), row.rate) for row in c.table]
    default = f"; otherwise {_pct(c.default_rate)}" if c.default_rate is not None else "; otherwise nothing"
    details.insert(0, f"The rate is looked up by {', '.join(c.keys)}{default}.")
    return ComponentDoc(c.name, c.kind, period, f"Pays a rate per deal looked up in a table, times your credit "
                        f"each {period}.", details, lookup=lookup)  # fmt: skip


def _crediting(doc: PlanDocument) -> list[str]:
    cr = doc.crediting
    out = [
        f"You are credited for transactions through: {', '.join(str(s) for s in cr.direct.sources)} "
        f"(roles {', '.join(cr.direct.roles)})."
    ]
    for adj in cr.adjustments:
        out.append(f"When {condition_words(adj.when)}, you keep {_pct(adj.share)} of the credit.")
    if cr.rollup is not None:
        out.append(f"Credit rolls up {cr.rollup.levels} level(s) of the reporting lines as of each transaction's date.")
    for overlay in cr.overlays:
        out.append(f"Overlay {overlay.name}: {_pct(overlay.share)} of the credit" +
                   (f" when {condition_words(overlay.when)}" if overlay.when else "") + ".")  # fmt: skip
    return out


def _measures(doc: PlanDocument) -> list[tuple[str, str]]:
    out = []
    for measure in doc.measures:
        if measure.sum is not None:
            what = "the credited amount" if measure.sum == "amount" else f"{measure.sum} of each credit"
            text = f"the sum of {what}"
        elif measure.count is not None:
            text = f"the number of credited {measure.count} (net of cancellations)"
        else:
            text = f"the formula {measure.formula}"
        if measure.filter:
            text += f", where {condition_words(measure.filter)}"
        text += f"; credit roles {', '.join(measure.roles)}"
        if str(measure.accumulate) != "period":
            text += f"; accumulated {str(measure.accumulate).upper()}"
        out.append((measure.name, text))
    return out


def _quota_rules(doc: PlanDocument) -> list[str]:
    out = []
    for rule in doc.quotas:
        text = f"Quota for {rule.measure}"
        if rule.proration != "none":
            text += f": prorated by {rule.proration} for a start or leave within the period"
        if rule.seasonality:
            text += f"; a yearly quota is split by the weights {', '.join(_pct(w) for w in rule.seasonality)}"
        if rule.ramp:
            text += f"; new-hire ramp {', '.join(_pct(r) for r in rule.ramp)} by month of tenure"
        out.append(text + ".")
    return out


def _pay(doc: PlanDocument, params: dict[str, Decimal]) -> list[str]:
    pay = doc.pay
    out: list[str] = []
    if pay is None:
        return ["Earnings are paid in the month they are earned; there is no draw, hold or clawback."]
    if pay.draw is not None:
        amount, how = _param(pay.draw.amount, params)
        value = _amount(amount, doc.currency) if amount is not None else "an amount"
        months = f"for your first {pay.draw.periods} months on the plan" if pay.draw.periods else "with no end date"
        if str(pay.draw.kind) == "recoverable":
            cap = (
                f", taking at most {_pct(pay.draw.recovery_cap)} of a month's earnings"
                if pay.draw.recovery_cap is not None
                else ""
            )
            out.append(
                f"Recoverable draw: you are paid at least {value}{how} a month {months}; a top-up is an advance "
                f"repaid from later earnings above the draw{cap}."
            )
        else:
            out.append(
                f"Guaranteed (non-recoverable) draw: you are paid at least {value}{how} a month {months}; "
                "the top-up is never repaid."
            )
    for hold in pay.holds:
        which = "Every component" if hold.component == "*" else f"Component {hold.component}"
        out.append(f"{which} is held {HOLD_WORDS[hold.until]}, then paid in the month it is released.")
    if pay.clawback is not None:
        cb = pay.clawback
        window = f"{cb.window_months} months" if cb.window_months is not None else f"{cb.window_days} days"
        how = (
            "the whole commission the sale paid"
            if str(cb.method) == "full"
            else "the part of the commission for the unserved contract term"
        )
        out.append(
            f"Clawback: a return or cancellation within {window} of the {cb.anchor} date takes back {how}, "
            "in the month it happens."
        )
    if not out:
        out.append("Earnings are paid in the month they are earned.")
    return out


def plan_document(session: Session, payee: m.Payee, plan: str, version: int | None = None) -> PlanDoc:
    """The plan document of `payee` for a version of `plan` (default: their current version)."""
    found_plan, chosen = resolve_version(session, payee, plan, version)
    spans = {v.row.version: (v, start, end) for v, start, end in _payee_versions(session, payee, found_plan)}
    v, applies_from, applies_to = spans[chosen]
    row = v.row
    doc = _parse(row.document or "", f"plan {plan} version {chosen}")
    assignments = [
        a
        for a in _assignments(session, payee.id, found_plan.id)
        if _overlap(v.applies_from, v.applies_to, a.effective_from, a.effective_to) is not None
    ]
    params: dict[str, Decimal] = dict(doc.parameters)
    for a in assignments:
        for key, value in (a.parameters or {}).items():
            try:
                params[key] = Decimal(str(value))
            except ArithmeticError:
                continue
    target = next((a.target_incentive for a in reversed(assignments) if a.target_incentive is not None), None)
    measures = {x.name for x in doc.measures}
    periods = {
        p.id: p
        for p in session.scalars(
            select(m.Period).where(m.Period.start_date < (applies_to or date.max), m.Period.end_date > applies_from)
        )
    }
    kinds = {p.name: p.kind for p in periods.values()}
    quota_rows = session.scalars(
        select(m.Quota).where(
            m.Quota.payee_id == payee.id, m.Quota.measure.in_(measures), m.Quota.period_id.in_(periods or [-1])
        )
    )
    quotas = sorted(
        (QuotaDoc(q.measure, periods[q.period_id].name, periods[q.period_id].start_date, q.amount, q.currency)
         for q in quota_rows),
        key=lambda q: (q.measure, q.start, q.period),
    )  # fmt: skip
    components = [_component(c, doc, params, target, quotas, kinds) for c in doc.components]
    acceptance = _acceptances(session, plan, {payee.id}).get((payee.id, chosen))
    holds = bool(doc.pay and any(h.until is HoldUntil.PLAN_ACCEPTED for h in doc.pay.holds))
    notes = []
    if holds and acceptance is None:
        notes.append("Payment is held until you accept this plan version: your earnings are calculated but not paid.")
    if any(c.examples for c in components):
        notes.append(
            "Worked examples use your quota and the plan's own rate tables, before gates, multipliers and caps."
        )
    return PlanDoc(
        payee=payee.external_id,
        payee_name=payee.name,
        pay_currency=payee.pay_currency,
        role=payee.role,
        plan=found_plan.external_id,
        plan_name=doc.name,
        currency=doc.currency,
        description=doc.description,
        version=chosen,
        versions=sorted(spans),
        effective_from=row.effective_from,
        effective_to=row.effective_to,
        applies_from=applies_from,
        applies_to=applies_to,
        published_at=row.created_at,
        digest=hashlib.sha256((row.document or "").encode("utf-8")).hexdigest(),
        assignments=[
            AssignmentDoc(
                a.effective_from,
                a.effective_to,
                a.target_incentive,
                a.currency or doc.currency,
                {k: str(val) for k, val in sorted((a.parameters or {}).items())},
            )
            for a in assignments
        ],
        quotas=quotas,
        parameters=[(k, format(val.normalize(), "f")) for k, val in sorted(params.items())],
        crediting=_crediting(doc),
        measures=_measures(doc),
        quota_rules=_quota_rules(doc),
        components=components,
        pay=_pay(doc, params),
        rounding=f"Earnings are rounded to {doc.rounding.scale} decimal places "
        f"({doc.rounding.mode.replace('_', ' ')}).",
        acceptance=acceptance,
        holds_until_accepted=holds,
        notes=notes,
    )


# --- acceptance status ----------------------------------------------------------------------------------------


def acceptance_status(
    session: Session,
    plan: str | None = None,
    version: int | None = None,
    payee_ids: set[int] | None = None,
    accepted: bool | None = None,
) -> list[StatusRow]:
    """Per plan version, every payee assigned while it governs, with their acceptance of it (None: not yet).

    `payee_ids` limits the payees (None: all); `accepted` keeps only accepted (True) or not accepted (False).
    Ordered by plan, version (newest first), then not accepted before accepted, then payee id.
    """
    plans = select(m.Plan).order_by(m.Plan.external_id)
    if plan is not None:
        plans = plans.where(m.Plan.external_id == plan)
    plan_rows = list(session.scalars(plans))
    if plan is not None and not plan_rows:
        raise NotFound(f"unknown plan {plan!r}")
    payees = {p.id: p for p in session.scalars(select(m.Payee))}
    rows: list[StatusRow] = []
    for p in plan_rows:
        versions = governing(list(session.scalars(select(m.PlanVersion).where(m.PlanVersion.plan_id == p.id))))
        if version is not None:
            versions = [v for v in versions if v.row.version == version]
            if not versions:
                raise NotFound(f"plan {p.external_id} has no version {version} in force")
        assignments = list(session.scalars(select(m.PlanAssignment).where(m.PlanAssignment.plan_id == p.id)))
        done = _acceptances(session, p.external_id, payee_ids)
        for v in sorted(versions, key=lambda v: -v.row.version):
            holds = _holds_until_accepted(v.row.document)
            assigned = sorted(
                {
                    a.payee_id
                    for a in assignments
                    if (payee_ids is None or a.payee_id in payee_ids)
                    and _overlap(v.applies_from, v.applies_to, a.effective_from, a.effective_to) is not None
                }
            )
            block = []
            for payee_id in assigned:
                record = done.get((payee_id, v.row.version))
                if accepted is not None and (record is not None) != accepted:
                    continue
                person = payees[payee_id]
                block.append(
                    StatusRow(p.external_id, p.name, v.row.version, v.applies_from, v.applies_to, person.external_id,
                              person.name, record, holds)
                )  # fmt: skip
            rows.extend(sorted(block, key=lambda r: (r.accepted, r.payee)))
    return rows
