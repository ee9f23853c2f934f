"""The domain model as SQLAlchemy 2 tables.

Every imported entity has an internal integer `id` and, where the source system
has one, a unique `external_id` (the CRM / ERP / HRIS key that imports match on).
Effective-dated rows carry `effective_from` (inclusive) and `effective_to`
(exclusive, NULL = open-ended). Money, rates, shares and quantities are
`ExactDecimal`; timestamps are UTC.

`row_hash` on imported rows is a digest of the row's normalized content, so a
re-import can tell "unchanged" from "changed" without reading every column.
"""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from openspm.core.dates import utc_now
from openspm.store.types import ExactDecimal, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Attributes = dict[str, Any]


class Base(DeclarativeBase):
    """Declarative base with stable constraint names for migrations."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        Decimal: ExactDecimal(),
        datetime: UTCDateTime(),
        date: Date(),
        Attributes: JSON(),
    }


def _id() -> Mapped[int]:
    return mapped_column(Integer, primary_key=True, autoincrement=True)


def _external_id() -> Mapped[str]:
    return mapped_column(String(128), unique=True, nullable=False)


def _row_hash() -> Mapped[str | None]:
    return mapped_column(String(32), nullable=True)


# --- calendars and periods -------------------------------------------------------------


class Calendar(Base):
    """A fiscal calendar; its year starts on the 1st of `fiscal_year_start_month`."""

    __tablename__ = "calendars"
    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(String(64), unique=True)
    fiscal_year_start_month: Mapped[int] = mapped_column(Integer, default=1)
    row_hash: Mapped[str | None] = _row_hash()


class Period(Base):
    """A half-open period `[start_date, end_date)` of a calendar: month, quarter or year."""

    __tablename__ = "periods"
    __table_args__ = (
        UniqueConstraint("calendar_id", "name"),
        CheckConstraint("end_date > start_date", name="end_after_start"),
        CheckConstraint("kind IN ('month', 'quarter', 'year')", name="kind"),
    )
    id: Mapped[int] = _id()
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id"))
    name: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[date]
    end_date: Mapped[date]
    fiscal_year: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="open")
    row_hash: Mapped[str | None] = _row_hash()


class FxRate(Base):
    """`1 from_currency = rate to_currency`, valid from `effective_date` until the next rate."""

    __tablename__ = "fx_rates"
    __table_args__ = (
        UniqueConstraint("from_currency", "to_currency", "effective_date"),
        CheckConstraint("from_currency <> to_currency", name="distinct_currencies"),
    )
    id: Mapped[int] = _id()
    from_currency: Mapped[str] = mapped_column(String(3))
    to_currency: Mapped[str] = mapped_column(String(3))
    effective_date: Mapped[date]
    rate: Mapped[Decimal]
    row_hash: Mapped[str | None] = _row_hash()


# --- people and organisation -----------------------------------------------------------


class Payee(Base):
    """A person who can be credited and paid."""

    __tablename__ = "payees"
    id: Mapped[int] = _id()
    external_id: Mapped[str] = _external_id()
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    hire_date: Mapped[date | None]
    termination_date: Mapped[date | None]
    pay_currency: Mapped[str] = mapped_column(String(3))
    region: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(64))
    seniority: Mapped[str | None] = mapped_column(String(64))
    cost_center: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[Attributes] = mapped_column(default=dict)
    row_hash: Mapped[str | None] = _row_hash()


class Position(Base):
    """A seat in the sales organisation, effective-dated; `parent` is the parent position's id."""

    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("external_id", "effective_from"),)
    id: Mapped[int] = _id()
    external_id: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(64))
    parent_external_id: Mapped[str | None] = mapped_column(String(128))
    payee_id: Mapped[int | None] = mapped_column(ForeignKey("payees.id"), index=True)
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]
    row_hash: Mapped[str | None] = _row_hash()


class ReportingLine(Base):
    """`payee` reports to `manager` during `[effective_from, effective_to)`."""

    __tablename__ = "reporting_lines"
    __table_args__ = (
        UniqueConstraint("payee_id", "effective_from"),
        CheckConstraint("payee_id <> manager_id", name="not_own_manager"),
    )
    id: Mapped[int] = _id()
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"))
    manager_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]
    row_hash: Mapped[str | None] = _row_hash()


