"""Leaderboards: payees ranked on any stored measure for a month, quarter or year.

Input: `payee_measures` (each payee's monthly value and credit count of every sum and count measure, kept live by
full runs and by posted transactions), `quotas` (for attainment), `payees`, `reporting_lines` (team scope).
Output: a `Board` of ranked `Entry` rows, everyone in scope with a stored value; who may see whose name is the
access layer's business (`openspm.access.gamification`), not this module's.

Metrics:
- `value`: the measure summed over the period's months (e.g. bookings in FY2025-Q1 = M01 + M02 + M03);
- `count`: the credits behind it (deals credited, net of nothing: a return is a credit too);
- `attainment`: value ÷ quota of the period. The quota is the payee's quota of that measure for exactly that
  period; else the sum of the quotas of the periods inside it (a year from its quarters); else the enclosing
  period's quota pro rata by months (a month's share of a quarterly quota is a third). No quota: not ranked.

Ranking is competition ranking ("1, 2, 2, 4"): equal values share the better rank and the next rank skips;
equal values are listed by name. Worked example: values 500, 300, 300, 100 rank 1, 2, 2, 4.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.core.errors import InvalidInput, NotFound
from openspm.store import models as m
from openspm.store.audit import audit
from openspm.store.lookups import team_below

METRICS = ("value", "count", "attainment")
SCOPES = ("company", "team", "region")
ZERO = Decimal(0)
K = TypeVar("K")


@dataclass(frozen=True)
class Entry:
    payee_id: int
    payee: str
    name: str
    region: str | None
    role: str | None
    value: Decimal
    rank: int


@dataclass(frozen=True)
class Board:
    plan: str
    measure: str
    metric: str
    period: str
    period_kind: str
    entries: list[Entry] = field(default_factory=list)


def tidy(value: Decimal) -> Decimal:
    """A stored value without the engine's trailing zeros: 12000.000000000000 → 12000, 4000.500000000000 →
    4000.50 (at least cents when it has a fraction); the value itself never changes."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    cents = value.quantize(Decimal("0.01"))
    return cents if cents == value else value.normalize()


def competition_ranks(values: Sequence[tuple[K, Decimal]]) -> list[tuple[K, Decimal, int]]:
    """Rank (key, value) pairs, highest value first; ties share the better rank and the next rank skips
    (1, 2, 2, 4). The input order decides the order among ties."""
    ordered = sorted(enumerate(values), key=lambda iv: (-iv[1][1], iv[0]))
    ranked: list[tuple[K, Decimal, int]] = []
    previous: Decimal | None = None
    rank = 0
    for position, (_, (key, value)) in enumerate(ordered, start=1):
        if previous is None or value != previous:
            rank = position
            previous = value
        ranked.append((key, value, rank))
    return ranked


def period_row(session: Session, name: str) -> m.Period:
    row = session.scalars(select(m.Period).where(m.Period.name == name).order_by(m.Period.id)).first()
    if row is None:
        raise NotFound(f"unknown period {name!r}; use a name like FY2025-M03, FY2025-Q1 or FY2025")
    return row


def months_of(session: Session, period: m.Period, last: m.Period | None = None) -> list[m.Period]:
    """The calendar's months inside `period` (through `last` when given: a contest's window), in order."""
    return list(
        session.scalars(
            select(m.Period)
            .where(
                m.Period.calendar_id == period.calendar_id,
                m.Period.kind == "month",
                m.Period.start_date >= period.start_date,
                m.Period.end_date <= (last or period).end_date,
            )
            .order_by(m.Period.start_date)
        )
    )


def current_period(session: Session, kind: str = "quarter", today: date | None = None) -> str:
    """The period of `kind` holding today (or the newest month with stored measures when today is outside the
    calendar or has none)."""
    day = today or utc_now().date()
    newest = session.scalar(select(func.max(m.PayeeMeasure.month)))
    if newest is not None:
        last = period_row(session, newest)
        if last.end_date <= day:
            day = last.start_date
    row = session.scalars(
        select(m.Period).where(m.Period.kind == kind, m.Period.start_date <= day, m.Period.end_date > day)
    ).first()
    if row is None:
        raise NotFound(f"no {kind} of the calendar holds {day}")
    return row.name


