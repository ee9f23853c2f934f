"""Commits: a rep's commit and best case for a period, a manager's call for their team, rolled up the reporting
lines.

Input: `forecast_commits` rows (every entry kept; the newest per payee × period × kind is current) and
`reporting_lines` in effect on the period's first day. Output: `CommitNode` trees.

Roll-up arithmetic, per node (a payee):
- `team_commit` = Σ over direct reports of their `effective_commit` (same for `team_best_case`);
- `effective_commit` = the manager's own call when they entered one, else their own commit (reps) plus
  `team_commit`. Best case likewise (a call's best case, else own + team).

Worked example: reps A (commit 100, best 150) and B (commit 50, best 80) report to manager M → M's team commit
150, best case 230; M calls 140 → M's effective commit 140 (and what M's own manager sees from M), best case 230
unless the call names one.

Each entry is also stored as a forecast snapshot (source ``commit``; method ``commit``/``best_case`` with scope
``payee:<rep>``, or ``call``/``call_best_case`` with scope ``team:<manager>``), so its accuracy is measured when
the period's actuals are in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from openspm.core.errors import InvalidInput, NotFound
from openspm.core.money import round_money
from openspm.insights.bookings import CURRENCY
from openspm.store import models as m

KINDS = ("commit", "call")
MAXIMUM = Decimal(10) ** 15


@dataclass(frozen=True)
class CommitEntry:
    id: int
    payee: str
    period: str
    kind: str
    commit: Decimal
    best_case: Decimal | None
    currency: str
    note: str | None
    entered_by: str
    entered_at: datetime


@dataclass
class CommitNode:
    payee_id: int
    payee: str  # external id
    name: str
    own: CommitEntry | None = None  # the rep's current commit
    call: CommitEntry | None = None  # the manager's current call
    children: list[CommitNode] = field(default_factory=list)
    team_commit: Decimal = Decimal(0)
    team_best_case: Decimal = Decimal(0)
    effective_commit: Decimal = Decimal(0)
    effective_best_case: Decimal = Decimal(0)
    reported: int = 0  # reps below (or this rep) with a current commit
    reps: int = 0  # payees below without reports of their own (or this one)

    def walk(self, depth: int = 0) -> list[tuple[int, CommitNode]]:
        """This node and everything below, depth first, with their depth."""
        found = [(depth, self)]
        for child in self.children:
            found.extend(child.walk(depth + 1))
        return found


def _entry(row: m.ForecastCommit, payee: str) -> CommitEntry:
    return CommitEntry(
        row.id,
        payee,
        row.period,
        row.kind,
        row.commit_amount,
        row.best_case,
        row.currency,
        row.note,
        row.entered_by,
        row.entered_at,
    )


def period_of(session: Session, name: str) -> m.Period:
    row = session.scalars(select(m.Period).where(m.Period.name == name)).first()
    if row is None:
        raise NotFound(f"unknown period {name!r}")
    return row


def enter(
    session: Session,
    *,
    payee_id: int,
    period: str,
    kind: str,
    commit: Decimal,
    best_case: Decimal | None,
    note: str | None,
    actor: str,
) -> CommitEntry:
    """Record a commit (a rep's) or a call (a manager's, for their team) and its forecast snapshots; the caller
    commits the session. Amounts are rounded to cents; InvalidInput for negative or absurd (over 10^15) amounts or a
    best case below the commit."""
    if kind not in KINDS:
        raise InvalidInput(f"unknown kind {kind!r}; use commit or call")
    if commit < 0 or (best_case is not None and best_case < 0):
        raise InvalidInput("a commit and a best case cannot be negative")
    if commit > MAXIMUM or (best_case is not None and best_case > MAXIMUM):
        raise InvalidInput(f"a commit or best case above {MAXIMUM:,} is not a forecast")
    commit = round_money(commit)
    best_case = None if best_case is None else round_money(best_case)
    if best_case is not None and best_case < commit:
        raise InvalidInput(f"the best case ({best_case}) cannot be below the commit ({commit})")
    row_period = period_of(session, period)
    payee = session.get(m.Payee, payee_id)
    if payee is None:
        raise NotFound(f"unknown payee {payee_id}")
    row = m.ForecastCommit(
        payee_id=payee_id,
        period=period,
        kind=kind,
        commit_amount=commit,
        best_case=best_case,
        currency=CURRENCY,
        note=note or None,
        entered_by=actor,
    )
    session.add(row)
    session.flush()
    scope = f"payee:{payee.external_id}" if kind == "commit" else f"team:{payee.external_id}"
    batch = f"commit-{uuid.uuid4().hex[:12]}"
    methods = [(kind, commit)]
    if best_case is not None:
        methods.append(("best_case" if kind == "commit" else "call_best_case", best_case))
    for method, amount in methods:
        session.add(
            m.ForecastSnapshot(
                made_by=actor,
                batch=batch,
                source="commit",
                method=method,
                scope=scope,
                period_start=row_period.start_date,
                period_end=row_period.end_date,
                amount=amount,
                currency=CURRENCY,
                details={"commit_id": row.id, "period": period},
            )
        )
    return _entry(row, payee.external_id)


def history(session: Session, payee_id: int, period: str | None = None) -> list[CommitEntry]:
    """Every entry of a payee (for a period), newest first."""
    payee = session.get(m.Payee, payee_id)
    if payee is None:
        raise NotFound(f"unknown payee {payee_id}")
    query = select(m.ForecastCommit).where(m.ForecastCommit.payee_id == payee_id)
    if period:
        query = query.where(m.ForecastCommit.period == period)
    rows = session.scalars(query.order_by(m.ForecastCommit.entered_at.desc(), m.ForecastCommit.id.desc()))
    return [_entry(r, payee.external_id) for r in rows]


def _reports(session: Session, day: date) -> dict[int, list[int]]:
    rows = session.execute(
        select(m.ReportingLine.payee_id, m.ReportingLine.manager_id).where(
            m.ReportingLine.effective_from <= day,
            or_(m.ReportingLine.effective_to.is_(None), m.ReportingLine.effective_to > day),
        )
    ).all()
    below: dict[int, list[int]] = {}
    for payee, boss in rows:
        below.setdefault(boss, []).append(payee)
    return below


def top_managers(session: Session, period: str) -> list[int]:
    """Payees with reports but no manager of their own on the period's first day (the roots of the tree)."""
    day = period_of(session, period).start_date
    below = _reports(session, day)
    has_boss = {p for kids in below.values() for p in kids}
    return sorted(b for b in below if b not in has_boss)


