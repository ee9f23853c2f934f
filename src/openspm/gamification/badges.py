"""Badges and milestones, awarded from stored results, once each, with the date earned.

- `first_deal`: the payee's first direct credit of a sale (not a return or cancellation; earned on its date), from
  the runs' credits;
- `quota_month` / `quota_quarter`: attainment ≥ 100% of a measure with quotas in a month / quarter (the
  leaderboard's attainment: the measure over the period ÷ its quota), for months with a completed run;
- `streak`: `STREAK` months in a row at ≥ 100% (awarded on the month the streak reaches its length; a longer
  streak is the same badge; a new streak after a miss is a new one);
- `contest_winner`: rank 1 of a closed contest (awarded by the contest's close).

`award_badges(engine)` looks at every month with a completed run (after each run, or on demand: `openspm
badges award`); a badge is keyed by (payee, badge, key) with key the period, streak end or contest, so running
it again awards nothing new. A badge earned in a period that has ended is dated on the period's last day
(the first deal on the deal's date); one earned before its period ended is dated the day it was awarded.
Each new badge notifies the payee's users.

Input: runs, run_credits, payee_measures, quotas. Output: rows of `badges` and `notifications`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.gamification.leaderboard import build_board
from openspm.gamification.notifications import notify_payee
from openspm.store import models as m

STREAK = 3
PLACES = Decimal("0.0001")
BADGES = {
    "first_deal": "First deal",
    "quota_month": "Quota reached: month",
    "quota_quarter": "Quota reached: quarter",
    "streak": f"{STREAK} months in a row at 100%",
    "contest_winner": "Contest winner",
}
ICONS = {"first_deal": "🤝", "quota_month": "🎯", "quota_quarter": "🏆", "streak": "🔥", "contest_winner": "🥇"}


@dataclass(frozen=True)
class BadgeView:
    payee: str
    name: str
    badge: str
    title: str
    icon: str
    key: str
    earned_on: date
    detail: dict[str, Any]


@dataclass
class AwardReport:
    months: list[str] = field(default_factory=list)
    awarded: list[BadgeView] = field(default_factory=list)


def award_badge(
    session: Session, payee_id: int, badge: str, key: str, earned_on: date, detail: dict[str, Any] | None = None
) -> bool:
    """Record a badge unless the payee already has it for `key`; notify their users. True when new."""
    found = session.scalar(
        select(m.Badge.id).where(m.Badge.payee_id == payee_id, m.Badge.badge == badge, m.Badge.key == key)
    )
    if found is not None:
        return False
    session.add(m.Badge(payee_id=payee_id, badge=badge, key=key, earned_on=earned_on, detail=detail or {}))
    session.flush()
    what = BADGES.get(badge, badge)
    notify_payee(
        session,
        payee_id,
        "badge",
        f"badge:{badge}:{key}",
        f"{ICONS.get(badge, '')} Badge earned: {what}".strip(),
        f"{what} ({key}), earned on {earned_on.isoformat()}",
        "/badges",
    )
    return True


def _run_months(session: Session) -> list[m.Period]:
    names = set(session.scalars(select(m.Run.period).where(m.Run.status == "completed").distinct()))
    if not names:
        return []
    return list(
        session.scalars(
            select(m.Period)
            .where(m.Period.name.in_(sorted(names)), m.Period.kind == "month")
            .order_by(m.Period.start_date)
        )
    )


def _dated(period: m.Period, today: date) -> date:
    last = period.end_date - timedelta(days=1)
    return last if last < today else today


def _first_deals(session: Session, today: date, new: list[tuple[int, str, str, date, dict[str, Any]]]) -> None:
    c, r = m.RunCredit, m.Run
    firsts = session.execute(
        select(c.payee, func.min(c.date))
        .join(r, r.id == c.run_id)
        .where(r.status == "completed", c.role_class == "direct", c.original.is_(None))
        .group_by(c.payee)
    ).all()
    ids: dict[str, int] = {str(k): int(v) for k, v in session.execute(select(m.Payee.external_id, m.Payee.id))}
    for payee, day in firsts:
        if payee in ids and day <= today:
            new.append((ids[payee], "first_deal", "first", day, {"date": day.isoformat()}))


def _quota_measures(session: Session) -> list[tuple[str, str]]:
    """(plan, measure) pairs with stored values of a measure that has quotas."""
    with_quotas = set(session.scalars(select(m.Quota.measure).distinct()))
    pm = m.PayeeMeasure
    pairs = session.execute(select(pm.plan, pm.measure).distinct().order_by(pm.plan, pm.measure)).all()
    return [(p, x) for p, x in pairs if x in with_quotas]


def award_badges(engine: Engine, today: date | None = None, streak: int = STREAK) -> AwardReport:
    """Award every badge the stored results earn and that is not yet awarded (idempotent)."""
    try:
        return _award_badges(engine, today, streak)
    except IntegrityError:  # awarded at the same moment by another process (a run job): what is left, once more
        return _award_badges(engine, today, streak)


def _award_badges(engine: Engine, today: date | None, streak: int) -> AwardReport:
    day = today or utc_now().date()
    report = AwardReport()
    with Session(engine) as session, session.begin():
        months = _run_months(session)
        report.months = [p.name for p in months]
        found: list[tuple[int, str, str, date, dict[str, Any]]] = []
        _first_deals(session, day, found)
        quarters: dict[str, m.Period] = {}
        for month in months:
            quarter = session.scalars(
                select(m.Period).where(
                    m.Period.calendar_id == month.calendar_id,
                    m.Period.kind == "quarter",
                    m.Period.start_date <= month.start_date,
                    m.Period.end_date >= month.end_date,
                )
            ).first()
            if quarter is not None:
                quarters[quarter.name] = quarter
        for plan, measure in _quota_measures(session):
            at_quota: dict[int, set[str]] = {}
            for month in months:
                board = build_board(session, measure=measure, period=month.name, metric="attainment", plan=plan)
                for e in board.entries:
                    if e.value >= 1:
                        at_quota.setdefault(e.payee_id, set()).add(month.name)
                        detail = {"measure": measure, "attainment": str(e.value.quantize(PLACES))}
                        found.append((e.payee_id, "quota_month", f"{measure}:{month.name}", _dated(month, day), detail))
            for quarter in quarters.values():
                board = build_board(session, measure=measure, period=quarter.name, metric="attainment", plan=plan)
                for e in board.entries:
                    if e.value >= 1:
                        detail = {"measure": measure, "attainment": str(e.value.quantize(PLACES))}
                        key = f"{measure}:{quarter.name}"
                        found.append((e.payee_id, "quota_quarter", key, _dated(quarter, day), detail))
            for payee_id, hits in at_quota.items():
                run = 0
                previous: m.Period | None = None
                for month in months:
                    adjacent = previous is not None and previous.end_date == month.start_date
                    run = (run + 1 if adjacent else 1) if month.name in hits else 0
                    previous = month
                    if run == streak:
                        made: dict[str, Any] = {"measure": measure, "months": streak, "through": month.name}
                        found.append((payee_id, "streak", f"{measure}:{month.name}", _dated(month, day), made))
        names: dict[int, str] = {int(k): str(v) for k, v in session.execute(select(m.Payee.id, m.Payee.external_id))}
        people: dict[int, str] = {int(k): str(v) for k, v in session.execute(select(m.Payee.id, m.Payee.name))}
        for payee_id, badge, key, earned, detail in found:
            if award_badge(session, payee_id, badge, key, earned, detail):
                report.awarded.append(
                    BadgeView(
                        names[payee_id],
                        people[payee_id],
                        badge,
                        BADGES[badge],
                        ICONS[badge],
                        key,
                        earned,
                        detail,
                    )
                )
    return report


def badges_of(engine: Engine, payee_ids: set[int] | None = None) -> list[BadgeView]:
    """Badges, newest first (only those of `payee_ids` when given)."""
    b, p = m.Badge, m.Payee
    query = select(b, p.external_id, p.name).join(p, p.id == b.payee_id).order_by(b.earned_on.desc(), b.id.desc())
    if payee_ids is not None:
        query = query.where(b.payee_id.in_(sorted(payee_ids)))
    with Session(engine) as session:
        return [
            BadgeView(
                ext,
                name,
                row.badge,
                BADGES.get(row.badge, row.badge),
                ICONS.get(row.badge, ""),
                row.key,
                row.earned_on,
                row.detail,
            )
            for row, ext, name in session.execute(query).tuples()
        ]
