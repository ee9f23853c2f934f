"""The plan language: versioned YAML plan files as validated Pydantic models.

A plan file says who gets credit (`crediting`), what is counted (`measures`),
against which targets (`quotas`), and what it pays (`components`). Formulas,
filters and conditions are strings in the safe expression language of
`openspm.plan.expr` (parsed and whitelisted, never `eval`-ed).

```yaml
version: 1
plan: ae_commission
name: AE commission plan
currency: USD
effective_from: 2025-01-01
rounding: {scale: 2, mode: half_up}
crediting:
  direct: {sources: [owner, splits, account, territory]}
  rollup: {levels: 2}
measures:
  - {name: bookings, sum: amount, roles: [direct]}
quotas:
  - {measure: bookings, proration: months}
components:
  - name: commission
    kind: tiered_rate
    measure: bookings
    period: quarter
    basis: attainment
    method: marginal
    tiers:
      - {from: 0, to: 1, rate: 0.05}
      - {from: 1, rate: 0.08}
```

Units: `rate`, `share`, `attainment`, tier bounds on attainment and `factor`
are fractions (1.0 = 100%); amounts are in the plan currency; dates are ISO.
Bands are half-open `[from, to)`; `boundary: upper` gives a boundary value to
the lower band instead.
"""

from __future__ import annotations

import keyword
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FORMAT_VERSION = 1

# Words of the expression language; a measure or component named like one could not be referred to.
RESERVED_WORDS = frozenset(keyword.kwlist) | {"true", "false", "null"}


class Strict(BaseModel):
    """Base: unknown keys are errors (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


# --- shared --------------------------------------------------------------------------


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class Rounding(Strict):
    """Where and how amounts are rounded: each component's earning per payee and period."""

    scale: int = Field(2, ge=0, le=10, description="Decimal places")
    mode: Literal["half_up", "half_even", "down", "up"] = "half_up"


class FxPolicy(Strict):
    """Which day's rate converts a transaction to the plan currency."""

    rate_date: Literal["transaction", "period_end"] = "transaction"


# --- crediting -------------------------------------------------------------------------


class CreditSource(StrEnum):
    OWNER = "owner"  # the transaction's explicit owner
    SPLITS = "splits"  # explicit split rows on the transaction
    ACCOUNT = "account"  # named-account owners (account_assignments) as of the date
    TERRITORY = "territory"  # owners of the account's territory as of the date


class DirectCrediting(Strict):
    """Who gets direct credit: the first source in `sources` that names anyone wins."""

    sources: list[CreditSource] = [
        CreditSource.OWNER,
        CreditSource.SPLITS,
        CreditSource.ACCOUNT,
        CreditSource.TERRITORY,
    ]
    roles: list[str] = Field(["owner"], description="Assignment and split roles that earn direct credit")
    overlay_roles: list[str] = Field([], description="Split roles exempt from the 100% rule (they add credit on top)")


class ShareAdjustment(Strict):
    """Partial credit: multiply the credit share when a condition holds (first match wins)."""

    when: str = Field(description="Condition on the transaction, account, product or payee")
    share: Decimal = Field(ge=0, description="Fraction of the credit kept, e.g. 0.5 on partner deals")


class Rollup(Strict):
    """Credit managers up the reporting lines as of the transaction date."""

    levels: int = Field(1, ge=1, le=10)
    role: str = "rollup"


class Overlay(Strict):
    """Extra credit to overlay payees (e.g. a product specialist) for matching transactions."""

    name: str
    when: str | None = Field(None, description="Condition; e.g. product.family == 'Analytics'")
    territory_role: str | None = Field(
        None, description="Credit the payees assigned to the account's territory in this role"
    )
    account_role: str | None = Field(None, description="Credit the account's named payees in this role")
    payees: list[str] = Field([], description="Or credit these payee ids")
    share: Decimal = Field(Decimal(1), ge=0)
    role: str = "overlay"

    @model_validator(mode="after")
    def _one_target(self) -> Overlay:
        targets = [self.territory_role is not None, self.account_role is not None, bool(self.payees)]
        if sum(targets) != 1:
            raise ValueError("give exactly one of territory_role, account_role or payees")
        return self