# --- customers, territories, products --------------------------------------------------


class Account(Base):
    """A customer account with firmographics and potential."""

    __tablename__ = "accounts"
    id: Mapped[int] = _id()
    external_id: Mapped[str] = _external_id()
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[str | None] = mapped_column(String(32))
    segment: Mapped[str | None] = mapped_column(String(64))
    employees: Mapped[int | None]
    annual_revenue: Mapped[Decimal | None]
    country: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(100))
    latitude: Mapped[Decimal | None]
    longitude: Mapped[Decimal | None]
    potential: Mapped[Decimal | None]
    attributes: Mapped[Attributes] = mapped_column(default=dict)
    row_hash: Mapped[str | None] = _row_hash()


class Territory(Base):
    """A named territory, optionally inside a parent territory."""

    __tablename__ = "territories"
    id: Mapped[int] = _id()
    external_id: Mapped[str] = _external_id()
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("territories.id"))
    region: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[Attributes] = mapped_column(default=dict)
    row_hash: Mapped[str | None] = _row_hash()


class AccountTerritory(Base):
    """Account → territory, effective-dated (one territory per account at a time)."""

    __tablename__ = "account_territories"
    __table_args__ = (UniqueConstraint("account_id", "effective_from"),)
    id: Mapped[int] = _id()
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    territory_id: Mapped[int] = mapped_column(ForeignKey("territories.id"), index=True)
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]
    row_hash: Mapped[str | None] = _row_hash()


class TerritoryAssignment(Base):
    """Territory → payee in a role (owner, overlay, ...), effective-dated."""

    __tablename__ = "territory_assignments"
    __table_args__ = (UniqueConstraint("territory_id", "payee_id", "role", "effective_from"),)
    id: Mapped[int] = _id()
    territory_id: Mapped[int] = mapped_column(ForeignKey("territories.id"))
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    role: Mapped[str] = mapped_column(String(64), default="owner")
    share: Mapped[Decimal]
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]
    row_hash: Mapped[str | None] = _row_hash()


class AccountAssignment(Base):
    """Account → payee in a role (owner, overlay, ...), effective-dated: named-account ownership."""

    __tablename__ = "account_assignments"
    __table_args__ = (UniqueConstraint("account_id", "payee_id", "role", "effective_from"),)
    id: Mapped[int] = _id()
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    role: Mapped[str] = mapped_column(String(64), default="owner")
    share: Mapped[Decimal]
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]
    row_hash: Mapped[str | None] = _row_hash()


class Product(Base):
    """A product (SKU) in a product family."""

    __tablename__ = "products"
    id: Mapped[int] = _id()
    external_id: Mapped[str] = _external_id()
    name: Mapped[str] = mapped_column(String(200))
    family: Mapped[str] = mapped_column(String(64), index=True)
    list_price: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    attributes: Mapped[Attributes] = mapped_column(default=dict)
    row_hash: Mapped[str | None] = _row_hash()


# --- transactions and pipeline ---------------------------------------------------------


class Transaction(Base):
    """An order line, return or cancellation: the unit of crediting.

    Sign convention: a sale has a non-negative quantity; a return or cancellation
    carries negative (or zero) amount and quantity and names its `original_id`.
    """

    __tablename__ = "transactions"
    # Only the external id is indexed: runs read transactions in bulk (by period) into the
    # engine, and every extra index costs about a third more time on a million-row import.
    __table_args__ = (
        CheckConstraint("type IN ('sale', 'return', 'cancellation')", name="type"),
        # Partial: only returns and cancellations (~2% of rows) carry an original, and deleting
        # sales must not scan the whole table to check nothing refers to them.
        Index(
            "ix_transactions_original_id",
            "original_id",
            sqlite_where=text("original_id IS NOT NULL"),
            postgresql_where=text("original_id IS NOT NULL"),
        ),
    )
    id: Mapped[int] = _id()
    external_id: Mapped[str] = _external_id()
    date: Mapped[dt.date]
    type: Mapped[str] = mapped_column(String(16), default="sale")
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[Decimal]
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    list_amount: Mapped[Decimal | None]
    original_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("payees.id"))
    order_id: Mapped[str | None] = mapped_column(String(128))
    opportunity_external_id: Mapped[str | None] = mapped_column(String(128))
    attributes: Mapped[Attributes] = mapped_column(default=dict)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    source_row: Mapped[int | None]
    row_hash: Mapped[str | None] = _row_hash()