def rollup(session: Session, root_id: int, period: str) -> CommitNode:
    """The commit tree under `root_id` for `period` (reporting lines on its first day; see the module doc)."""
    day = period_of(session, period).start_date
    below = _reports(session, day)
    payees = {
        pid: (ext, name) for pid, ext, name in session.execute(select(m.Payee.id, m.Payee.external_id, m.Payee.name))
    }
    if root_id not in payees:
        raise NotFound(f"unknown payee {root_id}")
    current: dict[tuple[int, str], m.ForecastCommit] = {}
    for row in session.scalars(
        select(m.ForecastCommit)
        .where(m.ForecastCommit.period == period)
        .order_by(m.ForecastCommit.entered_at, m.ForecastCommit.id)
    ):
        current[(row.payee_id, row.kind)] = row

    def build(pid: int, seen: frozenset[int]) -> CommitNode:
        ext, name = payees[pid]
        node = CommitNode(pid, ext, name)
        own = current.get((pid, "commit"))
        call = current.get((pid, "call"))
        node.own = _entry(own, ext) if own else None
        node.call = _entry(call, ext) if call else None
        for child in sorted(below.get(pid, []), key=lambda c: payees[c][1]):
            if child not in seen:
                node.children.append(build(child, seen | {child}))
        node.team_commit = sum((c.effective_commit for c in node.children), Decimal(0))
        node.team_best_case = sum((c.effective_best_case for c in node.children), Decimal(0))
        own_commit = node.own.commit if node.own else Decimal(0)
        own_best = (
            (node.own.best_case if node.own.best_case is not None else node.own.commit) if node.own else Decimal(0)
        )
        if node.call is not None:
            node.effective_commit = node.call.commit
            node.effective_best_case = (
                node.call.best_case if node.call.best_case is not None else own_best + node.team_best_case
            )
        else:
            node.effective_commit = own_commit + node.team_commit
            node.effective_best_case = own_best + node.team_best_case
        if node.children:
            node.reps = sum(c.reps for c in node.children)
            node.reported = sum(c.reported for c in node.children)
        else:
            node.reps = 1
            node.reported = 1 if node.own else 0
        return node

    return build(root_id, frozenset({root_id}))
