"""Runs, jobs and holds for admin, comp analyst and finance: start a run as a job, follow it, read a run's
results, compare two runs, list held earnings and release one.

Reading needs a role that sees every payee (admin, comp analyst, finance); starting runs and releasing holds
needs a writer (admin, comp analyst). A manager or rep gets Forbidden (a run's results and diffs are everyone's
figures).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.close import holds
from openspm.core.errors import NotFound
from openspm.jobs import service as jobs
from openspm.jobs.queue import JobQueue
from openspm.jobs.runs import KIND as RUN_JOB
from openspm.jobs.runs import submit_run
from openspm.runs import reports
from openspm.runs.pay import month_run
from openspm.store import models as m


def require_staff(principal: Principal, what: str) -> None:
    """Forbidden unless the principal sees every payee (admin, comp analyst, finance)."""
    if not principal.sees_all:
        roles = ", ".join(sorted(principal.roles)) or "no role"
        raise Forbidden(f"{what} is for admin, comp_analyst and finance users; {principal.email} has {roles}")


# --- jobs ---------------------------------------------------------------------------------------------------


def start_run_for(engine: Engine, queue: JobQueue, principal: Principal, period: str) -> jobs.JobView:
    """Queue a run of a month, quarter or year (Conflict when a month of it is closed-only or being run)."""
    principal.require_write(f"running {period}")
    return submit_run(engine, queue, period, principal.actor)


def cancel_job_for(engine: Engine, principal: Principal, job_id: int) -> jobs.JobView:
    principal.require_write(f"cancelling job {job_id}")
    return jobs.cancel(engine, job_id, principal.actor)


def jobs_for(
    engine: Engine, principal: Principal, state: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[list[jobs.JobView], int]:
    require_staff(principal, "the jobs list")
    return jobs.jobs(engine, state=state, limit=limit, offset=offset)


def job_for(engine: Engine, principal: Principal, job_id: int) -> jobs.JobView:
    require_staff(principal, "a job")
    return jobs.get(engine, job_id)


def active_run_jobs(engine: Engine, principal: Principal) -> list[jobs.JobView]:
    require_staff(principal, "the jobs list")
    return jobs.active(engine, RUN_JOB)


# --- a run's results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentTotal:
    plan: str
    component: str
    currency: str
    amount: Decimal
    payees: int


@dataclass(frozen=True)
class IssueCount:
    stage: str
    reason: str
    count: int
    example: str  # the first subject and value it was found on


@dataclass(frozen=True)
class RunDetail:
    id: int
    period: str
    status: str
    engine: str
    actor: str
    started_at: datetime
    finished_at: datetime | None
    plans: dict[str, int]
    inputs: dict[str, Any]
    timings: dict[str, float]
    payees_asked: list[str] | None
    error: str | None
    stands_for_month: bool  # the run the month's statements and exports come from
    components: list[ComponentTotal]
    totals: dict[str, Decimal]  # earned, per plan currency
    paid: dict[str, Decimal]  # paid, per pay currency
    payees: int
    issues: list[IssueCount]
    issue_total: int

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def run_for(engine: Engine, principal: Principal, run_id: int) -> RunDetail:
    """A run with what it used (plan versions, input counts), how long each stage took, its totals by
    component and currency, and the issues it found, counted by reason."""
    require_staff(principal, "a run's results")
    with Session(engine) as session:
        run = session.get(m.Run, run_id)
        if run is None:
            raise NotFound(f"unknown run {run_id}")
        e = m.RunEarning
        # Summed here as Decimals: SQLite's SUM over exact-decimal text would answer a float.
        sums: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
        who: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        for plan, component, currency, payee, amount in session.execute(
            select(e.plan, e.component, e.currency, e.payee, e.amount).where(e.run_id == run_id)
        ):
            sums[(plan, component, currency)] += amount
            who[(plan, component, currency)].add(payee)
        components = [ComponentTotal(*key, sums[key], len(who[key])) for key in sorted(sums)]
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for c in components:
            totals[c.currency] += c.amount
        paid: dict[str, Decimal] = defaultdict(Decimal)
        for currency, amount in session.execute(
            select(m.Payment.pay_currency, m.Payment.pay_amount).where(m.Payment.run_id == run_id)
        ):
            paid[currency] += amount
        payees = len(set().union(*who.values())) if who else 0
        i = m.RunIssue
        issues = [
            IssueCount(stage, reason, count, "")
            for stage, reason, count in session.execute(
                select(i.stage, i.reason, func.count())
                .where(i.run_id == run_id)
                .group_by(i.stage, i.reason)
                .order_by(func.count().desc(), i.stage, i.reason)
                .limit(50)
            )
        ]
        examples = []
        for issue in issues:
            first = session.execute(
                select(i.subject, i.value)
                .where(i.run_id == run_id, i.stage == issue.stage, i.reason == issue.reason)
                .order_by(i.id)
                .limit(1)
            ).first()
            example = f"{first[0]} = {first[1]}" if first and first[1] is not None else (first[0] if first else "")
            examples.append(IssueCount(issue.stage, issue.reason, issue.count, str(example or "")))
        issue_total = session.scalar(select(func.count()).select_from(i).where(i.run_id == run_id)) or 0
        standing = month_run(session, run.period)
        return RunDetail(
            run.id,
            run.period,
            run.status,
            run.engine,
            run.actor,
            run.started_at,
            run.finished_at,
            dict(run.plans or {}),
            dict(run.inputs or {}),
            {k: float(v) for k, v in (run.timings or {}).items()},
            list(run.payees["payees"]) if run.payees else None,
            run.error,
            standing is not None and standing.id == run.id,
            components,
            dict(totals),
            dict(paid),
            payees,
            examples,
            issue_total,
        )


@dataclass(frozen=True)
class PayeeChange:
    payee: str
    name: str
    change: Decimal
    components: list[reports.Difference]


@dataclass(frozen=True)
class DiffView:
    run_a: int
    run_b: int
    period_a: str
    period_b: str
    payees_compared: int
    total_before: Decimal
    total_after: Decimal
    payees: list[PayeeChange]  # largest change first

    @property
    def total_change(self) -> Decimal:
        return self.total_after - self.total_before


def run_diff_for(engine: Engine, principal: Principal, run_a: int, run_b: int) -> DiffView:
    """Who changed between two completed runs, by how much, and in which component (`openspm diff A B`)."""
    require_staff(principal, "comparing runs")
    result = reports.diff(engine, run_a, run_b)
    with Session(engine) as session:
        names = dict(session.execute(select(m.Payee.external_id, m.Payee.name)).tuples().all())
        periods = dict(
            session.execute(select(m.Run.id, m.Run.period).where(m.Run.id.in_([run_a, run_b]))).tuples().all()
        )
    return DiffView(
        run_a,
        run_b,
        periods[run_a],
        periods[run_b],
        result.payees_compared,
        result.total_before,
        result.total_after,
        [PayeeChange(p, names.get(p, p), change, ds) for p, change, ds in result.by_payee()],
    )


def completed_runs_for(engine: Engine, principal: Principal, limit: int = 200) -> list[tuple[int, str]]:
    """(id, month) of the newest completed runs (the choices of "compare with")."""
    require_staff(principal, "the runs list")
    with Session(engine) as session:
        return [
            (run_id, period)
            for run_id, period in session.execute(
                select(m.Run.id, m.Run.period).where(m.Run.status == "completed").order_by(m.Run.id.desc()).limit(limit)
            )
        ]


# --- holds ----------------------------------------------------------------------------------------------------


def holds_for(engine: Engine, principal: Principal, payee: str | None = None) -> list[holds.HeldView]:
    require_staff(principal, "the held earnings")
    return holds.held(engine, payee)


def release_hold_for(
    engine: Engine,
    principal: Principal,
    *,
    plan: str,
    payee: str,
    component: str,
    earned_in: str,
    into: str,
    note: str | None = None,
) -> holds.HeldView:
    principal.require_write("releasing a held earning")
    return holds.release(
        engine,
        plan=plan,
        payee=payee,
        component=component,
        earned_in=earned_in,
        into=into,
        actor=principal.actor,
        note=note,
    )