class TransactionSplit(Base):
    """An explicit credit split: `share` (a fraction) of a transaction to a payee in a role."""

    __tablename__ = "transaction_splits"
    __table_args__ = (
        UniqueConstraint("transaction_id", "payee_id", "role"),
        CheckConstraint("share > 0", name="share_positive"),
    )
    id: Mapped[int] = _id()
    transaction_id: Mapped[int] = mapped_column(ForeignKey("transactions.id"))
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    role: Mapped[str] = mapped_column(String(64), default="owner")
    share: Mapped[Decimal]
    row_hash: Mapped[str | None] = _row_hash()


class Opportunity(Base):
    """A pipeline opportunity (for forecasting): stage, probability, amount, close date."""

    __tablename__ = "opportunities"
    __table_args__ = (CheckConstraint("status IN ('open', 'won', 'lost')", name="status"),)
    id: Mapped[int] = _id()
    external_id: Mapped[str] = _external_id()
    name: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("payees.id"), index=True)
    stage: Mapped[str] = mapped_column(String(64))
    probability: Mapped[Decimal | None]
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    close_date: Mapped[date]
    created_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(8), default="open")
    attributes: Mapped[Attributes] = mapped_column(default=dict)
    row_hash: Mapped[str | None] = _row_hash()


# --- plans and quotas ------------------------------------------------------------------


class Plan(Base):
    """A compensation plan; its rules live in versioned documents (`PlanVersion`)."""

    __tablename__ = "plans"
    id: Mapped[int] = _id()
    external_id: Mapped[str] = _external_id()
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str | None] = mapped_column(Text)
    row_hash: Mapped[str | None] = _row_hash()


class PlanVersion(Base):
    """One effective-dated version of a plan, with its plan document (YAML text)."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "version"),)
    id: Mapped[int] = _id()
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    version: Mapped[int]
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]
    document: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    row_hash: Mapped[str | None] = _row_hash()


class PlanAssignment(Base):
    """Payee ↔ plan for `[effective_from, effective_to)`, with parameters (target incentive, overrides)."""

    __tablename__ = "plan_assignments"
    __table_args__ = (UniqueConstraint("payee_id", "plan_id", "effective_from"),)
    id: Mapped[int] = _id()
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    plan_version_id: Mapped[int | None] = mapped_column(ForeignKey("plan_versions.id"))
    effective_from: Mapped[date]
    effective_to: Mapped[date | None]
    target_incentive: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    parameters: Mapped[Attributes] = mapped_column(default=dict)
    row_hash: Mapped[str | None] = _row_hash()


class Quota(Base):
    """Quota of a payee for a measure in a period."""

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("payee_id", "measure", "period_id"),)
    id: Mapped[int] = _id()
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"))
    measure: Mapped[str] = mapped_column(String(64))
    period_id: Mapped[int] = mapped_column(ForeignKey("periods.id"), index=True)
    amount: Mapped[Decimal]
    currency: Mapped[str | None] = mapped_column(String(3))
    row_hash: Mapped[str | None] = _row_hash()


# --- users, roles, audit, imports ------------------------------------------------------


class Role(Base):
    """A role: admin, comp_analyst, finance, manager, rep."""

    __tablename__ = "roles"
    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(String(32), unique=True)
    description: Mapped[str] = mapped_column(String(200))


class User(Base):
    """A person who signs in; a rep or manager user is linked to their payee."""

    __tablename__ = "users"
    id: Mapped[int] = _id()
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    payee_id: Mapped[int | None] = mapped_column(ForeignKey("payees.id"))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    row_hash: Mapped[str | None] = _row_hash()


class UserRole(Base):
    """User ↔ role."""

    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id"), primary_key=True)


class ApiToken(Base):
    """An API token of a user for integrations: only its SHA-256 is stored (the token is shown once).

    `scopes` is `read` or `read,write`; a revoked token (`revoked_at` set) answers 401.
    """

    __tablename__ = "api_tokens"
    id: Mapped[int] = _id()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to recognise a token in a list
    scopes: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Who changed what, when, with the values before and after."""

    __tablename__ = "audit_log"
    id: Mapped[int] = _id()
    at: Mapped[datetime] = mapped_column(default=utc_now, index=True)
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(64))
    entity_key: Mapped[str] = mapped_column(String(256))
    before: Mapped[Attributes | None] = mapped_column(JSON, nullable=True)
    after: Mapped[Attributes | None] = mapped_column(JSON, nullable=True)
    note: Mapped[str | None] = mapped_column(Text)