class Crediting(Strict):
    direct: DirectCrediting = DirectCrediting()
    adjustments: list[ShareAdjustment] = []
    rollup: Rollup | None = None
    overlays: list[Overlay] = []


# --- measures and quotas ---------------------------------------------------------------


class Accumulation(StrEnum):
    PERIOD = "period"  # within the component's measurement period
    QTD = "qtd"  # quarter to date
    YTD = "ytd"  # fiscal year to date


class Measure(Strict):
    """Credits aggregated per payee and period.

    Exactly one of `sum` (an expression over the credit: `amount`, `quantity`,
    `amount * 0.5`, ...), `count` (`transactions` counts distinct credited
    sales net of their cancellations) or `formula` (over other measures).
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    sum: str | None = None
    count: Literal["transactions", "credits"] | None = None
    formula: str | None = None
    roles: list[str] = Field(["direct"], description="Credit roles counted: direct, rollup, overlay, or named roles")
    filter: str | None = None
    accumulate: Accumulation = Accumulation.PERIOD

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_WORDS:
            raise ValueError(f"{value!r} is a word of the expression language; name the measure otherwise")
        return value

    @model_validator(mode="after")
    def _one_definition(self) -> Measure:
        given = [self.sum is not None, self.count is not None, self.formula is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of sum, count or formula")
        if self.formula is not None and self.filter is not None:
            raise ValueError("a formula measure takes no filter; filter the measures it uses")
        return self


class Proration(StrEnum):
    NONE = "none"
    DAYS = "days"  # by calendar days present in the period
    MONTHS = "months"  # by whole months present (a hire on the 1st counts that month)


class QuotaRule(Strict):
    """How a measure's quota is found and adjusted.

    The quota comes from the store for the payee, measure and period. When the
    store holds a yearly quota and the component measures quarters or months,
    `seasonality` splits the year (4 or 12 weights summing to 1; default even).
    Proration scales it for payees hired or leaving mid-period; `ramp` scales
    the first months after hire (fractions per month of tenure).
    """

    measure: str
    seasonality: list[Decimal] | None = None
    proration: Proration = Proration.NONE
    ramp: list[Decimal] = []

    @field_validator("seasonality")
    @classmethod
    def _weights(cls, value: list[Decimal] | None) -> list[Decimal] | None:
        if value is None:
            return value
        if len(value) not in (4, 12):
            raise ValueError("seasonality takes 4 quarterly or 12 monthly weights")
        if sum(value) != 1:
            raise ValueError(f"seasonality weights must sum to 1, not {sum(value)}")
        return value


# --- components ------------------------------------------------------------------------


class TierMethod(StrEnum):
    MARGINAL = "marginal"  # each band's portion at its rate
    RETROACTIVE = "retroactive"  # the whole base at the rate of the band reached
    SECTION = "section"  # the whole base at the rate of the band containing it; none pays 0
    INTERPOLATED = "interpolated"  # rate interpolated linearly between band starts


class Tier(Strict):
    """A band `[from, to)` and its rate (a fraction of the base)."""

    lower: Decimal = Field(alias="from")
    upper: Decimal | None = Field(None, alias="to")
    rate: Decimal


class CapPer(StrEnum):
    PERIOD = "period"  # the component's measurement period
    YEAR = "year"
    DEAL = "deal"  # each transaction's earning


class Cap(Strict):
    """An upper limit on earnings, applied after tiers and multipliers."""

    amount: Decimal | None = Field(None, ge=0)
    target_multiple: Decimal | None = Field(None, ge=0, description="Cap at this multiple of target incentive")
    per: CapPer = CapPer.PERIOD

    @model_validator(mode="after")
    def _one_limit(self) -> Cap:
        if (self.amount is None) == (self.target_multiple is None):
            raise ValueError("give exactly one of amount or target_multiple")
        if self.target_multiple is not None and self.per is CapPer.DEAL:
            raise ValueError("a target_multiple cap applies per period or per year, not per deal")
        return self


class Multiplier(Strict):
    """An accelerator (> 1) or decelerator (< 1) applied when a condition holds."""

    when: str
    factor: Decimal = Field(ge=0)


class Gate(Strict):
    """A threshold: below it the component pays 0.

    `pays_from: first_unit` (a cliff) pays the whole base once the gate is
    cleared; `pays_from: threshold` pays only the part of the base above
    `threshold` (an amount expression).
    """

    when: str
    pays_from: Literal["first_unit", "threshold"] = "first_unit"
    threshold: str | None = None

    @model_validator(mode="after")
    def _threshold(self) -> Gate:
        if self.pays_from == "threshold" and self.threshold is None:
            raise ValueError("pays_from: threshold needs a threshold expression")
        return self


class NegativeIncrement(StrEnum):
    CLAW = "claw"  # pay it (a negative line)
    CARRY = "carry"  # pay 0 now, offset later positive increments
    FLOOR = "floor"  # pay 0 and forget it


class Payout(Strict):
    """When a component's earning is paid.

    `end` pays in the last month of the measurement period; `true_up` pays
    every month the earning to date minus what earlier months earned.
    """

    timing: Literal["end", "true_up"] = "end"
    negative: NegativeIncrement = NegativeIncrement.CLAW


class ComponentBase(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    period: PeriodKind = PeriodKind.MONTH
    gate: Gate | None = None
    multipliers: list[Multiplier] = []
    cap: Cap | None = None
    payout: Payout = Payout()
    eligible: str | None = Field(None, description="Condition on the payee (e.g. payee.role == 'AE')")


class FlatRate(ComponentBase):
    """`earning = rate × measure` (rate may be a plan parameter expression)."""

    kind: Literal["flat_rate"]
    measure: str
    rate: Decimal | str = Field(
        union_mode="left_to_right", description="A fraction, or an expression such as param.rate"
    )


class TieredRate(ComponentBase):
    """A rate table on the amount or on attainment (see `TierMethod`)."""

    kind: Literal["tiered_rate"]
    measure: str
    basis: Literal["amount", "attainment"] = "amount"
    method: TierMethod = TierMethod.MARGINAL
    apply: Literal["aggregate", "per_transaction"] = "aggregate"
    boundary: Literal["lower", "upper"] = Field(
        "lower", description="lower: a boundary value starts the upper band; upper: it stays in the lower band"
    )
    tiers: list[Tier] = Field(min_length=1)
    rate_adjustments: list[DiscountAdjustment] = []

    @model_validator(mode="after")
    def _bands(self) -> TieredRate:
        check_bands(self.tiers, contiguous=self.method is not TierMethod.SECTION)
        if self.apply == "per_transaction" and self.basis == "attainment":
            raise ValueError("per_transaction tiers apply to the transaction amount, not to attainment")
        return self


class DiscountAdjustment(Strict):
    """Pay a lower rate on deals sold below list price: rate × factor when discount ≥ `from`."""

    lower: Decimal = Field(alias="discount_from", ge=0, le=1)
    factor: Decimal = Field(ge=0)


class Bonus(ComponentBase):
    """A fixed amount or a share of target incentive, once per period, when a condition holds."""

    kind: Literal["bonus"]
    when: str
    amount: Decimal | None = None
    target_share: Decimal | None = Field(None, ge=0, description="Fraction of the annual target incentive")

    @model_validator(mode="after")
    def _one_amount(self) -> Bonus:
        if (self.amount is None) == (self.target_share is None):
            raise ValueError("give exactly one of amount or target_share")
        return self


class Spif(ComponentBase):
    """A fixed amount per eligible deal or per unit sold within a window."""

    kind: Literal["spif"]
    per: Literal["deal", "unit"] = "deal"
    amount: Decimal
    window_from: date | None = None
    window_to: date | None = None
    filter: str | None = None
    roles: list[str] = ["direct"]


class Override(ComponentBase):
    """A manager override: rate × team credit; with `tiers`, a rate table on the team measure.

    `basis: attainment` reads the tier bounds as team attainment (team measure / the manager's
    quota for it): e.g. 2% below 100% of the team quota and 3% from 100%, retroactively.
    """

    kind: Literal["override"]
    measure: str = Field(description="A measure over rollup credits")
    rate: Decimal | None = None
    tiers: list[Tier] = []
    basis: Literal["amount", "attainment"] = "amount"
    method: TierMethod = TierMethod.RETROACTIVE

    @model_validator(mode="after")
    def _rate_or_tiers(self) -> Override:
        if (self.rate is None) == (not self.tiers):
            raise ValueError("give exactly one of rate or tiers")
        if self.tiers:
            check_bands(self.tiers, contiguous=True)
        return self


class LookupRate(ComponentBase):
    """A rate looked up per transaction by keys (e.g. product family × region), times the credit."""

    kind: Literal["lookup_rate"]
    keys: list[str] = Field(min_length=1, description="Expressions, e.g. product.family, payee.region")
    table: list[LookupRow] = Field(min_length=1)
    default_rate: Decimal | None = None
    roles: list[str] = ["direct"]
    filter: str | None = None


class LookupRow(Strict):
    match: list[str]
    rate: Decimal


Component = Annotated[
    FlatRate | TieredRate | Bonus | Spif | Override | LookupRate,
    Field(discriminator="kind"),
]


def check_bands(tiers: list[Tier], contiguous: bool) -> None:
    """Bands ascend and do not overlap; only the last may be open-ended; rate tables start where they should."""
    for i, tier in enumerate(tiers):
        if tier.upper is not None and tier.upper <= tier.lower:
            raise ValueError(f"tier {i + 1}: `to` {tier.upper} must be above `from` {tier.lower}")
        if tier.upper is None and i != len(tiers) - 1:
            raise ValueError(f"tier {i + 1}: only the last tier may be open-ended")
        if i:
            previous = tiers[i - 1]
            assert previous.upper is not None
            if tier.lower < previous.upper:
                raise ValueError(f"tiers {i} and {i + 1} overlap: {tier.lower} is below {previous.upper}")
            if contiguous and tier.lower != previous.upper:
                raise ValueError(f"gap between tiers {i} and {i + 1}: {previous.upper} to {tier.lower}")


# --- pay: draws, holds and clawbacks -----------------------------------------------------


class DrawKind(StrEnum):
    RECOVERABLE = "recoverable"  # an advance, repaid from later earnings above the draw
    NON_RECOVERABLE = "non_recoverable"  # a guarantee: the shortfall is forgiven


class Draw(Strict):
    """A monthly draw: in a guaranteed month the payee is paid at least `amount`.

    `periods` counts guaranteed months from the payee's plan start (null: no end). A recoverable draw's top-up
    is owed back and recovered from later earnings, at most `recovery_cap` (a fraction) of a month's earnings.
    """

    kind: DrawKind
    amount: Decimal | str = Field(
        union_mode="left_to_right",
        description="Per month, in the plan currency: a number, or an expression such as param.draw",
    )
    periods: int | None = Field(None, ge=1, description="Guaranteed months from the payee's plan start; null = no end")
    recovery_cap: Decimal | None = Field(
        None, gt=0, le=1, description="Recovery takes at most this fraction of a month's earnings; null = no cap"
    )

    @model_validator(mode="after")
    def _terms(self) -> Draw:
        if isinstance(self.amount, Decimal) and self.amount <= 0:
            raise ValueError(f"a draw amount must be above 0, not {self.amount}")
        if self.recovery_cap is not None and self.kind is DrawKind.NON_RECOVERABLE:
            raise ValueError("recovery_cap applies to a recoverable draw; a non-recoverable draw is never recovered")
        return self


class HoldUntil(StrEnum):
    PAYMENT_RECEIVED = "payment_received"  # the customer paid the invoice behind the earning
    PLAN_ACCEPTED = "plan_accepted"  # the payee accepted the plan
    MANUAL = "manual"  # an admin releases it


class Hold(Strict):
    """Hold a component's earnings (`*`: every component no other hold names) until a condition is met."""

    component: str = Field(pattern=r"^(\*|[a-z][a-z0-9_]*)$", description="A component name, or * for all")
    until: HoldUntil


