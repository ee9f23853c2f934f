"""What the exports read: a month's payments from its period run, and payee details as they stood at its close.

A closed month's payments come from its snapshot (`runs.pay.period_run`), so they never change. Payee details
(name, email, cost center, pay currency) are master data that may be edited later; for a closed month they are
taken as they stood when the month was closed: today's values with every change audited after the close undone
(the audit log keeps each updated field's value before the change). So a closed month's payroll file and journal
are byte-identical however the store changes later; an open month shows today's values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openspm.calc.stages.pay import CURRENCY_SCALE
from openspm.core.money import to_text
from openspm.runs.pay import active_close, period_run
from openspm.store import models as m
from openspm.store.audit import values_before

PAYEE_FIELDS = ("name", "email", "cost_center", "pay_currency")


@dataclass(frozen=True)
class PayeeDetails:
    external_id: str
    name: str
    email: str
    cost_center: str
    pay_currency: str


@dataclass(frozen=True)
class MonthPayments:
    """A month's payments (by plan and payee), whether it is closed, and its payees' details."""

    period: str
    run_id: int
    closed: bool
    payments: list[m.Payment]
    payees: dict[str, PayeeDetails]


def payee_details(session: Session, as_of: datetime | None) -> dict[str, PayeeDetails]:
    """Every payee's details now (`as_of` None), or as they stood at `as_of` (see the module docstring)."""
    values: dict[str, dict[str, Any]] = {}
    for p in session.scalars(select(m.Payee)):
        values[p.external_id] = {f: getattr(p, f) for f in PAYEE_FIELDS}
    if as_of is not None:
        for key, fields in values_before(session, "payees", as_of).items():
            row = values.get(key)
            if row is not None:
                row.update({name: value for name, value in fields.items() if name in PAYEE_FIELDS})
    return {
        key: PayeeDetails(key, *(str(v[f]) if v[f] is not None else "" for f in PAYEE_FIELDS))
        for key, v in values.items()
    }


def month_payments(session: Session, period: str) -> MonthPayments:
    """The payments of `period`'s period run and the details of its payees (as at the close, when closed)."""
    closed = active_close(session, period)
    run = period_run(session, period)
    payments = list(
        session.scalars(select(m.Payment).where(m.Payment.run_id == run.id).order_by(m.Payment.payee, m.Payment.plan))
    )
    return MonthPayments(
        period,
        run.id,
        closed is not None,
        payments,
        payee_details(session, closed.closed_at if closed is not None else None),
    )


def places(currency: str) -> int:
    """Decimal places of a currency's minor unit (2; 0 for JPY and the like; 3 for BHD, KWD, ...)."""
    return CURRENCY_SCALE.get(currency, 2)


def fixed(value: Decimal, currency: str) -> str:
    """An amount as exact text with at least the currency's places: 1500 USD → `1500.00`; never rounded, so an
    amount with more places than the currency keeps them all."""
    scale = places(currency)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > scale:
        return to_text(value)
    return to_text(value.quantize(Decimal(1).scaleb(-scale)))