class ImportBatch(Base):
    """One import of one file: what, from where, by whom, and the row counts."""

    __tablename__ = "import_batches"
    id: Mapped[int] = _id()
    kind: Mapped[str] = mapped_column(String(32))
    file_name: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(254))
    started_at: Mapped[datetime] = mapped_column(default=utc_now)
    finished_at: Mapped[datetime | None]
    rows: Mapped[int] = mapped_column(default=0)
    inserted: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)


ROLES = {
    "admin": "Everything, including users and roles",
    "comp_analyst": "Plans, data, runs, adjustments and disputes",
    "finance": "Read-only everything; accruals, payroll and accounting exports",
    "manager": "Their team as of the period, and approvals that fall to them",
    "rep": "Their own earnings, statements, plan and disputes",
}


# --- calculation runs --------------------------------------------------------------------


class Run(Base):
    """One calculation of one payout month: inputs, plan versions, timings and status."""

    __tablename__ = "runs"
    id: Mapped[int] = _id()
    period: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | completed | failed
    engine: Mapped[str] = mapped_column(String(16), default="duckdb")
    actor: Mapped[str] = mapped_column(String(254))
    started_at: Mapped[datetime] = mapped_column(default=utc_now)
    finished_at: Mapped[datetime | None]
    plans: Mapped[Attributes] = mapped_column(default=dict)  # plan id → version
    inputs: Mapped[Attributes] = mapped_column(default=dict)  # row counts and the newest import batch
    timings: Mapped[Attributes] = mapped_column(default=dict)  # seconds per stage
    payees: Mapped[Attributes | None] = mapped_column(JSON, nullable=True)  # the payees asked for, None = all
    error: Mapped[str | None] = mapped_column(Text)


class RunCredit(Base):
    """A credit of a run: a share of a transaction to a payee."""

    __tablename__ = "run_credits"
    id: Mapped[int] = _id()
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    plan: Mapped[str] = mapped_column(String(128))
    transaction: Mapped[str] = mapped_column(String(128))
    original: Mapped[str | None] = mapped_column(String(128))
    payee: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(64))
    role_class: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    level: Mapped[int]
    share: Mapped[Decimal]
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    date: Mapped[dt.date]
    month: Mapped[str] = mapped_column(String(32))
    measures: Mapped[str | None] = mapped_column(String(512))  # the measures it counts toward, comma-separated


class RunMeasure(Base):
    """A measure value of a run for a payee and period."""

    __tablename__ = "run_measures"
    id: Mapped[int] = _id()
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    plan: Mapped[str] = mapped_column(String(128))
    payee: Mapped[str] = mapped_column(String(128))
    period: Mapped[str] = mapped_column(String(32))
    measure: Mapped[str] = mapped_column(String(64))
    value: Mapped[Decimal]


class RunEarning(Base):
    """What a component earned for a payee in the run's month, with the trace of its arithmetic."""

    __tablename__ = "run_earnings"
    id: Mapped[int] = _id()
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    plan: Mapped[str] = mapped_column(String(128))
    payee: Mapped[str] = mapped_column(String(128))
    period: Mapped[str] = mapped_column(String(32))
    component: Mapped[str] = mapped_column(String(64))
    measure_period: Mapped[str] = mapped_column(String(32))
    base: Mapped[Decimal | None]
    quota: Mapped[Decimal | None]
    attainment: Mapped[Decimal | None]
    rate: Mapped[Decimal | None]
    amount: Mapped[Decimal]
    cut: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    trace: Mapped[Attributes] = mapped_column(default=dict)


