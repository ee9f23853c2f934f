"""The documents made from a month's snapshot, fingerprinted at close and checked by `openspm period verify`.

`month_documents(engine, period)` → {name: bytes}: the month's payments and earnings as CSV (the register the
other documents add up to), the payroll file (default configuration) and the GL accrual journal;
`with_statements=True` adds every payee's statement (HTML), which takes about 0.1 s a payee. Each is made from
`period_run` only, with no timestamps and in a fixed order, so a closed month's documents come out
byte-identical however the store changes later.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.exports.journal import journal_csv
from openspm.exports.payroll import payroll_csv
from openspm.runs.pay import active_close, payments_of, period_run
from openspm.statements.render import render_html
from openspm.statements.service import statement, statement_payees
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


def month_documents(engine: Engine, period: str, with_statements: bool | None = None) -> dict[str, bytes]:
    """Every document of a month made from its snapshot (see the module docstring); `with_statements` None
    includes the statements when the month's close fingerprinted them."""
    if with_statements is None:
        with Session(engine) as session:
            closed = active_close(session, period)
            with_statements = closed is not None and any("/statements/" in name for name in closed.artefacts)
    documents = {
        f"{period}/payments.csv": payment_register(engine, period),
        f"{period}/earnings.csv": earning_register(engine, period),
        f"{period}/payroll.csv": payroll_csv(engine, period),
        f"{period}/journal.csv": journal_csv(engine, period),
    }
    if with_statements:
        with Session(engine) as session:
            for payee in statement_payees(session, period):
                html = render_html(statement(session, period, payee))
                documents[f"{period}/statements/{payee}.html"] = html.encode()
    return documents


def with_statements(engine: Engine, period: str) -> dict[str, bytes]:
    """`month_documents` with every payee's statement."""
    return month_documents(engine, period, with_statements=True)