def plans_with_measure(session: Session, measure: str) -> list[str]:
    pm = m.PayeeMeasure
    return sorted(session.scalars(select(pm.plan).where(pm.measure == measure).distinct()))


def stored_measures(session: Session) -> list[tuple[str, str]]:
    """(plan, measure) pairs with stored values, for pickers."""
    pm = m.PayeeMeasure
    return [(p, x) for p, x in session.execute(select(pm.plan, pm.measure).distinct().order_by(pm.plan, pm.measure))]


def resolve_plan(session: Session, measure: str, plan: str | None) -> str:
    """The plan whose measure is ranked: the one given, else the only plan storing that measure, else the plan
    with the most payees storing it."""
    plans = plans_with_measure(session, measure)
    if plan is not None:
        if plan not in plans:
            raise NotFound(
                f"plan {plan!r} stores no measure {measure!r}; plans storing it: {', '.join(plans) or 'none'}"
            )
        return plan
    if not plans:
        known = sorted({x for _, x in stored_measures(session)})
        raise NotFound(f"no stored values of measure {measure!r}; measures with values: {', '.join(known) or 'none'}")
    if len(plans) > 1:  # the plan most payees have the measure in (AEs' bookings rather than managers')
        pm = m.PayeeMeasure
        query = select(pm.plan, func.count(pm.payee_id.distinct())).where(pm.measure == measure).group_by(pm.plan)
        counts: dict[str, int] = {str(p): int(n) for p, n in session.execute(query)}
        return max(plans, key=lambda p: (counts.get(p, 0), p))
    return plans[0]


def measure_totals(session: Session, plan: str, measure: str, months: Iterable[str]) -> dict[int, tuple[Decimal, int]]:
    """payee id → (value summed over `months`, credits behind it)."""
    pm = m.PayeeMeasure
    names = list(months)
    if not names:
        return {}
    query = select(pm.payee_id, pm.value, pm.credits).where(pm.plan == plan, pm.measure == measure, pm.month.in_(names))
    totals: dict[int, tuple[Decimal, int]] = {}
    for payee_id, value, credits in session.execute(query):
        total, count = totals.get(payee_id, (ZERO, 0))
        totals[payee_id] = (total + value, count + credits)
    return totals


def quotas_for(session: Session, measure: str, period: m.Period) -> dict[int, Decimal]:
    """payee id → quota of `measure` for `period`: its own, else the sum of the periods inside it (largest kind
    first), else the smallest enclosing period's pro rata by months."""
    q, p = m.Quota, m.Period
    rows = session.execute(
        select(q.payee_id, q.amount, p.kind, p.start_date, p.end_date, p.id)
        .join(p, p.id == q.period_id)
        .where(q.measure == measure, p.calendar_id == period.calendar_id)
    ).all()
    exact: dict[int, Decimal] = {}
    inside: dict[int, dict[str, Decimal]] = defaultdict(dict)
    around: dict[int, list[tuple[int, Decimal, date, date]]] = defaultdict(list)
    size = {"month": 1, "quarter": 3, "year": 12}
    for payee_id, amount, kind, start, end, period_id in rows:
        if period_id == period.id:
            exact[payee_id] = amount
        elif start >= period.start_date and end <= period.end_date:
            inside[payee_id][kind] = inside[payee_id].get(kind, ZERO) + amount
        elif start <= period.start_date and end >= period.end_date:
            around[payee_id].append((size.get(kind, 12), amount, start, end))
    mine = size.get(period.kind, 1)
    found: dict[int, Decimal] = {}
    for payee_id in set(exact) | set(inside) | set(around):
        if payee_id in exact:
            found[payee_id] = exact[payee_id]
        elif inside.get(payee_id):
            kinds = inside[payee_id]
            found[payee_id] = next(kinds[k] for k in ("year", "quarter", "month") if k in kinds)
        elif around.get(payee_id):
            months, amount, _, _ = min(around[payee_id], key=lambda a: a[0])
            found[payee_id] = amount * mine / months
    return found