class RunIssue(Base):
    """A data problem a run found (no FX rate, splits not summing to 100%, ...)."""

    __tablename__ = "run_issues"
    id: Mapped[int] = _id()
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(256))
    value: Mapped[str] = mapped_column(String(256))
    reason: Mapped[str] = mapped_column(Text)


class PayeeMeasure(Base):
    """The current monthly value of a sum or count measure for a payee under a plan.

    Written by every full run for the months of its window, and kept up to date by incremental recompute
    (a changed transaction adds its difference); incent reads period values from here for the payees a
    change touches. `credits` counts the credits behind the value.
    """

    __tablename__ = "payee_measures"
    __table_args__ = (UniqueConstraint("plan", "version", "payee_id", "month", "measure"),)
    id: Mapped[int] = _id()
    plan: Mapped[str] = mapped_column(String(128))
    version: Mapped[int]
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    month: Mapped[str] = mapped_column(String(32))
    measure: Mapped[str] = mapped_column(String(64))
    value: Mapped[Decimal]
    credits: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class LiveEarning(Base):
    """A payee's current earning of a component for a payout month: what dashboards show in real time.

    A full run replaces its month's rows (`run_id` set); incremental recompute replaces the rows of the
    payees a change touches (`run_id` NULL). The frozen record of a month is its run (`run_earnings`).
    """

    __tablename__ = "live_earnings"
    __table_args__ = (UniqueConstraint("plan", "version", "payee_id", "period", "component"),)
    id: Mapped[int] = _id()
    plan: Mapped[str] = mapped_column(String(128))
    version: Mapped[int]
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    payee: Mapped[str] = mapped_column(String(128))
    period: Mapped[str] = mapped_column(String(32))
    component: Mapped[str] = mapped_column(String(64))
    measure_period: Mapped[str] = mapped_column(String(32))
    base: Mapped[Decimal | None]
    quota: Mapped[Decimal | None]
    attainment: Mapped[Decimal | None]
    rate: Mapped[Decimal | None]
    amount: Mapped[Decimal]
    cut: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    trace: Mapped[Attributes] = mapped_column(default=dict)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


# --- pay and close ---------------------------------------------------------------------------------------


class Payment(Base):
    """What a run pays one payee under one plan in its month: earnings after holds, releases, adjustments,
    clawbacks and the draw, in the plan currency and converted to the payee's pay currency.

    `lines` lists each part (kind, amount, pay_amount, source, reason) so the total explains itself;
    `balance` is what carries into the next month (draw owed, guarantees forgiven, amounts still held).
    """

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("run_id", "plan", "payee"),)
    id: Mapped[int] = _id()
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    plan: Mapped[str] = mapped_column(String(128))
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    payee: Mapped[str] = mapped_column(String(128))
    period: Mapped[str] = mapped_column(String(32), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    earned: Mapped[Decimal]
    amount: Mapped[Decimal]
    pay_currency: Mapped[str] = mapped_column(String(3))
    rate: Mapped[Decimal]
    rate_date: Mapped[date | None]
    pay_amount: Mapped[Decimal]
    lines: Mapped[list[Any]] = mapped_column(JSON, default=list)
    balance: Mapped[Attributes] = mapped_column(default=dict)


class Adjustment(Base):
    """A manual or prior-period adjustment paid to (or taken from) a payee in a month.

    Manual adjustments carry a reason code and may wait for approval (`status` pending → approved or
    rejected); prior-period adjustments are made by a run: the difference between a closed month's
    snapshot and the same month computed again on today's data (`prior_period`, `source`).
    """

    __tablename__ = "adjustments"
    id: Mapped[int] = _id()
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    plan: Mapped[str] = mapped_column(String(128))
    period: Mapped[str] = mapped_column(String(32), index=True)
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16), default="manual")  # manual | prior_period
    reason_code: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    component: Mapped[str | None] = mapped_column(String(64))
    prior_period: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="approved")  # pending | approved | rejected
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    decided_by: Mapped[str | None] = mapped_column(String(254))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[Attributes | None] = mapped_column(JSON, nullable=True)


