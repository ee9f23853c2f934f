"""The GL accrual journal of a month: commissions accrued as earned, and their payment, by cost center.

Made from the payments of the month's period run (the snapshot of a closed month), in each plan's currency.
For each payment (a payee under a plan), balanced entries of two lines each, on the payee's cost center:

| entry | amount | debit | credit |
|---|---|---|---|
| `accrual` | the earning lines (commissions earned in the month) | Commission expense | Accrued commissions |
| `adjustment` | manual adjustment lines | Commission expense | Accrued commissions |
| `prior_period_adjustment` | prior-period adjustment lines | Commission expense | Accrued commissions |
| `clawback` | clawback lines (negative) | Accrued commissions | Commission expense |
| `draw_recovery` | a recoverable draw repaid from earnings | Accrued commissions | Draw receivable |
| `draw_advance` | a recoverable draw advanced (owed back) | Draw receivable | Payroll clearing |
| `guarantee_forgiven` | a non-recoverable draw's top-up | Draw guarantee expense | Payroll clearing |
| `payment` | what is paid of the accrued commissions | Accrued commissions | Payroll clearing |

An entry whose amount is negative swaps its sides (a negative month's earnings debit accrued commissions). Held
earnings are accrued but not paid: the `payment` entry is the payment less the draw advance and the guarantee,
so accrued commissions keep the amounts held until a later month releases them (the release is then part of
that month's payment). Zero entries are left out.

Worked example (plan USD): earned 1,000.00, 400.00 of it held; a recoverable draw of 1,500 advances 900.00:

    accrual   Dr Commission expense 1,000.00   Cr Accrued commissions 1,000.00
    draw      Dr Draw receivable      900.00   Cr Payroll clearing      900.00
    payment   Dr Accrued commissions  600.00   Cr Payroll clearing      600.00   (paid 1,500.00; 400.00 stays accrued)

Rows are ordered by payee, plan and the entry order above, numbered from 1, without timestamps, so a closed
month's journal is byte-identical whenever it is made again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openspm.calc.stages.pay import LineKind
from openspm.core.errors import InvalidInput
from openspm.exports.payroll import render
from openspm.exports.sources import MonthPayments, fixed, month_payments

ZERO = Decimal(0)


class JournalAccounts(BaseModel):
    """General-ledger account names of the accrual journal."""

    model_config = ConfigDict(extra="forbid")

    expense: str = Field("Commission expense", min_length=1)
    accrued: str = Field("Accrued commissions", min_length=1)
    clearing: str = Field("Payroll clearing", min_length=1)
    draw_receivable: str = Field("Draw receivable", min_length=1)
    guarantee_expense: str = Field("Draw guarantee expense", min_length=1)


DEFAULT_ACCOUNTS = JournalAccounts()


def load_accounts(path: Path | None) -> JournalAccounts:
    """Account names from a YAML file (`accounts:` mapping, or the names at the top level); none: defaults."""
    if path is None:
        return DEFAULT_ACCOUNTS
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"{path}: journal configuration file not found") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: not a valid YAML journal configuration: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: a journal configuration must be a YAML mapping (accounts:)")
    if set(data) == {"accounts"}:
        data = data["accounts"] or {}
        prefix = "accounts."
    else:
        prefix = ""
    try:
        return JournalAccounts.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = prefix + ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{path} @ {key}: {first['msg']}") from None


@dataclass(frozen=True)
class GlLine:
    """One line of the journal: `debit` or `credit` is zero."""

    entry: int
    kind: str
    plan: str
    payee: str
    cost_center: str
    account: str
    currency: str
    debit: Decimal
    credit: Decimal
    memo: str


ENTRY_KINDS = (
    "accrual",
    "adjustment",
    "prior_period_adjustment",
    "clawback",
    "draw_recovery",
    "draw_advance",
    "guarantee_forgiven",
    "payment",
)


def _sum(lines: Iterable[dict[str, object]], kind: LineKind) -> Decimal:
    return sum((Decimal(str(x["amount"])) for x in lines if x["kind"] == kind.value), ZERO)


def journal_lines(month: MonthPayments, accounts: JournalAccounts = DEFAULT_ACCOUNTS) -> list[GlLine]:
    """The month's journal (see the module docstring)."""
    a = accounts
    out: list[GlLine] = []
    number = 0
    for payment in sorted(month.payments, key=lambda p: (p.payee, p.plan)):
        lines = payment.lines
        details = month.payees.get(payment.payee)
        center = details.cost_center if details else ""
        earned = _sum(lines, LineKind.EARNING)
        held = -_sum(lines, LineKind.HOLD)
        released = _sum(lines, LineKind.RELEASE)
        advance = _sum(lines, LineKind.DRAW_ADVANCE)
        forgiven = _sum(lines, LineKind.GUARANTEE_FORGIVEN)
        recovery = -_sum(lines, LineKind.DRAW_RECOVERY)
        paid = payment.amount - advance - forgiven
        components = sorted(
            {str((x.get("source") or {}).get("component")) for x in lines if x["kind"] == LineKind.EARNING.value}
        )
        reasons = sorted({str(x.get("reason") or "") for x in lines if x["kind"] == LineKind.ADJUSTMENT.value} - {""})
        corrected = sorted(
            {
                str((x.get("source") or {}).get("period"))
                for x in lines
                if x["kind"] == LineKind.PRIOR_PERIOD_ADJUSTMENT.value
            }
        )
        memo_earned = f"commissions earned in {payment.period}: {'; '.join(components)}"
        memo_paid = f"commissions paid in {payment.period}"
        if held or released:
            memo_paid += f" (held {fixed(held, payment.currency)}, released {fixed(released, payment.currency)})"
        if recovery:
            memo_paid += f" (draw recovered {fixed(recovery, payment.currency)})"
        entries = [
            ("accrual", earned, a.expense, a.accrued, memo_earned),
            ("adjustment", _sum(lines, LineKind.ADJUSTMENT), a.expense, a.accrued,
             f"adjustments in {payment.period}: {'; '.join(reasons)}"),
            ("prior_period_adjustment", _sum(lines, LineKind.PRIOR_PERIOD_ADJUSTMENT), a.expense, a.accrued,
             f"prior-period adjustment for {'; '.join(corrected)}"),
            ("clawback", -_sum(lines, LineKind.CLAWBACK), a.accrued, a.expense,
             f"commissions clawed back in {payment.period}"),
            ("draw_recovery", recovery, a.accrued, a.draw_receivable, "recoverable draw repaid from earnings"),
            ("draw_advance", advance, a.draw_receivable, a.clearing, "recoverable draw advanced"),
            ("guarantee_forgiven", forgiven, a.guarantee_expense, a.clearing, "guaranteed draw paid (not recoverable)"),
            ("payment", paid, a.accrued, a.clearing, memo_paid),
        ]  # fmt: skip
        for kind, amount, debit, credit, memo in entries:
            if not amount:
                continue
            if amount < 0:
                debit, credit, amount = credit, debit, -amount
            number += 1
            common = (number, kind, payment.plan, payment.payee, center)
            out.append(GlLine(*common, debit, payment.currency, amount, ZERO, memo))
            out.append(GlLine(*common, credit, payment.currency, ZERO, amount, memo))
    return out