team_of = team_below  # the manager and everyone below them (openspm.store.lookups)


def manager_of(session: Session, payee_id: int, start: date, end: date) -> int | None:
    """The payee's manager during `[start, end)` (the latest line that overlaps it)."""
    return session.scalar(
        select(m.ReportingLine.manager_id)
        .where(
            m.ReportingLine.payee_id == payee_id,
            m.ReportingLine.effective_from < end,
            or_(m.ReportingLine.effective_to.is_(None), m.ReportingLine.effective_to > start),
        )
        .order_by(m.ReportingLine.effective_from.desc())
        .limit(1)
    )


def build_board(
    session: Session,
    *,
    measure: str,
    period: str,
    metric: str = "value",
    plan: str | None = None,
    payee_ids: set[int] | None = None,
    region: str | None = None,
) -> Board:
    """Rank every payee with a stored value of `measure` in `period` (only `payee_ids` when given, only payees
    of `region` when given) on `metric`."""
    if metric not in METRICS:
        raise InvalidInput(f"unknown metric {metric!r}; use one of: {', '.join(METRICS)}")
    chosen = resolve_plan(session, measure, plan)
    row = period_row(session, period)
    months = [p.name for p in months_of(session, row)]
    totals = measure_totals(session, chosen, measure, months)
    quotas = quotas_for(session, measure, row) if metric == "attainment" else {}
    payees = {p.id: p for p in session.scalars(select(m.Payee).where(m.Payee.id.in_(list(totals))))}
    values: list[tuple[int, Decimal]] = []
    for payee_id in sorted(totals, key=lambda i: (payees[i].name.lower(), payees[i].external_id)):
        person = payees[payee_id]
        if payee_ids is not None and payee_id not in payee_ids:
            continue
        if region is not None and (person.region or "") != region:
            continue
        value, credits = totals[payee_id]
        if metric == "count":
            values.append((payee_id, Decimal(credits)))
        elif metric == "attainment":
            quota = quotas.get(payee_id)
            if quota:
                values.append((payee_id, value / quota))
        else:
            values.append((payee_id, tidy(value)))
    entries = [
        Entry(pid, payees[pid].external_id, payees[pid].name, payees[pid].region, payees[pid].role, value, rank)
        for pid, value, rank in competition_ranks(values)
    ]
    return Board(chosen, measure, metric, row.name, row.kind, entries)


# --- the opt-out ---------------------------------------------------------------------------------------------


def is_public(session: Session, payee_id: int) -> bool:
    row = session.get(m.RankingPreference, payee_id)
    return row is None or row.public


def hidden_payees(session: Session) -> set[int]:
    """Payees who opted out of public ranking."""
    rp = m.RankingPreference
    return set(session.scalars(select(rp.payee_id).where(rp.public.is_(False))))


def set_public(engine: Engine, payee_id: int, public: bool, actor: str) -> bool:
    """Record a payee's choice (audited); returns it."""
    with Session(engine) as session, session.begin():
        if session.get(m.Payee, payee_id) is None:
            raise NotFound(f"unknown payee id {payee_id}")
        row = session.get(m.RankingPreference, payee_id)
        before = row is None or row.public
        if row is None:
            row = m.RankingPreference(payee_id=payee_id, public=public, updated_by=actor)
            session.add(row)
        row.public, row.updated_by, row.updated_at = public, actor, utc_now()
        if before != public:
            audit(
                session,
                actor=actor,
                action="update",
                entity="ranking_preferences",
                entity_key=str(payee_id),
                before={"public": before},
                after={"public": public},
            )
    return public
