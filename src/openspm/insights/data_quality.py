"""Data quality: what in the store keeps pay or analytics from being right, each with where to fix it.

Input: a `Session`, the day to judge on (`as_of`, default today), the age after which an open opportunity is stale
(`stale_days`) and the payees the caller may see (`None`: all). Output: `DataQuality`, one list of `Problem`s per
check (each problem names its subject, says what is wrong and links to where it is seen and fixed):

- `uncredited`: transactions of the month of the newest completed run for every payee that no credit of that run
  names (no owner, territory or split matched, or the run reported an issue for them; the issue's reason is shown).
- `unassigned_accounts`: accounts with no territory and no named owner on `as_of` (nobody is credited their sales),
  or with an owner but no territory (territory reports miss them).
- `stale_opportunities`: open opportunities whose close date has passed, or with no change for more than
  `stale_days`: the last change is the newest update of the opportunity in the audit log (an import that changed
  it), else its created date.
- `duplicate_opportunities`: two or more opportunities with the same account, amount, currency and close date.
- `late_data`: transactions imported after their month's first completed run finished (that run did not see them:
  the month needs a new run), or after the month closed (they arrive as prior-period adjustments).

Callers who do not see every payee (managers, reps) get the opportunity checks for the opportunities their payees
own; the other checks are about data nobody owns, so they get none.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.core.errors import InvalidInput
from openspm.store import models as m

CHECKS = {
    "uncredited": "Transactions that credited nobody (newest run)",
    "unassigned_accounts": "Accounts without an owner or territory",
    "stale_opportunities": "Stale opportunities",
    "duplicate_opportunities": "Duplicate opportunities",
    "late_data": "Late data (imported after the month's run or close)",
}
SHOWN = 500  # rows kept per check (the count is always the full one)


@dataclass(frozen=True)
class Problem:
    subject: str  # the transaction, account or opportunity id(s)
    detail: str  # what is wrong
    when: date | None  # the row's date (transaction date, close date)
    view: str  # where to see it
    fix: str  # where to fix it
    fix_label: str


@dataclass
class Check:
    name: str
    title: str
    count: int = 0
    rows: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        self.count += 1
        if len(self.rows) < SHOWN:
            self.rows.append(problem)


@dataclass
class DataQuality:
    as_of: date
    stale_days: int
    run: int | None  # the run the `uncredited` check read
    run_period: str | None
    checks: dict[str, Check]

    def check(self, name: str) -> Check:
        return self.checks[name]


def _in_effect(model: Any, day: date) -> Any:
    return (model.effective_from <= day) & or_(model.effective_to.is_(None), model.effective_to > day)


def _import(kind: str) -> str:
    return f"/admin/imports?kind={kind}"


def data_quality(
    session: Session, as_of: date | None = None, stale_days: int = 90, visible: set[int] | None = None
) -> DataQuality:
    """Every check (see the module docstring) as of `as_of` (default today)."""
    if not 1 <= stale_days <= 3650:
        raise InvalidInput(f"stale_days {stale_days} must be between 1 and 3650")
    day = as_of or utc_now().date()
    checks = {name: Check(name, title) for name, title in CHECKS.items()}
    result = DataQuality(day, stale_days, None, None, checks)
    if visible is None:
        _uncredited(session, result)
        _unassigned(session, day, checks["unassigned_accounts"])
        _late(session, checks["late_data"])
    _opportunities(session, day, stale_days, visible, checks)
    return result


def _uncredited(session: Session, result: DataQuality) -> None:
    # the newest run of every payee: a run for some payees only credits those
    runs = session.scalars(select(m.Run).where(m.Run.status == "completed").order_by(m.Run.id.desc()).limit(50))
    run = next((r for r in runs if not r.payees), None)
    if run is None:
        return
    month = session.scalars(select(m.Period).where(m.Period.name == run.period)).first()
    if month is None:
        return
    result.run, result.run_period = run.id, run.period
    credited = select(m.RunCredit.transaction).where(m.RunCredit.run_id == run.id)
    issues: dict[str, str] = {}
    for subject, reason in session.execute(
        select(m.RunIssue.subject, m.RunIssue.reason).where(m.RunIssue.run_id == run.id)
    ).tuples():
        issues.setdefault(subject, reason)
    t, a = m.Transaction, m.Account
    rows = session.execute(
        select(t.external_id, t.date, t.amount, t.currency, a.external_id)
        .join(a, a.id == t.account_id)
        .where(t.date >= month.start_date, t.date < month.end_date, t.external_id.not_in(credited))
        .order_by(t.date, t.external_id)
    ).tuples()
    for tx, when, amount, currency, account in rows:
        reason = issues.get(tx) or f"no owner, territory or split matched account {account} in run #{run.id}"
        result.checks["uncredited"].add(
            Problem(
                tx,
                f"{_amount(amount)} {currency}: {reason}",
                when,
                f"/transactions/{tx}",
                _import("account_assignments"),
                "assign the account (account assignments or territories import)",
            )
        )


def _amount(value: Decimal) -> str:
    return format(value.normalize() if value == value.to_integral() else value, "f")


def _unassigned(session: Session, day: date, check: Check) -> None:
    territory = set(session.scalars(select(m.AccountTerritory.account_id).where(_in_effect(m.AccountTerritory, day))))
    owned = set(session.scalars(select(m.AccountAssignment.account_id).where(_in_effect(m.AccountAssignment, day))))
    for account_id, external_id, name in session.execute(
        select(m.Account.id, m.Account.external_id, m.Account.name).order_by(m.Account.external_id)
    ).tuples():
        if account_id in territory:
            continue
        if account_id in owned:
            detail, kind = f"{name}: has a named owner but no territory on {day}", "account_territories"
        else:
            detail, kind = (
                f"{name}: no territory and no owner on {day}: nobody is credited its sales",
                "account_territories",
            )
        check.add(
            Problem(external_id, detail, None, f"/api/v1/accounts/{external_id}", _import(kind), f"import {kind}")
        )


def _opportunities(
    session: Session, day: date, stale_days: int, visible: set[int] | None, checks: dict[str, Check]
) -> None:
    o, a, p = m.Opportunity, m.Account, m.Payee
    query = (
        select(
            o.external_id,
            o.name,
            o.status,
            o.close_date,
            o.created_date,
            o.amount,
            o.currency,
            a.external_id,
            p.external_id,
        )
        .outerjoin(a, a.id == o.account_id)
        .outerjoin(p, p.id == o.owner_id)
        .order_by(o.close_date, o.external_id)
    )
    if visible is not None:
        query = query.where(o.owner_id.in_(visible or [-1]))
    old = day - timedelta(days=stale_days)
    changed = {
        key: at.date()
        for key, at in session.execute(
            select(m.AuditEntry.entity_key, func.max(m.AuditEntry.at))
            .where(m.AuditEntry.entity == "opportunities", m.AuditEntry.action == "update")
            .group_by(m.AuditEntry.entity_key)
        ).tuples()
        if at is not None
    }
    groups: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    for ext, name, status, close, created, amount, currency, account, owner in session.execute(query).tuples():
        view = f"/api/v1/opportunities?owner={owner}" if owner else "/api/v1/opportunities"
        if status == "open":
            reasons = []
            if close < day:
                reasons.append(f"open past its close date {close} ({(day - close).days} days)")
            last = changed.get(ext)
            if last is not None and last <= old:
                reasons.append(f"no change for {(day - last).days} days since {last} (over {stale_days})")
            elif last is None and created is not None and created <= old:
                reasons.append(f"no change for {(day - created).days} days since it was created on {created}")
            if reasons:
                checks["stale_opportunities"].add(
                    Problem(
                        ext,
                        f"{name} ({owner or 'no owner'}): " + "; ".join(reasons),
                        close,
                        view,
                        _import("opportunities"),
                        "update the opportunity (opportunities import)",
                    )
                )
        if account is not None:
            groups[(account, amount.normalize(), currency, close)].append(ext)
    for (account, amount, currency, close), ids in sorted(groups.items(), key=lambda kv: (kv[0][3], kv[0][0])):
        if len(ids) > 1:
            checks["duplicate_opportunities"].add(
                Problem(
                    ", ".join(ids),
                    f"{len(ids)} opportunities of account {account} for {_amount(amount)} {currency} closing {close}",
                    close,
                    f"/api/v1/accounts/{account}",
                    _import("opportunities"),
                    "remove or correct the duplicate (opportunities import)",
                )
            )


def _late(session: Session, check: Check) -> None:
    months = {
        name: (start, end)
        for name, start, end in session.execute(
            select(m.Period.name, m.Period.start_date, m.Period.end_date).where(m.Period.kind == "month")
        ).tuples()
    }
    first_run: dict[str, tuple[int, datetime]] = {}
    for period, run_id, finished in session.execute(
        select(m.Run.period, m.Run.id, m.Run.finished_at)
        .where(m.Run.status == "completed", m.Run.finished_at.is_not(None))
        .order_by(m.Run.id)
    ).tuples():
        if finished is not None:
            first_run.setdefault(period, (run_id, finished))
    closed: dict[str, datetime] = {}
    for period, at in session.execute(
        select(m.PeriodClose.period, func.min(m.PeriodClose.closed_at))
        .where(m.PeriodClose.status == "closed")
        .group_by(m.PeriodClose.period)
    ).tuples():
        if at is not None:
            closed[period] = at
    t, b = m.Transaction, m.ImportBatch
    for name, (run_id, finished) in sorted(first_run.items(), key=lambda kv: months.get(kv[0], (date.max,))[0]):
        if name not in months:
            continue
        start, end = months[name]
        for tx, when, batch, started in session.execute(
            select(t.external_id, t.date, b.id, b.started_at)
            .join(b, b.id == t.import_batch_id)
            .where(t.date >= start, t.date < end, b.started_at > finished)
            .order_by(t.date, t.external_id)
        ).tuples():
            closed_at = closed.get(name)
            if closed_at is not None and started > closed_at:
                detail = (
                    f"imported {started:%Y-%m-%d %H:%M} (batch #{batch}) after {name} closed: a prior-period adjustment"
                )
            else:
                detail = (
                    f"imported {started:%Y-%m-%d %H:%M} (batch #{batch}) after {name}'s run #{run_id}: run {name} again"
                )
            check.add(Problem(tx, detail, when, f"/transactions/{tx}", "/admin/runs", "run the month again"))


def check_csv(check: Check) -> str:
    """A check's problems as CSV text (subject, date, detail, view, fix)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["subject", "date", "detail", "view", "fix"])
    for p in check.rows:
        writer.writerow([p.subject, "" if p.when is None else p.when.isoformat(), p.detail, p.view, p.fix])
    return out.getvalue()


def as_json(dq: DataQuality) -> dict[str, Any]:
    return {
        "as_of": dq.as_of.isoformat(),
        "stale_days": dq.stale_days,
        "run": dq.run,
        "run_period": dq.run_period,
        "checks": {
            name: {
                "title": c.title,
                "count": c.count,
                "items": [
                    {
                        "subject": p.subject,
                        "date": p.when.isoformat() if isinstance(p.when, date) else None,
                        "detail": p.detail,
                        "view": p.view,
                        "fix": p.fix,
                        "fix_label": p.fix_label,
                    }
                    for p in c.rows
                ],
            }
            for name, c in dq.checks.items()
        },
    }