class HoldRelease(Base):
    """A held earning released by hand (`until: manual` holds) into the month `released_in`."""

    __tablename__ = "hold_releases"
    __table_args__ = (UniqueConstraint("plan", "payee_id", "component", "origin_period"),)
    id: Mapped[int] = _id()
    plan: Mapped[str] = mapped_column(String(128))
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    component: Mapped[str] = mapped_column(String(64))
    origin_period: Mapped[str] = mapped_column(String(32))
    released_in: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(default=utc_now)
    note: Mapped[str | None] = mapped_column(Text)


class PlanAcceptance(Base):
    """A payee's acceptance of a plan version (what `until: plan_accepted` holds wait for)."""

    __tablename__ = "plan_acceptances"
    __table_args__ = (UniqueConstraint("payee_id", "plan", "version"),)
    id: Mapped[int] = _id()
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    plan: Mapped[str] = mapped_column(String(128))
    version: Mapped[int]
    accepted_on: Mapped[date]
    accepted_at: Mapped[datetime] = mapped_column(default=utc_now)
    accepted_by: Mapped[str] = mapped_column(String(254))


class PeriodClose(Base):
    """The close of a month: the run frozen as its snapshot, and the digests of what was made from it.

    A closed month never changes; reopening (an audited admin action) marks the row `reopened`, and the
    next close adds a new row.
    """

    __tablename__ = "period_closes"
    id: Mapped[int] = _id()
    period: Mapped[str] = mapped_column(String(32), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    status: Mapped[str] = mapped_column(String(16), default="closed")  # closed | reopened
    closed_by: Mapped[str] = mapped_column(String(254))
    closed_at: Mapped[datetime] = mapped_column(default=utc_now)
    artefacts: Mapped[Attributes] = mapped_column(default=dict)  # document name → SHA-256
    reopened_by: Mapped[str | None] = mapped_column(String(254))
    reopened_at: Mapped[datetime | None]
    reopen_reason: Mapped[str | None] = mapped_column(Text)


class PeriodLock(Base):
    """A month being calculated: one row per month, so a second run of the same month refuses at once."""

    __tablename__ = "period_locks"
    period: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[int | None]
    actor: Mapped[str] = mapped_column(String(254))
    acquired_at: Mapped[datetime] = mapped_column(default=utc_now)


# --- planning --------------------------------------------------------------------------------------------


class PlanningScenario(Base):
    """A planning draft (quotas for a year, ...): its parameters, the proposal they give and its review.

    `status` runs draft → approved → published (or discarded); a published scenario has written its proposal
    into the data the engine uses (for quotas: the `quotas` rows), audited, and never changes again.
    """

    __tablename__ = "planning_scenarios"
    id: Mapped[int] = _id()
    kind: Mapped[str] = mapped_column(String(32))  # quota
    name: Mapped[str] = mapped_column(String(200))
    year: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | approved | published | discarded
    params: Mapped[Attributes] = mapped_column(default=dict)
    proposal: Mapped[Attributes] = mapped_column(default=dict)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    decided_by: Mapped[str | None] = mapped_column(String(254))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    published_by: Mapped[str | None] = mapped_column(String(254))
    published_at: Mapped[datetime | None]


# --- disputes --------------------------------------------------------------------------------------------


class Dispute(Base):
    """A payee's inquiry about one line of a month's statement (an earning, a payment line, a credit, or a
    transaction or other reference in words), worked by an analyst to an outcome.

    `state`: open → in_review → resolved_adjusted (an adjustment, `adjustment_id`) | rejected (with a reason)
    | withdrawn (by the payee). `line_label`, `line_amount` and `line_currency` keep the line as the statement
    showed it when the dispute was raised (the statement may change until the month closes).
    """

    __tablename__ = "disputes"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'in_review', 'resolved_adjusted', 'rejected', 'withdrawn')", name="state"),
        CheckConstraint("line_kind IN ('earning', 'payment', 'credit', 'transaction', 'other')", name="line_kind"),
    )
    id: Mapped[int] = _id()
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    period: Mapped[str] = mapped_column(String(32), index=True)
    line_kind: Mapped[str] = mapped_column(String(16))
    line_ref: Mapped[str | None] = mapped_column(String(256))
    line_label: Mapped[str] = mapped_column(Text)
    line_amount: Mapped[Decimal | None]
    line_currency: Mapped[str | None] = mapped_column(String(3))
    plan: Mapped[str | None] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    amount_claimed: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(24), default="open", index=True)
    raised_by: Mapped[str] = mapped_column(String(254))
    assignee: Mapped[str | None] = mapped_column(String(254))
    assigned_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(254))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    adjustment_id: Mapped[int | None] = mapped_column(ForeignKey("adjustments.id"), index=True)


