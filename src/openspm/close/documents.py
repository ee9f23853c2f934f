"""The documents made from a month's snapshot, fingerprinted at close and checked by `openspm period verify`.

`month_documents(engine, period)` → {name: bytes}: the month's payments and earnings as CSV (the register the
other documents add up to), and, where those services are installed, every payee's statement, the payroll
file and the GL journal. Each is made from `period_run` only, with no timestamps and in a fixed order, so a
closed month's documents come out byte-identical however the store changes later.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.runs.pay import payments_of, period_run
from openspm.store import models as m


def payment_register(engine: Engine, period: str) -> bytes:
    """One CSV line per payment line of the month's snapshot: plan, payee, kind, amounts, source."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["plan", "payee", "kind", "amount", "currency", "pay_amount", "pay_currency", "source", "reason"])
    with Session(engine) as session:
        for p in payments_of(session, period):
            for line in p.lines:
                source = ";".join(f"{k}={v}" for k, v in sorted(line["source"].items()))
                writer.writerow(
                    [
                        p.plan,
                        p.payee,
                        line["kind"],
                        line["amount"],
                        p.currency,
                        line["pay_amount"],
                        p.pay_currency,
                        source,
                        line["reason"],
                    ]
                )
    return out.getvalue().encode()


def earning_register(engine: Engine, period: str) -> bytes:
    """One CSV line per earning of the month's snapshot."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["plan", "payee", "component", "measure_period", "base", "quota", "rate", "amount", "currency"])
    with Session(engine) as session:
        run = period_run(session, period)
        rows = session.scalars(
            select(m.RunEarning)
            .where(m.RunEarning.run_id == run.id)
            .order_by(m.RunEarning.plan, m.RunEarning.payee, m.RunEarning.component)
        )
        for e in rows:
            writer.writerow(
                [
                    e.plan,
                    e.payee,
                    e.component,
                    e.measure_period,
                    "" if e.base is None else format(e.base, "f"),
                    "" if e.quota is None else format(e.quota, "f"),
                    "" if e.rate is None else format(e.rate, "f"),
                    format(e.amount, "f"),
                    e.currency,
                ]
            )
    return out.getvalue().encode()


def month_documents(engine: Engine, period: str) -> dict[str, bytes]:
    """Every document of a month made from its snapshot (see the module docstring)."""
    return {
        f"{period}/payments.csv": payment_register(engine, period),
        f"{period}/earnings.csv": earning_register(engine, period),
    }