class ClawbackMethod(StrEnum):
    FULL = "full"  # the whole commission the transaction paid
    PRO_RATA = "pro_rata"  # the part of the contract term not served


class ClawbackAnchor(StrEnum):
    BOOKING = "booking"  # the original's date
    INVOICE = "invoice"  # the original's invoice date (a transaction attribute, `invoice_date` by default)
    PAYMENT = "payment"  # the date the customer paid (a transaction attribute, `paid_on` by default)


ANCHOR_ATTRIBUTES = {ClawbackAnchor.INVOICE: "invoice_date", ClawbackAnchor.PAYMENT: "paid_on"}


class Clawback(Strict):
    """Take back the commission a sale paid when it is returned or cancelled within a window (docs/pay.md).

    The window counts `window_months` (or `window_days`) from the anchor date; `pro_rata` takes the unserved part
    of the contract term, read from the original's `term_attribute` (imported as `attr.term_months`)."""

    window_months: int | None = Field(None, ge=0, description="Window length in months from the anchor date")
    window_days: int | None = Field(None, ge=0, description="Window length in days from the anchor date")
    method: ClawbackMethod = Field(
        ClawbackMethod.FULL, description="full: the whole commission; pro_rata: the unserved part of the term"
    )
    anchor: ClawbackAnchor = Field(ClawbackAnchor.BOOKING, description="The date the window counts from")
    anchor_attribute: str | None = Field(
        None,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="The original's attribute holding the anchor date (invoice: invoice_date, payment: paid_on)",
    )
    term_attribute: str = Field(
        "term_months", pattern=r"^[a-z][a-z0-9_]*$", description="The original's attribute holding the term in months"
    )

    @model_validator(mode="after")
    def _terms(self) -> Clawback:
        if (self.window_months is None) == (self.window_days is None):
            raise ValueError("give exactly one of window_months or window_days")
        if self.anchor_attribute is not None and self.anchor is ClawbackAnchor.BOOKING:
            raise ValueError("anchor_attribute applies to anchor: invoice or payment; booking is the original's date")
        return self

    @property
    def anchor_field(self) -> str | None:
        """The attribute holding the anchor date (None: the original's own date)."""
        return self.anchor_attribute or ANCHOR_ATTRIBUTES.get(self.anchor)