JOURNAL_HEADER = (
    "period", "entry", "kind", "account", "cost_center", "payee", "plan", "currency", "debit", "credit", "memo",
)  # fmt: skip


def journal_rows(period: str, lines: Iterable[GlLine]) -> list[list[str]]:
    return [
        [
            period,
            str(x.entry),
            x.kind,
            x.account,
            x.cost_center,
            x.payee,
            x.plan,
            x.currency,
            fixed(x.debit, x.currency) if x.debit else "",
            fixed(x.credit, x.currency) if x.credit else "",
            x.memo,
        ]
        for x in lines
    ]


def gl_journal(engine: Engine, period: str, accounts: JournalAccounts | None = None) -> list[GlLine]:
    """The journal lines of month `period`."""
    with Session(engine) as session:
        month = month_payments(session, period)
    return journal_lines(month, accounts or DEFAULT_ACCOUNTS)


def journal_csv(engine: Engine, period: str, accounts: JournalAccounts | None = None) -> bytes:
    """The GL accrual journal of month `period` as CSV bytes (see the module docstring)."""
    return render(JOURNAL_HEADER, journal_rows(period, gl_journal(engine, period, accounts)))


@dataclass(frozen=True)
class AccountTotal:
    account: str
    cost_center: str
    currency: str
    debit: Decimal
    credit: Decimal


def totals(lines: Iterable[GlLine]) -> list[AccountTotal]:
    """Debits and credits per account, cost center and currency (sorted)."""
    sums: dict[tuple[str, str, str], list[Decimal]] = {}
    for x in lines:
        bucket = sums.setdefault((x.account, x.cost_center, x.currency), [ZERO, ZERO])
        bucket[0] += x.debit
        bucket[1] += x.credit
    return [AccountTotal(k[0], k[1], k[2], v[0], v[1]) for k, v in sorted(sums.items())]
