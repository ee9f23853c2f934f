"""The payroll file of a month: one CSV row per payee and earning code, in the payee's pay currency.

Made from the payments of the month's period run (`runs.pay.period_run`: the snapshot of a closed month). Each
payment line gets an earning code (see `EarningCodes`), the lines of one payee with the same code are summed,
and the rows come in a fixed order (payee id, earning code, plan currency), with no timestamp and `\\n` line
endings: a closed month's file is byte-identical whenever it is made again.

The default configuration (`DEFAULT_CONFIG`, what `--config` replaces):

```yaml
columns:                       # in order; `field` is one of FIELDS, `header` defaults to the field
  - {field: payee_id, header: employee_id}
  - {field: payee_name, header: name}
  - cost_center                # a bare field name: header = field
  - period
  - earning_code
  - amount                     # pay currency, at its places (2; 0 for JPY; 3 for KWD)
  - pay_currency
  - plan_amount                # plan currency, exact
  - plan_currency
  - rate                       # plan currency → pay currency
earning_codes:
  default: COMM                # earning, hold and release lines of a component not named below
  components: {}               # component (or plan/component) → code; wins over component_kinds
  component_kinds: {bonus: BON, spif: SPIF}
  lines:                       # the other payment line kinds
    adjustment: ADJ
    prior_period_adjustment: PPA
    clawback: CLAW
    draw_advance: DRAW
    guarantee_forgiven: GUAR
    draw_recovery: DRAWREC
include_zero: false            # true: keep rows whose amounts are all 0
delimiter: ","
```

Worked example: Ann (pay currency EUR, plan USD, rate 0.9) earned commission 1,000.00 and bonus 500.00 USD,
half of the commission was held, and a 50.00 adjustment was approved: rows COMM 450.00 EUR (500.00 USD),
BON 450.00 EUR (500.00 USD), ADJ 45.00 EUR (50.00 USD).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.calc.stages.pay import LineKind
from openspm.core.errors import InvalidInput
from openspm.core.money import to_text
from openspm.exports.sources import MonthPayments, fixed, month_payments
from openspm.plan.load import parse_plan
from openspm.store import models as m

ZERO = Decimal(0)

FieldName = Literal[
    "payee_id",
    "payee_name",
    "email",
    "cost_center",
    "pay_currency",
    "period",
    "earning_code",
    "amount",
    "plan_amount",
    "plan_currency",
    "rate",
]
FIELDS: tuple[str, ...] = FieldName.__args__  # type: ignore[attr-defined]
COMPONENT_LINES = frozenset({LineKind.EARNING.value, LineKind.HOLD.value, LineKind.RELEASE.value})


class Column(BaseModel):
    """One column of the payroll file: a field and its header."""

    model_config = ConfigDict(extra="forbid")

    field: FieldName
    header: str | None = None

    @property
    def title(self) -> str:
        return self.header if self.header is not None else self.field


class EarningCodes(BaseModel):
    """How payment lines map to payroll earning codes.

    Earning, hold and release lines belong to a component: its code is `components[plan/component]`, else
    `components[component]`, else `component_kinds[kind]` (the component's kind in its plan), else `default`.
    Every other line kind (adjustments, clawbacks, draws) takes `lines[kind]`, else `default`.
    """

    model_config = ConfigDict(extra="forbid")

    default: str = Field("COMM", min_length=1)
    components: dict[str, str] = {}
    component_kinds: dict[str, str] = {"bonus": "BON", "spif": "SPIF"}
    lines: dict[LineKind, str] = {
        LineKind.ADJUSTMENT: "ADJ",
        LineKind.PRIOR_PERIOD_ADJUSTMENT: "PPA",
        LineKind.CLAWBACK: "CLAW",
        LineKind.DRAW_ADVANCE: "DRAW",
        LineKind.GUARANTEE_FORGIVEN: "GUAR",
        LineKind.DRAW_RECOVERY: "DRAWREC",
    }

    @field_validator("components", "component_kinds", "lines")
    @classmethod
    def _codes_not_empty(cls, value: dict[Any, str]) -> dict[Any, str]:
        for key, code in value.items():
            if not str(code).strip():
                raise ValueError(f"the earning code of {key} is empty")
        return value

    def code(self, kind: str, plan: str, component: str | None, component_kind: str | None) -> str:
        if kind in COMPONENT_LINES and component:
            for key in (f"{plan}/{component}", component):
                if key in self.components:
                    return self.components[key]
            if component_kind and component_kind in self.component_kinds:
                return self.component_kinds[component_kind]
            return self.default
        try:
            return self.lines.get(LineKind(kind), self.default)
        except ValueError:  # a line kind this version does not know
            return self.default


DEFAULT_COLUMNS: tuple[FieldName | Column, ...] = (
    Column(field="payee_id", header="employee_id"),
    Column(field="payee_name", header="name"),
    "cost_center",
    "period",
    "earning_code",
    "amount",
    "pay_currency",
    "plan_amount",
    "plan_currency",
    "rate",
)


class PayrollConfig(BaseModel):
    """A payroll file configuration (see the module docstring for the default)."""

    model_config = ConfigDict(extra="forbid")

    columns: list[FieldName | Column] = Field(default_factory=lambda: list(DEFAULT_COLUMNS), min_length=1)
    earning_codes: EarningCodes = EarningCodes()
    include_zero: bool = False
    delimiter: str = Field(",", min_length=1, max_length=1)

    def resolved_columns(self) -> list[Column]:
        return [c if isinstance(c, Column) else Column(field=c) for c in self.columns]


DEFAULT_CONFIG = PayrollConfig()


def load_payroll_config(path: Path | None) -> PayrollConfig:
    """A payroll configuration from a YAML file (none: `DEFAULT_CONFIG`); errors say `FILE @ KEY: problem`."""
    if path is None:
        return DEFAULT_CONFIG
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"{path}: payroll configuration file not found") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: not a valid YAML payroll configuration: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: a payroll configuration must be a YAML mapping (columns:, earning_codes:)")
    try:
        return PayrollConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"] if not str(p).startswith(("literal[", "Column")))
        raise InvalidInput(f"{path} @ {key}: {first['msg']}") from None


def component_kinds(session: Session, run_id: int) -> dict[tuple[str, str], str]:
    """(plan, component) → the component's kind, from the plan versions the run used."""
    run = session.get_one(m.Run, run_id)
    kinds: dict[tuple[str, str], str] = {}
    for plan_id, version in sorted((run.plans or {}).items()):
        document = session.scalar(
            select(m.PlanVersion.document)
            .join(m.Plan, m.Plan.id == m.PlanVersion.plan_id)
            .where(m.Plan.external_id == plan_id, m.PlanVersion.version == int(version))
        )
        if document:
            for component in parse_plan(document, f"plan {plan_id} version {version}").components:
                kinds[(plan_id, component.name)] = component.kind
    return kinds


def payroll_rows(month: MonthPayments, kinds: dict[tuple[str, str], str], config: PayrollConfig) -> list[list[str]]:
    """The payroll file's rows (after the header): one per payee × earning code × plan currency and rate."""
    sums: dict[tuple[str, str, str, Decimal], list[Any]] = {}
    for payment in month.payments:
        for line in payment.lines:
            component = (line.get("source") or {}).get("component")
            kind = line["kind"]
            code = config.earning_codes.code(kind, payment.plan, component, kinds.get((payment.plan, component or "")))
            key = (payment.payee, code, payment.currency, payment.rate)
            bucket = sums.setdefault(key, [ZERO, ZERO, payment.pay_currency])
            bucket[0] += Decimal(line["pay_amount"])
            bucket[1] += Decimal(line["amount"])
    rows: list[list[str]] = []
    columns = config.resolved_columns()
    for key in sorted(sums, key=lambda k: (k[0], k[1], k[2], k[3])):
        payee, code, plan_currency, rate = key
        pay_amount, plan_amount, pay_currency = sums[key]
        if not config.include_zero and not pay_amount and not plan_amount:
            continue
        details = month.payees.get(payee)
        values = {
            "payee_id": payee,
            "payee_name": details.name if details else "",
            "email": details.email if details else "",
            "cost_center": details.cost_center if details else "",
            "pay_currency": pay_currency,
            "period": month.period,
            "earning_code": code,
            "amount": fixed(pay_amount, pay_currency),
            "plan_amount": fixed(plan_amount, plan_currency),
            "plan_currency": plan_currency,
            "rate": to_text(rate.normalize()),
        }
        rows.append([values[c.field] for c in columns])
    return rows


def render(header: Sequence[str], rows: Sequence[Sequence[str]], delimiter: str = ",") -> bytes:
    """CSV bytes: UTF-8, `\\n` line endings, minimal quoting."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def payroll_csv(engine: Engine, period: str, config: PayrollConfig | None = None) -> bytes:
    """The payroll file of month `period` (see the module docstring)."""
    config = config or DEFAULT_CONFIG
    with Session(engine) as session:
        month = month_payments(session, period)
        kinds = component_kinds(session, month.run_id)
    rows = payroll_rows(month, kinds, config)
    return render([c.title for c in config.resolved_columns()], rows, config.delimiter)