class DisputeComment(Base):
    """A comment on a dispute, by the payee, their manager or an analyst; `internal` ones (analysts' notes)
    are never shown to the payee or their manager."""

    __tablename__ = "dispute_comments"
    id: Mapped[int] = _id()
    dispute_id: Mapped[int] = mapped_column(ForeignKey("disputes.id"), index=True)
    author: Mapped[str] = mapped_column(String(254))
    author_name: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class Job(Base):
    """A background job (a calculation run of one or more months, ...): what was asked, by whom, and how far it is.

    `state` goes queued → running → succeeded | failed; `progress` is a fraction (0 to 1) with a `message`
    saying what is being done; `result` names what the job made (e.g. `{"runs": [12, 13]}`), `error` why it
    failed. Any web or worker process reads the same row, so every one of them shows the same progress.
    """

    __tablename__ = "jobs"
    id: Mapped[int] = _id()
    kind: Mapped[str] = mapped_column(String(32), index=True)
    params: Mapped[Attributes] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[Decimal] = mapped_column(default=Decimal(0))
    message: Mapped[str] = mapped_column(String(500), default="")
    result: Mapped[Attributes | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]  # the last progress report: a running job silent for long has died


# --- feedback on plan design -----------------------------------------------------------------------------


class FeedbackThread(Base):
    """A topic raised about a plan version (optionally about one of its components), with its comments.

    `state`: open → answered (a designer replied) → closed (by a designer); a participant's comment on an
    answered thread opens it again, and a designer may reopen a closed one.
    """

    __tablename__ = "feedback_threads"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'answered', 'closed')", name="state"),
        Index("ix_feedback_threads_plan_version", "plan", "version"),
    )
    id: Mapped[int] = _id()
    plan: Mapped[str] = mapped_column(String(128))
    version: Mapped[int]
    component: Mapped[str | None] = mapped_column(String(128))
    topic: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_by: Mapped[str] = mapped_column(String(254))
    created_by_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)
    closed_by: Mapped[str | None] = mapped_column(String(254))
    closed_at: Mapped[datetime | None]


class FeedbackComment(Base):
    """A comment in a feedback thread; `designer` marks a plan designer's (admin, comp analyst) reply."""

    __tablename__ = "feedback_comments"
    id: Mapped[int] = _id()
    thread_id: Mapped[int] = mapped_column(ForeignKey("feedback_threads.id"), index=True)
    author: Mapped[str] = mapped_column(String(254))
    author_name: Mapped[str | None] = mapped_column(String(200))
    designer: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class FeedbackSurvey(Base):
    """A short survey on a plan version: `questions` is a list of `{"text", "kind"}` (kind `scale`, 1 to 5, or
    `text`); `state` open → closed (no answer changes after)."""

    __tablename__ = "feedback_surveys"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'closed')", name="state"),
        Index("ix_feedback_surveys_plan_version", "plan", "version"),
    )
    id: Mapped[int] = _id()
    plan: Mapped[str] = mapped_column(String(128))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    questions: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default="open")
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    closed_by: Mapped[str | None] = mapped_column(String(254))
    closed_at: Mapped[datetime | None]


class FeedbackAnswer(Base):
    """One respondent's answers to a survey (changed in place until the survey closes): `answers` holds one
    value per question, by position (an integer 1 to 5, a text, or null for a question left blank)."""

    __tablename__ = "feedback_answers"
    __table_args__ = (UniqueConstraint("survey_id", "respondent"),)
    id: Mapped[int] = _id()
    survey_id: Mapped[int] = mapped_column(ForeignKey("feedback_surveys.id"), index=True)
    respondent: Mapped[str] = mapped_column(String(254))
    respondent_name: Mapped[str | None] = mapped_column(String(200))
    payee_id: Mapped[int | None] = mapped_column(ForeignKey("payees.id"))
    answers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