class PayPolicy(Strict):
    """How earnings become payments: a draw, holds and clawbacks. Earnings not held are paid in their month."""

    draw: Draw | None = None
    holds: list[Hold] = []
    clawback: Clawback | None = Field(
        None, description="Returns and cancellations take back the commission of their original (docs/pay.md)"
    )


# --- the plan ----------------------------------------------------------------------------


class PlanDocument(Strict):
    """A whole plan file."""

    version: Literal[1] = Field(description="Plan file format version")
    plan: str = Field(description="Plan id (the plans.external_id in the store)")
    name: str
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    effective_from: date
    effective_to: date | None = None
    description: str | None = None
    rounding: Rounding = Rounding()
    fx: FxPolicy = FxPolicy()
    parameters: dict[str, Decimal] = Field({}, description="Defaults for per-payee parameters (assignment attr.*)")
    crediting: Crediting = Crediting()
    measures: list[Measure] = Field(min_length=1)
    quotas: list[QuotaRule] = []
    components: list[Component] = Field(min_length=1)
    pay: PayPolicy | None = Field(None, description="Draws, holds and clawbacks (see docs/pay.md)")

    @model_validator(mode="after")
    def _dates(self) -> PlanDocument:
        if self.effective_to is not None and self.effective_to <= self.effective_from:
            raise ValueError("effective_to must be after effective_from")
        return self


TieredRate.model_rebuild()
LookupRate.model_rebuild()
