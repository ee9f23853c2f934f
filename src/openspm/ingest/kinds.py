"""What each importable kind looks like: its columns, types, references and rules.

A `Kind` names the file columns an import accepts (`Field`), the column(s) that
identify a row (`key`: the external id, or a natural key for effective-dated
links), row rules beyond types (`checks`), and effective-dated ranges that must
not overlap (`exclusive`). `docs/import.md` is generated from these specs and a
test keeps them in step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from openspm.store import models as m


class T(StrEnum):
    """Column types, each with one parsing rule (see `validate.parse_value`)."""

    TEXT = "text"
    INT = "integer"
    DECIMAL = "decimal"
    SHARE = "share"  # a fraction 0 < x <= 1; "60%" is accepted as 0.6
    DATE = "date"
    CURRENCY = "currency"
    BOOL = "boolean"
    CHOICE = "choice"
    REF = "reference"
    LIST = "list"  # ";"-separated names
    FILE = "file"  # a path relative to the imported file; its text is stored


@dataclass(frozen=True)
class Field:
    """One importable column."""

    name: str
    type: T
    doc: str
    required: bool = False
    ref: str | None = None  # referenced kind, for T.REF
    choices: tuple[str, ...] = ()
    default: str | None = None
    nonnegative: bool = False
    target: str | None = None  # model attribute; default `name`, or `name_id` for references

    @property
    def attribute(self) -> str:
        if self.target:
            return self.target
        return f"{self.name}_id" if self.type is T.REF else self.name


Record = dict[str, Any]
Check = Callable[[Record], tuple[str, str] | None]
"""A row rule: given the parsed record, None when fine or (column, reason)."""


@dataclass(frozen=True)
class Exclusive:
    """Rows with equal `group` values must have non-overlapping `[start, end)` ranges."""

    group: tuple[str, ...]
    start: str = "effective_from"
    end: str = "effective_to"
    what: str = "row"


@dataclass(frozen=True)
class Kind:
    """An importable entity: file columns → one table."""

    name: str
    model: type[m.Base]
    doc: str
    fields: tuple[Field, ...]
    key: tuple[str, ...] = ("id",)
    attributes: str | None = None  # model attribute that keeps `attr.*` columns
    checks: tuple[Check, ...] = ()
    exclusive: Exclusive | None = None
    lookup_by: str = "external_id"  # model column other kinds reference this kind by
    audit_inserts: bool = True  # False for high-volume kinds: the import batch records them
    in_period: str | None = None  # a date field that must fall inside a calendar period

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.fields if f.required]


def _id(doc: str) -> Field:
    return Field("id", T.TEXT, doc, required=True, target="external_id")


def _dated(required_from: bool = True) -> tuple[Field, Field]:
    return (
        Field("effective_from", T.DATE, "First day the row applies (inclusive)", required=required_from),
        Field("effective_to", T.DATE, "First day it no longer applies (exclusive); empty = open-ended"),
    )


def _range_ordered(record: Record) -> tuple[str, str] | None:
    start, end = record.get("effective_from"), record.get("effective_to")
    if start is not None and end is not None and end <= start:
        return "effective_to", f"effective_to {end} must be after effective_from {start}"
    return None


def _period_ordered(record: Record) -> tuple[str, str] | None:
    if record["end_date"] <= record["start_date"]:
        return "end_date", f"end_date {record['end_date']} must be after start_date {record['start_date']}"
    return None


def _fx_distinct(record: Record) -> tuple[str, str] | None:
    if record["from_currency"] == record["to_currency"]:
        return "to_currency", "from_currency and to_currency are the same"
    if record["rate"] <= 0:
        return "rate", "rate must be greater than zero"
    return None


def _termination_after_hire(record: Record) -> tuple[str, str] | None:
    hire, term = record.get("hire_date"), record.get("termination_date")
    if hire is not None and term is not None and term < hire:
        return "termination_date", f"termination_date {term} is before hire_date {hire}"
    return None


def _transaction_signs(record: Record) -> tuple[str, str] | None:
    kind: str = record["type"]
    quantity: Decimal = record["quantity"]
    if kind == "sale":
        if quantity < 0:
            return "quantity", "negative quantity on a sale; record it as a return referring to the original"
        if record.get("original") is not None:
            return "original", "a sale cannot refer to an original transaction; use type return or cancellation"
        return None
    if record.get("original") is None:
        return "original", f"a {kind} must name the original transaction it reverses"
    if record["amount"] > 0:
        return "amount", f"a {kind} carries a negative (or zero) amount"
    if quantity > 0:
        return "quantity", f"a {kind} carries a negative (or zero) quantity"
    return None


def _not_own_manager(record: Record) -> tuple[str, str] | None:
    if record["payee"] == record["manager"]:
        return "manager", "a payee cannot be their own manager"
    return None


def _probability_range(record: Record) -> tuple[str, str] | None:
    p = record.get("probability")
    if p is not None and not Decimal(0) <= p <= Decimal(1):
        return "probability", "probability must be between 0 and 1 (or 0% and 100%)"
    return None


def _not_own_parent(record: Record) -> tuple[str, str] | None:
    if record.get("parent") is not None and record["parent"] == record["id"]:
        return "parent", "a territory cannot be its own parent"
    return None


ROLES = tuple(m.ROLES)

KINDS: dict[str, Kind] = {}


def _register(kind: Kind) -> Kind:
    KINDS[kind.name] = kind
    return kind


_register(
    Kind(
        "calendars",
        m.Calendar,
        "Fiscal calendars. `openspm calendar create` makes one with its periods.",
        (
            Field("name", T.TEXT, "Calendar name, e.g. fiscal", required=True),
            Field("fiscal_year_start_month", T.INT, "Month (1-12) the fiscal year starts in", default="1"),
        ),
        key=("name",),
        checks=(
            lambda r: (
                None
                if 1 <= r["fiscal_year_start_month"] <= 12
                else ("fiscal_year_start_month", "must be a month number from 1 to 12")
            ),
        ),
        lookup_by="name",
    )
)
_register(
    Kind(
        "periods",
        m.Period,
        "Calendar periods, half-open [start_date, end_date).",
        (
            Field("calendar", T.REF, "Calendar name", ref="calendars", default="fiscal"),
            Field("name", T.TEXT, "Period name, e.g. FY2025-M01", required=True),
            Field("kind", T.CHOICE, "Period length", required=True, choices=("month", "quarter", "year")),
            Field("start_date", T.DATE, "First day (inclusive)", required=True),
            Field("end_date", T.DATE, "Day after the last day (exclusive)", required=True),
            Field("fiscal_year", T.INT, "Fiscal year the period belongs to", required=True),
        ),
        key=("calendar", "name"),
        checks=(_period_ordered,),
        exclusive=Exclusive(("calendar", "kind"), "start_date", "end_date", "period"),
        lookup_by="name",
    )
)
_register(
    Kind(
        "fx_rates",
        m.FxRate,
        "Dated FX rates: 1 from_currency = rate to_currency from effective_date until the next rate.",
        (
            Field("from_currency", T.CURRENCY, "Currency converted from", required=True),
            Field("to_currency", T.CURRENCY, "Currency converted to", required=True),
            Field("effective_date", T.DATE, "First day the rate applies", required=True),
            Field("rate", T.DECIMAL, "Units of to_currency per unit of from_currency", required=True),
        ),
        key=("from_currency", "to_currency", "effective_date"),
        checks=(_fx_distinct,),
    )
)
_register(
    Kind(
        "payees",
        m.Payee,
        "People who are credited and paid.",
        (
            _id("Payee id (HRIS employee id)"),
            Field("name", T.TEXT, "Full name", required=True),
            Field("email", T.TEXT, "Work email (also used to match CRM owners)"),
            Field("hire_date", T.DATE, "Hire date"),
            Field("termination_date", T.DATE, "Termination date (last day worked + 1)"),
            Field("pay_currency", T.CURRENCY, "Currency the payee is paid in", required=True),
            Field("region", T.TEXT, "Region"),
            Field("role", T.TEXT, "Sales role, e.g. AE, SDR, Manager"),
            Field("seniority", T.TEXT, "Seniority level"),
            Field("cost_center", T.TEXT, "Cost center for accounting"),
        ),
        attributes="attributes",
        checks=(_termination_after_hire,),
    )
)
_register(
    Kind(
        "positions",
        m.Position,
        "Positions in the sales organisation (a position hierarchy), effective-dated.",
        (
            _id("Position id"),
            Field("name", T.TEXT, "Position name", required=True),
            Field("role", T.TEXT, "Role of the position"),
            Field("parent", T.TEXT, "Parent position id", target="parent_external_id"),
            Field("payee", T.REF, "Payee holding the position", ref="payees"),
            *_dated(),
        ),
        key=("id", "effective_from"),
        checks=(_range_ordered,),
        exclusive=Exclusive(("id",), what="position version"),
    )
)
_register(
    Kind(
        "reporting_lines",
        m.ReportingLine,
        "Who reports to whom, effective-dated (the manager hierarchy used for roll-ups).",
        (
            Field("payee", T.REF, "Payee id", required=True, ref="payees"),
            Field("manager", T.REF, "Manager's payee id", required=True, ref="payees"),
            *_dated(),
        ),
        key=("payee", "effective_from"),
        checks=(_range_ordered, _not_own_manager),
        exclusive=Exclusive(("payee",), what="reporting line"),
    )
)
_register(
    Kind(
        "accounts",
        m.Account,
        "Customer accounts with firmographics and potential.",
        (
            _id("Account id (CRM account id)"),
            Field("name", T.TEXT, "Account name", required=True),
            Field("industry", T.TEXT, "Industry"),
            Field("size", T.TEXT, "Size band, e.g. SMB, MM, ENT"),
            Field("segment", T.TEXT, "Segment"),
            Field("employees", T.INT, "Number of employees", nonnegative=True),
            Field("annual_revenue", T.DECIMAL, "Annual revenue", nonnegative=True),
            Field("country", T.TEXT, "Country"),
            Field("region", T.TEXT, "Region"),
            Field("city", T.TEXT, "City"),
            Field("latitude", T.DECIMAL, "Latitude in degrees"),
            Field("longitude", T.DECIMAL, "Longitude in degrees"),
            Field("potential", T.DECIMAL, "Estimated sales potential", nonnegative=True),
        ),
        attributes="attributes",
    )
)
_register(
    Kind(
        "territories",
        m.Territory,
        "Territories, optionally nested.",
        (
            _id("Territory id"),
            Field("name", T.TEXT, "Territory name", required=True),
            Field("parent", T.REF, "Parent territory id", ref="territories"),
            Field("region", T.TEXT, "Region"),
        ),
        attributes="attributes",
        checks=(_not_own_parent,),
    )
)
_register(
    Kind(
        "account_territories",
        m.AccountTerritory,
        "Account → territory, effective-dated (one territory per account at a time).",
        (
            Field("account", T.REF, "Account id", required=True, ref="accounts"),
            Field("territory", T.REF, "Territory id", required=True, ref="territories"),
            *_dated(),
        ),
        key=("account", "effective_from"),
        checks=(_range_ordered,),
        exclusive=Exclusive(("account",), what="territory assignment"),
    )
)
_register(
    Kind(
        "territory_assignments",
        m.TerritoryAssignment,
        "Territory → payee in a role (owner, overlay, ...), effective-dated.",
        (
            Field("territory", T.REF, "Territory id", required=True, ref="territories"),
            Field("payee", T.REF, "Payee id", required=True, ref="payees"),
            Field("role", T.TEXT, "Crediting role", default="owner"),
            Field("share", T.SHARE, "Share of credit (fraction or percent)", default="1"),
            *_dated(),
        ),
        key=("territory", "payee", "role", "effective_from"),
        checks=(_range_ordered,),
        exclusive=Exclusive(("territory", "payee", "role"), what="territory assignment"),
    )
)
_register(
    Kind(
        "account_assignments",
        m.AccountAssignment,
        "Account → payee in a role (named-account ownership), effective-dated.",
        (
            Field("account", T.REF, "Account id", required=True, ref="accounts"),
            Field("payee", T.REF, "Payee id", required=True, ref="payees"),
            Field("role", T.TEXT, "Crediting role", default="owner"),
            Field("share", T.SHARE, "Share of credit (fraction or percent)", default="1"),
            *_dated(),
        ),
        key=("account", "payee", "role", "effective_from"),
        checks=(_range_ordered,),
        exclusive=Exclusive(("account", "payee", "role"), what="account assignment"),
    )
)
_register(
    Kind(
        "products",
        m.Product,
        "Products (SKUs) in families.",
        (
            _id("Product id (SKU)"),
            Field("name", T.TEXT, "Product name", required=True),
            Field("family", T.TEXT, "Product family", required=True),
            Field("list_price", T.DECIMAL, "List price per unit", nonnegative=True),
            Field("currency", T.CURRENCY, "Currency of the list price"),
        ),
        attributes="attributes",
    )
)
_register(
    Kind(
        "transactions",
        m.Transaction,
        "Order lines, returns and cancellations: the unit of crediting. A return or cancellation "
        "carries a negative (or zero) amount and quantity and names its original.",
        (
            _id("Transaction id (order line id)"),
            Field("date", T.DATE, "Booking date; must fall in a period", required=True),
            Field("type", T.CHOICE, "Line type", choices=("sale", "return", "cancellation"), default="sale"),
            Field("account", T.REF, "Account id", required=True, ref="accounts"),
            Field("product", T.REF, "Product id", required=True, ref="products"),
            Field("quantity", T.DECIMAL, "Units", default="1"),
            Field("amount", T.DECIMAL, "Amount in the transaction currency", required=True),
            Field("currency", T.CURRENCY, "Transaction currency", required=True),
            Field("list_amount", T.DECIMAL, "Amount at list price (for discount depth)"),
            Field("original", T.REF, "Id of the sale a return or cancellation reverses", ref="transactions"),
            Field("owner", T.REF, "Explicit owner payee id (overrides account/territory ownership)", ref="payees"),
            Field("order_id", T.TEXT, "Order number"),
            Field("opportunity", T.TEXT, "CRM opportunity id", target="opportunity_external_id"),
        ),
        attributes="attributes",
        checks=(_transaction_signs,),
        audit_inserts=False,
        in_period="date",
    )
)
_register(
    Kind(
        "transaction_splits",
        m.TransactionSplit,
        "Explicit credit splits of a transaction between payees, per role. Shares of a role "
        "are checked to sum to 100% when a plan credits them (overlay roles may exceed).",
        (
            Field("transaction", T.REF, "Transaction id", required=True, ref="transactions"),
            Field("payee", T.REF, "Payee id", required=True, ref="payees"),
            Field("role", T.TEXT, "Crediting role", default="owner"),
            Field("share", T.SHARE, "Share of the transaction (fraction or percent)", required=True),
        ),
        key=("transaction", "payee", "role"),
        audit_inserts=False,
    )
)
_register(
    Kind(
        "opportunities",
        m.Opportunity,
        "Pipeline opportunities for forecasting. Forecasting reads three optional attributes: "
        "`attr.stage_reached` on a closed deal (the last open stage before it closed, from the CRM's stage "
        "history; calibrates the stage probabilities), `attr.activities` (calls and meetings logged) and "
        "`attr.competitor` (`yes`/`no`), both used by the win-probability model when present.",
        (
            _id("Opportunity id (CRM id)"),
            Field("name", T.TEXT, "Opportunity name", required=True),
            Field("account", T.REF, "Account id", ref="accounts"),
            Field("owner", T.REF, "Owner payee id", ref="payees"),
            Field("stage", T.TEXT, "Sales stage", required=True),
            Field("probability", T.SHARE, "Win probability, 0-1 or 0%-100%", target="probability"),
            Field("amount", T.DECIMAL, "Amount", required=True),
            Field("currency", T.CURRENCY, "Currency", required=True),
            Field("close_date", T.DATE, "Expected or actual close date", required=True),
            Field("created_date", T.DATE, "Created date"),
            Field("status", T.CHOICE, "open, won or lost", choices=("open", "won", "lost"), default="open"),
        ),
        attributes="attributes",
        checks=(_probability_range,),
        audit_inserts=False,
    )
)
_register(
    Kind(
        "plans",
        m.Plan,
        "Compensation plans (their rules live in plan versions).",
        (
            _id("Plan id"),
            Field("name", T.TEXT, "Plan name", required=True),
            Field("currency", T.CURRENCY, "Plan currency", required=True),
            Field("description", T.TEXT, "Description"),
        ),
    )
)
_register(
    Kind(
        "plan_versions",
        m.PlanVersion,
        "Effective-dated versions of a plan; `document` is a plan file path relative to the CSV.",
        (
            Field("plan", T.REF, "Plan id", required=True, ref="plans"),
            Field("version", T.INT, "Version number", required=True, nonnegative=True),
            *_dated(),
            Field("document", T.FILE, "Path of the plan document (YAML), relative to this file"),
        ),
        key=("plan", "version"),
        checks=(_range_ordered,),
        exclusive=Exclusive(("plan",), what="plan version"),
    )
)
_register(
    Kind(
        "plan_assignments",
        m.PlanAssignment,
        "Payee ↔ plan with parameters; `attr.*` columns become plan parameters.",
        (
            Field("payee", T.REF, "Payee id", required=True, ref="payees"),
            Field("plan", T.REF, "Plan id", required=True, ref="plans"),
            *_dated(),
            Field("target_incentive", T.DECIMAL, "Target incentive for a year", nonnegative=True),
            Field("currency", T.CURRENCY, "Currency of the target incentive"),
        ),
        key=("payee", "plan", "effective_from"),
        attributes="parameters",
        checks=(_range_ordered,),
        exclusive=Exclusive(("payee", "plan"), what="plan assignment"),
    )
)
_register(
    Kind(
        "quotas",
        m.Quota,
        "Quota per payee × measure × period.",
        (
            Field("payee", T.REF, "Payee id", required=True, ref="payees"),
            Field("measure", T.TEXT, "Measure name the quota applies to, e.g. bookings", required=True),
            Field("period", T.REF, "Period name, e.g. FY2025-Q1", required=True, ref="periods"),
            Field("amount", T.DECIMAL, "Quota amount", required=True, nonnegative=True),
            Field("currency", T.CURRENCY, "Currency (empty for a unit quota such as a count)"),
        ),
        key=("payee", "measure", "period"),
    )
)
_register(
    Kind(
        "users",
        m.User,
        "People who sign in, with their roles.",
        (
            Field("email", T.TEXT, "Sign-in email", required=True),
            Field("name", T.TEXT, "Full name", required=True),
            Field("roles", T.LIST, f"Roles separated by ';' ({', '.join(ROLES)})", required=True, choices=ROLES),
            Field("payee", T.REF, "Payee id of a rep or manager", ref="payees"),
        ),
        key=("email",),
        lookup_by="email",
    )
)


def kind(name: str) -> Kind:
    """The kind called `name`; KeyError lists the known kinds."""
    try:
        return KINDS[name]
    except KeyError:
        raise KeyError(f"unknown kind {name!r}; use one of: {', '.join(KINDS)}") from None