# --- forecasting -----------------------------------------------------------------------------------------


class ForecastSnapshot(Base):
    """One forecast as it was made: what was forecast (`amount` in `currency`), when and by whom, for which
    `[period_start, period_end)` and `scope` (``company``, ``region:NA``, ``team:<manager>``, ``payee:<rep>``,
    ``deal:<opportunity>``), by which `source` (series | pipeline | commit) and `method` (auto_ets, seasonal_naive,
    weighted, commit, best_case, call, ...). Rows are never changed: accuracy compares them with actuals later.
    `batch` groups the rows made together (a forecast job, a commit entry); `details` keeps the inputs
    (a deal's amount and probability, a model's season)."""

    __tablename__ = "forecast_snapshots"
    __table_args__ = (CheckConstraint("source IN ('series', 'pipeline', 'commit')", name="source"),)
    id: Mapped[int] = _id()
    made_at: Mapped[datetime] = mapped_column(default=utc_now)
    made_by: Mapped[str] = mapped_column(String(254))
    batch: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(32))
    scope: Mapped[str] = mapped_column(String(160), index=True)
    period_start: Mapped[date] = mapped_column(index=True)
    period_end: Mapped[date]
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    details: Mapped[Attributes] = mapped_column(default=dict)


class ForecastCommit(Base):
    """A rep's commit and best case for a period (`kind` commit), or a manager's call for their team (`kind` call),
    as entered. Every entry is kept (the history); the newest per payee, period and kind is the current one."""

    __tablename__ = "forecast_commits"
    __table_args__ = (CheckConstraint("kind IN ('commit', 'call')", name="kind"),)
    id: Mapped[int] = _id()
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    period: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    commit_amount: Mapped[Decimal]
    best_case: Mapped[Decimal | None]
    currency: Mapped[str] = mapped_column(String(3))
    note: Mapped[str | None] = mapped_column(Text)
    entered_by: Mapped[str] = mapped_column(String(254))
    entered_at: Mapped[datetime] = mapped_column(default=utc_now)


# --- gamification ----------------------------------------------------------------------------------------


class RankingPreference(Base):
    """A payee's choice about public leaderboards: `public` False hides their name and value from everyone who
    may not see their data anyway (they still see their own rank). No row means public."""

    __tablename__ = "ranking_preferences"
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), primary_key=True)
    public: Mapped[bool] = mapped_column(default=True)
    updated_by: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(default=utc_now)


class Contest(Base):
    """A sales contest or SPIF campaign defined in YAML (`source`; `definition` is the checked document).

    `status` active → closed; `standings` caches the last computed standings with the marker of the data they
    came from (recomputed when credits change); `results` holds the final standings and the adjustments
    proposed at the close.
    """

    __tablename__ = "contests"
    id: Mapped[int] = _id()
    key: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # contest | spif
    plan: Mapped[str] = mapped_column(String(128))
    first_month: Mapped[str] = mapped_column(String(32))
    last_month: Mapped[str] = mapped_column(String(32))
    definition: Mapped[Attributes] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)  # active | closed
    standings: Mapped[Attributes] = mapped_column(default=dict)
    results: Mapped[Attributes | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    closed_by: Mapped[str | None] = mapped_column(String(254))
    closed_at: Mapped[datetime | None]


class Badge(Base):
    """A badge or milestone a payee earned (first deal, quota reached, a streak, contest winner), once per `key`
    (the period, streak or contest it was earned for), with the date it was earned."""

    __tablename__ = "badges"
    __table_args__ = (UniqueConstraint("payee_id", "badge", "key"),)
    id: Mapped[int] = _id()
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    badge: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    earned_on: Mapped[date]
    detail: Mapped[Attributes] = mapped_column(default=dict)
    awarded_at: Mapped[datetime] = mapped_column(default=utc_now)


class Notification(Base):
    """An in-app notification to a user (a badge earned, a contest standing or result); `key` makes sending the
    same news twice a no-op; `read_at` is set when the user marks it read."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("user_id", "key"),)
    id: Mapped[int] = _id()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    read_at: Mapped[datetime | None]
