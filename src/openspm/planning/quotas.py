"""Quota planning over the store: a draft for a fiscal year, its fairness check, review, and publishing into the
quotas the engine uses.

Pipeline of `draft_quotas`: gather (the plan's payees in the year, the potential of the accounts they own on the
year's first day, last year's measure from the stored monthly measures, last year's quotas) → weigh
(`blended_weights`, scaled by each payee's presence in the year) → allocate (`allocate`: the street quota split by
weight, each within ±max_change of last year's quota) → split into quarters by seasonal weights (largest
remainder, so the quarters add up to the year exactly) → diagnose (projected attainment from history, simulated)
→ store the scenario as a draft. `approve` needs someone other than its author; `publish` writes one quota row per
payee and quarter and one for the year, audited, refusing any quarter that holds a closed month.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from openspm.calc.rules.quotas import ramp_factor
from openspm.core.dates import utc_now
from openspm.core.errors import Conflict, InvalidInput, NotFound
from openspm.periods.service import period_named
from openspm.planning.quota_setting import allocate, blended_weights, round_to_total, share_at_quota, street_quota
from openspm.planning.review import decide_draft, scenario_row, scenario_rows
from openspm.store import models as m
from openspm.store.audit import audit

SIMULATIONS = 2000


@dataclass(frozen=True)
class QuotaParams:
    """What a quota draft is made from. Amounts in the plan currency; `alpha` weighs potential against history."""

    year: str  # e.g. FY2026
    plan: str  # the plan whose payees get quotas
    measure: str  # the measure the quotas are for, e.g. bookings
    target: Decimal  # the company plan for the year
    uncovered: Decimal = Decimal(0)  # revenue no quota carries
    over_assignment: Decimal = Decimal("1.1")
    alpha: Decimal = Decimal("0.6")
    max_change: Decimal | None = None  # e.g. 0.3 = ±30% of last year's quota
    seasonality: tuple[Decimal, ...] = ()  # quarter weights; empty = equal quarters
    scale: int = 0  # places quotas are rounded to
    seed: int = 7  # of the attainment simulation
    ramp: tuple[Decimal, ...] = ()  # new-hire factors for tenure months 0, 1, ...; later months 1
    managers_over: Decimal | None = None  # managers' quota = their team's × this, per level (None: no manager lines)
    managers_plan: str | None = None  # the managers' plan (None: the managers among the draft plan's payees)


@dataclass(frozen=True)
class QuotaLine:
    payee: str
    name: str
    presence: Decimal  # fraction of the year's months employed
    potential: Decimal
    history: Decimal  # last year's measure
    previous: Decimal | None  # last year's quota
    weight: Decimal
    annual: Decimal
    quarters: dict[str, Decimal]
    capped: str | None  # floor | ceiling when the change cap held the quota
    projected_attainment: Decimal | None  # last year's measure × growth / quota
    ramp: dict[str, Decimal] = field(default_factory=dict)  # quarter → average ramp factor (new hires only)
    level: int | None = None  # a manager's level (1 = manages reps) when managers_over rolled it up; None: a rep


@dataclass(frozen=True)
class Fairness:
    """Projected attainment: each payee's history grown to the plan, over the new quota, with last year's spread."""

    payees: int
    mean: float
    sd: float
    share_at_quota: float  # simulated
    share_at_quota_normal: float  # Φ((μ − 1)/σ)
    percentiles: dict[str, float]  # p10, p50, p90 of simulated attainment
    by_over_assignment: dict[str, float]  # what other over-assignments would give (normal approximation)


@dataclass(frozen=True)
class QuotaDraft:
    id: int
    name: str
    year: str
    status: str
    street: Decimal
    allocated: Decimal
    unallocated: Decimal
    lines: list[QuotaLine]
    fairness: Fairness | None
    created_by: str
    decided_by: str | None
    published_by: str | None
    evaluation: dict[str, Any] | None = None  # the latest connected evaluation (planning/evaluation.py), JSON


# --- gather --------------------------------------------------------------------------------------------------


def _period(session: Session, name: str, kind: str) -> m.Period:
    return period_named(
        session,
        name,
        kind,
        why=f"quotas are drafted for a fiscal {kind}",
        what=kind,
        hint="; create the calendar first (`openspm calendar create`)",
    )


def _in_effect_on(model: Any, day: date) -> Any:
    return (model.effective_from <= day) & or_(model.effective_to.is_(None), model.effective_to > day)


def _overlapping(model: Any, start: date, end: date) -> Any:
    return (model.effective_from < end) & or_(model.effective_to.is_(None), model.effective_to > start)


def _plan_payees(session: Session, plan: str, start: date, end: date) -> list[m.Payee]:
    found = session.scalars(select(m.Plan.id).where(m.Plan.external_id == plan)).first()
    if found is None:
        raise NotFound(f"unknown plan {plan!r}")
    ids = select(m.PlanAssignment.payee_id).where(
        m.PlanAssignment.plan_id == found, _overlapping(m.PlanAssignment, start, end)
    )
    return list(session.scalars(select(m.Payee).where(m.Payee.id.in_(ids)).order_by(m.Payee.external_id)))


def _presence(payee: m.Payee, months: list[m.Period]) -> Decimal:
    """Fraction of the year's months the payee is employed on the first day of (a hire on the 1st counts)."""
    present = sum(
        1
        for month in months
        if (payee.hire_date is None or payee.hire_date <= month.start_date)
        and (payee.termination_date is None or payee.termination_date > month.start_date)
    )
    return Decimal(present) / Decimal(len(months))


def _potential(session: Session, payee_ids: list[int], day: date) -> dict[int, Decimal]:
    """Σ potential of the accounts each payee owns on `day`, by named-account assignment or territory (× share)."""
    totals: dict[int, Decimal] = {}
    direct = session.execute(
        select(m.AccountAssignment.payee_id, m.AccountAssignment.share, m.Account.potential)
        .join(m.Account, m.Account.id == m.AccountAssignment.account_id)
        .where(m.AccountAssignment.payee_id.in_(payee_ids), _in_effect_on(m.AccountAssignment, day))
    )
    territory = session.execute(
        select(m.TerritoryAssignment.payee_id, m.TerritoryAssignment.share, m.Account.potential)
        .join(m.AccountTerritory, m.AccountTerritory.territory_id == m.TerritoryAssignment.territory_id)
        .join(m.Account, m.Account.id == m.AccountTerritory.account_id)
        .where(
            m.TerritoryAssignment.payee_id.in_(payee_ids),
            _in_effect_on(m.TerritoryAssignment, day),
            _in_effect_on(m.AccountTerritory, day),
        )
    )
    for payee_id, share, potential in [*direct, *territory]:
        if potential is not None:
            totals[payee_id] = totals.get(payee_id, Decimal(0)) + potential * share
    return totals


def _history(session: Session, plan: str, measure: str, payee_ids: list[int], months: list[str]) -> dict[int, Decimal]:
    """Last year's measure per payee: Σ of the stored monthly values, the newest plan version's for each month."""
    rows = session.execute(
        select(m.PayeeMeasure.payee_id, m.PayeeMeasure.month, m.PayeeMeasure.version, m.PayeeMeasure.value).where(
            m.PayeeMeasure.plan == plan,
            m.PayeeMeasure.measure == measure,
            m.PayeeMeasure.month.in_(months),
            m.PayeeMeasure.payee_id.in_(payee_ids),
        )
    )
    newest: dict[tuple[int, str], tuple[int, Decimal]] = {}
    for payee_id, month, version, value in rows:
        if (payee_id, month) not in newest or newest[(payee_id, month)][0] < version:
            newest[(payee_id, month)] = (version, value)
    totals: dict[int, Decimal] = {}
    for (payee_id, _), (_, value) in newest.items():
        totals[payee_id] = totals.get(payee_id, Decimal(0)) + value
    return totals


def _quotas(session: Session, measure: str, payee_ids: list[int], year: m.Period, quarters: list[m.Period]) -> Any:
    """Quota per payee for a year: its year row, else the sum of its quarter rows; and per quarter."""
    rows = session.execute(
        select(m.Quota.payee_id, m.Quota.period_id, m.Quota.amount).where(
            m.Quota.measure == measure,
            m.Quota.payee_id.in_(payee_ids),
            m.Quota.period_id.in_([year.id, *[q.id for q in quarters]]),
        )
    ).all()
    yearly = {p: a for p, period, a in rows if period == year.id}
    summed: dict[int, Decimal] = {}
    for p, period, a in rows:
        if period != year.id:
            summed[p] = summed.get(p, Decimal(0)) + a
    return {**summed, **yearly}


# --- the draft -----------------------------------------------------------------------------------------------


def _fairness(lines: list[QuotaLine], last_year: list[Decimal], params: QuotaParams) -> Fairness | None:
    """Simulated attainment: each payee's projected attainment × a relative spread drawn from last year's."""
    projected = [float(line.projected_attainment) for line in lines if line.projected_attainment is not None]
    if len(projected) < 2:
        return None
    spread = [float(a) for a in last_year if a > 0]
    mean_last = statistics.fmean(spread) if spread else 1.0
    relative = [a / mean_last for a in spread] or [1.0]
    rng = random.Random(params.seed)
    simulated = [p * rng.choice(relative) for _ in range(SIMULATIONS // len(projected) + 1) for p in projected]
    mu, sd = statistics.fmean(simulated), statistics.pstdev(simulated)
    cuts = statistics.quantiles(simulated, n=10)
    over = float(params.over_assignment)
    return Fairness(
        payees=len(projected),
        mean=mu,
        sd=sd,
        share_at_quota=sum(1 for a in simulated if a >= 1) / len(simulated),
        share_at_quota_normal=share_at_quota(mu, sd) if sd > 0 else float(mu >= 1),
        percentiles={"p10": cuts[0], "p50": statistics.median(simulated), "p90": cuts[-1]},
        by_over_assignment={
            f"{o:.2f}": share_at_quota(mu * over / o, sd * over / o) if sd > 0 else float(mu * over / o >= 1)
            for o in (1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3)
        },
    )


def _split(annual: Decimal, weights: list[Decimal], names: list[str], present: list[bool], scale: int) -> Any:
    """The year's quota into quarters by seasonal weight, over the quarters the payee is present in."""
    used = [w if here else Decimal(0) for w, here in zip(weights, present, strict=True)]
    total = sum(used, Decimal(0))
    if total == 0:
        return {}
    exact = {n: annual * w / total for n, w, here in zip(names, used, present, strict=True) if here}
    return round_to_total(exact, scale)


def _ramped_presence(payee: m.Payee, months: list[m.Period], ramp: tuple[Decimal, ...]) -> Decimal:
    """Share of the year's months employed on the 1st of, each month counted at its ramp factor (tenure month k
    counts `ramp[k]`, later months 1): what the allocation weighs a payee by."""
    present = sum(
        (
            ramp_factor(ramp, payee.hire_date, month.start_date)
            for month in months
            if (payee.hire_date is None or payee.hire_date <= month.start_date)
            and (payee.termination_date is None or payee.termination_date > month.start_date)
        ),
        Decimal(0),
    )
    return present / Decimal(len(months))


def _quarter_ramp(
    payee: m.Payee, quarters: list[m.Period], months: list[m.Period], ramp: tuple[Decimal, ...]
) -> dict[str, Decimal]:
    """Quarter → the average ramp factor of the quarter's months the payee is employed in (any day); empty when
    no quarter is ramped (no ramp, or hired at least the ramp's length before the year)."""
    factors: dict[str, Decimal] = {}
    for quarter in quarters:
        inside = [
            ramp_factor(ramp, payee.hire_date, month.start_date)
            for month in months
            if quarter.start_date <= month.start_date < quarter.end_date
            and (payee.hire_date is None or payee.hire_date < month.end_date)
            and (payee.termination_date is None or payee.termination_date > month.start_date)
        ]
        if inside:
            factors[quarter.name] = sum(inside, Decimal(0)) / len(inside)
    return factors if any(f != 1 for f in factors.values()) else {}


def _reports(session: Session, day: date) -> dict[int, list[int]]:
    """Manager id → the ids of the payees reporting to them directly on `day`."""
    rows = session.execute(
        select(m.ReportingLine.manager_id, m.ReportingLine.payee_id).where(_in_effect_on(m.ReportingLine, day))
    )
    reports: dict[int, list[int]] = {}
    for manager, payee in rows:
        reports.setdefault(manager, []).append(payee)
    return reports


def _manager_lines(
    managers: list[m.Payee],
    reps: dict[int, QuotaLine],
    reports: dict[int, list[int]],
    factor: Decimal,
    presence: dict[int, Decimal],
    previous: dict[int, Decimal],
    scale: int,
) -> list[QuotaLine]:
    """Bottom-up roll-up: each manager's quarter quota = Σ of their direct reports' quarter quotas × `factor`.

    `reps` are the reps' lines by payee id. A direct report with a line contributes its quota (a rep's, or a
    manager's already rolled up: two levels up the reps' quotas count × factor², so each level over-assigns by
    `factor`); a direct report without a line (someone outside the draft) passes their own team's total up
    unchanged. Each quarter is rounded half up to `scale` places (the reps' units); the year is the sum of the
    rounded quarters. A manager with nobody under them who carries a quota gets no line. Teams are the reporting
    lines on the year's first day.
    """
    manager_ids = {x.id for x in managers}
    quantum = Decimal(1).scaleb(-scale)
    rolled: dict[int, tuple[dict[str, Decimal], int]] = {}  # manager id → (quarters, level)

    def team(node: int, seen: frozenset[int]) -> tuple[dict[str, Decimal], int]:
        """Σ per quarter of what `node`'s direct reports carry, and the highest manager level among them."""
        total: dict[str, Decimal] = {}
        level = 0
        for child in reports.get(node, []):
            if child in seen:
                continue  # a loop in the reporting lines counts nobody twice
            if child in manager_ids:
                quarters, child_level = roll(child, seen | {child})
            elif child in reps:
                quarters, child_level = reps[child].quarters, 0
            else:
                quarters, child_level = team(child, seen | {child})
            level = max(level, child_level)
            for name, value in quarters.items():
                total[name] = total.get(name, Decimal(0)) + value
        return total, level

    def roll(node: int, seen: frozenset[int]) -> tuple[dict[str, Decimal], int]:
        if node not in rolled:
            carried, below = team(node, seen)
            quarters = {n: (v * factor).quantize(quantum, rounding=ROUND_HALF_UP) for n, v in carried.items()}
            rolled[node] = (quarters, below + 1)
        return rolled[node]

    lines = []
    for manager in managers:
        quarters, level = roll(manager.id, frozenset({manager.id}))
        if not quarters:
            continue
        lines.append(
            QuotaLine(
                manager.external_id,
                manager.name,
                presence[manager.id],
                Decimal(0),
                Decimal(0),
                previous.get(manager.id),
                Decimal(0),
                sum(quarters.values(), Decimal(0)),
                dict(sorted(quarters.items())),
                None,
                None,
                {},
                level,
            )
        )
    return lines


def draft_quotas(engine: Engine, params: QuotaParams, *, name: str, actor: str) -> QuotaDraft:
    """Make and store a quota draft for `params.year` (see the module docstring for the stages)."""
    if params.seasonality and (len(params.seasonality) != 4 or any(w < 0 for w in params.seasonality)):
        raise InvalidInput("seasonality takes 4 quarter weights, none negative, e.g. 20,25,25,30")
    if params.max_change is not None and params.max_change < 0:
        raise InvalidInput(f"max_change {params.max_change} must not be negative")
    if any(not Decimal(0) <= f <= Decimal(1) for f in params.ramp):
        raise InvalidInput("ramp factors are fractions between 0 and 1, one per tenure month, e.g. 0.25,0.5,0.75")
    if params.managers_over is not None and params.managers_over <= 0:
        raise InvalidInput(f"managers_over {params.managers_over} must be above 0 (typically 1.0 to 1.1)")
    with Session(engine) as session, session.begin():
        year = _period(session, params.year, "year")
        previous_name = f"FY{year.fiscal_year - 1}"
        months = list(
            session.scalars(
                select(m.Period)
                .where(m.Period.kind == "month", m.Period.fiscal_year == year.fiscal_year)
                .order_by(m.Period.start_date)
            )
        )
        quarters = list(
            session.scalars(
                select(m.Period)
                .where(m.Period.kind == "quarter", m.Period.fiscal_year == year.fiscal_year)
                .order_by(m.Period.start_date)
            )
        )
        payees = _plan_payees(session, params.plan, year.start_date, year.end_date)
        reports = _reports(session, year.start_date)
        managers: list[m.Payee] = []
        if params.managers_over is not None:
            managers = (
                _plan_payees(session, params.managers_plan, year.start_date, year.end_date)
                if params.managers_plan
                else [p for p in payees if p.id in reports]
            )
            payees = [p for p in payees if p.id not in {x.id for x in managers}]
        if not payees:
            raise InvalidInput(f"plan {params.plan!r} has no payees assigned in {params.year}")
        ids = [p.id for p in payees]
        previous = session.scalars(select(m.Period).where(m.Period.name == previous_name)).first()
        last_months = [
            p.name
            for p in session.scalars(
                select(m.Period).where(m.Period.kind == "month", m.Period.fiscal_year == year.fiscal_year - 1)
            )
        ]
        last_quarters = (
            list(
                session.scalars(
                    select(m.Period).where(m.Period.kind == "quarter", m.Period.fiscal_year == year.fiscal_year - 1)
                )
            )
            if previous
            else []
        )
        potential = _potential(session, ids, year.start_date)
        history = _history(session, params.plan, params.measure, ids, last_months)
        everyone = ids + [x.id for x in managers]
        prior = _quotas(session, params.measure, everyone, previous, last_quarters) if previous else {}
        presence = {p.id: _presence(p, months) for p in payees}
        ramped = {p.id: _ramped_presence(p, months, params.ramp) for p in payees}
        ramps = {p.id: _quarter_ramp(p, quarters, months, params.ramp) for p in payees}
        by_name = {p.external_id: p for p in payees}

        base = blended_weights(
            {p.external_id: potential.get(p.id, Decimal(0)) for p in payees},
            {p.external_id: history.get(p.id, Decimal(0)) for p in payees},
            params.alpha,
        )
        weights = {n: w * ramped[by_name[n].id] for n, w in base.items()}
        street = street_quota(params.target, params.uncovered, params.over_assignment)
        previous_quota = {p.external_id: prior[p.id] for p in payees if p.id in prior}
        allocation = allocate(
            street, weights, previous=previous_quota, max_change=params.max_change, scale=params.scale
        )
        total_history = sum(history.values(), Decimal(0))
        growth = params.target / total_history if total_history else None
        seasonal = list(params.seasonality) or [Decimal(1)] * len(quarters)
        lines = []
        for payee in payees:
            annual = allocation.quotas.get(payee.external_id, Decimal(0))
            here = [
                (payee.hire_date is None or payee.hire_date < q.end_date)
                and (payee.termination_date is None or payee.termination_date > q.start_date)
                for q in quarters
            ]
            past = history.get(payee.id)
            projected = past * growth / annual if growth is not None and past and annual else None
            lines.append(
                QuotaLine(
                    payee.external_id,
                    payee.name,
                    presence[payee.id],
                    potential.get(payee.id, Decimal(0)),
                    history.get(payee.id, Decimal(0)),
                    prior.get(payee.id),
                    weights[payee.external_id],
                    annual,
                    _split(
                        annual,
                        [w * ramps[payee.id].get(q.name, Decimal(1)) for w, q in zip(seasonal, quarters, strict=True)],
                        [q.name for q in quarters],
                        here,
                        params.scale,
                    ),
                    allocation.capped.get(payee.external_id),
                    projected,
                    ramps[payee.id],
                )
            )
        if params.managers_over is not None:
            rep_lines = {p.id: line for p, line in zip(payees, lines, strict=True)}
            presences = {x.id: _presence(x, months) for x in managers}
            lines += _manager_lines(managers, rep_lines, reports, params.managers_over, presences, prior, params.scale)
        last_attainment = [history[i] / prior[i] for i in ids if i in history and prior.get(i)]
        fairness = _fairness(lines, last_attainment, params)
        row = m.PlanningScenario(
            kind="quota",
            name=name,
            year=params.year,
            status="draft",
            params=_json(asdict(params)),
            proposal=_json(
                {
                    "street": street,
                    "allocated": sum(allocation.quotas.values(), Decimal(0)),
                    "unallocated": allocation.unallocated,
                    "lines": [asdict(line) for line in lines],
                    "fairness": asdict(fairness) if fairness else None,
                }
            ),
            created_by=actor,
            created_at=utc_now(),
        )
        session.add(row)
        session.flush()
        audit(session, actor, "insert", "planning_scenarios", str(row.id), after={"kind": "quota", "name": name})
        return _draft(row)


def _json(value: Any) -> Any:
    """Decimals as exact strings, dates as ISO text, tuples as lists: what the JSON column keeps."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def _dec(text: Any) -> Decimal | None:
    return None if text is None else Decimal(text)


def _draft(row: m.PlanningScenario) -> QuotaDraft:
    proposal = row.proposal
    lines = [
        QuotaLine(
            x["payee"],
            x["name"],
            Decimal(x["presence"]),
            Decimal(x["potential"]),
            Decimal(x["history"]),
            _dec(x["previous"]),
            Decimal(x["weight"]),
            Decimal(x["annual"]),
            {k: Decimal(v) for k, v in x["quarters"].items()},
            x["capped"],
            _dec(x["projected_attainment"]),
            {k: Decimal(v) for k, v in x.get("ramp", {}).items()},
            x.get("level"),
        )
        for x in proposal["lines"]
    ]
    fairness = Fairness(**proposal["fairness"]) if proposal.get("fairness") else None
    return QuotaDraft(
        row.id,
        row.name,
        row.year,
        row.status,
        Decimal(proposal["street"]),
        Decimal(proposal["allocated"]),
        Decimal(proposal["unallocated"]),
        lines,
        fairness,
        row.created_by,
        row.decided_by,
        row.published_by,
        proposal.get("evaluation"),
    )


# --- review and publish --------------------------------------------------------------------------------------


def _scenario(session: Session, scenario_id: int) -> m.PlanningScenario:
    return scenario_row(session, "quota", scenario_id)


def quota_draft(engine: Engine, scenario_id: int) -> QuotaDraft:
    with Session(engine) as session:
        return _draft(_scenario(session, scenario_id))


def quota_drafts(engine: Engine) -> list[QuotaDraft]:
    """Every quota scenario, newest first."""
    with Session(engine) as session:
        return [_draft(row) for row in scenario_rows(session, "quota")]


def decide(engine: Engine, scenario_id: int, actor: str, approve: bool, note: str | None = None) -> QuotaDraft:
    """Approve or send back (discard) a draft; its author cannot decide it."""
    with Session(engine) as session, session.begin():
        row = _scenario(session, scenario_id)
        decide_draft(session, row, actor, approve, note, f"quota scenario {scenario_id}")
        return _draft(row)


def publish(engine: Engine, scenario_id: int, actor: str, from_quarter: str | None = None) -> int:
    """Write an approved draft's quotas (each quarter from `from_quarter` on, and the year) into `quotas`.

    Refuses a quarter that holds a closed month (closed periods never change): publish from a later quarter.
    Calculated or approved months of the quarters written are marked open again (their runs used other quotas).
    Returns the number of quota rows written.
    """
    with Session(engine) as session, session.begin():
        row = _scenario(session, scenario_id)
        if row.status != "approved":
            raise Conflict(f"quota scenario {scenario_id} is {row.status}; only an approved scenario is published")
        draft = _draft(row)
        measure = row.params["measure"]
        year = _period(session, draft.year, "year")
        quarters = {
            q.name: q
            for q in session.scalars(
                select(m.Period).where(m.Period.kind == "quarter", m.Period.fiscal_year == year.fiscal_year)
            )
        }
        if from_quarter is not None and from_quarter not in quarters:
            raise InvalidInput(
                f"{from_quarter!r} is not a quarter of {draft.year}: use one of {', '.join(sorted(quarters))}"
            )
        chosen = sorted(quarters.values(), key=lambda q: q.start_date)
        if from_quarter is not None:
            chosen = [q for q in chosen if q.start_date >= quarters[from_quarter].start_date]
        months = list(
            session.scalars(
                select(m.Period).where(
                    m.Period.kind == "month",
                    m.Period.start_date >= min(q.start_date for q in chosen),
                    m.Period.end_date <= max(q.end_date for q in chosen),
                )
            )
        )
        closed = sorted(p.name for p in months if p.status == "closed")
        if closed:
            raise Conflict(f"closed months never change ({', '.join(closed)}): publish from a later quarter (--from)")
        payees = {
            p.external_id: p.id
            for p in session.scalars(select(m.Payee).where(m.Payee.external_id.in_([x.payee for x in draft.lines])))
        }
        names = {q.id: q.name for q in quarters.values()} | {year.id: year.name}
        currency = session.scalars(select(m.Plan.currency).where(m.Plan.external_id == row.params["plan"])).first()
        written = 0
        for line in draft.lines:
            amounts = {q.id: line.quarters[q.name] for q in chosen if q.name in line.quarters}
            if not amounts:
                continue
            amounts[year.id] = sum(line.quarters.values(), Decimal(0))
            written += _upsert(session, actor, payees[line.payee], line.payee, measure, amounts, currency, names)
        for month in months:
            if month.status in ("calculated", "approved"):
                audit(
                    session,
                    actor,
                    "update",
                    "periods",
                    month.name,
                    before={"status": month.status},
                    after={"status": "open"},
                    note=f"quotas published by scenario {scenario_id}",
                )
                month.status = "open"
        row.status, row.published_by, row.published_at = "published", actor, utc_now()
        audit(session, actor, "publish", "planning_scenarios", str(row.id), after={"quotas": written})
        return written


def _upsert(
    session: Session,
    actor: str,
    payee_id: int,
    payee: str,
    measure: str,
    amounts: dict[int, Decimal],
    currency: str | None,
    names: dict[int, str],
) -> int:
    """Insert or update one payee's quota rows (period id → amount), each change audited; the rows written."""
    existing = {
        q.period_id: q
        for q in session.scalars(
            select(m.Quota).where(
                m.Quota.payee_id == payee_id, m.Quota.measure == measure, m.Quota.period_id.in_(list(amounts))
            )
        )
    }
    for period_id, amount in amounts.items():
        key = f"{payee}/{measure}/{names[period_id]}"
        found = existing.get(period_id)
        if found is None:
            session.add(
                m.Quota(payee_id=payee_id, measure=measure, period_id=period_id, amount=amount, currency=currency)
            )
            audit(session, actor, "insert", "quotas", key, after={"amount": format(amount, "f")})
        elif found.amount != amount:
            audit(
                session,
                actor,
                "update",
                "quotas",
                key,
                before={"amount": format(found.amount, "f")},
                after={"amount": format(amount, "f")},
            )
            found.amount, found.row_hash = amount, None
    return len(amounts)


# --- bottom-up view ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RollupRow:
    """A manager's team in a draft: how many of the draft's reps report up to them, their quotas summed, and the
    manager's own quota in the draft (None when the draft gives them none)."""

    manager: str
    name: str
    reps: int
    team_total: Decimal
    own: Decimal | None
    ratio: Decimal | None  # own / team total


def rollup(engine: Engine, scenario_id: int) -> list[RollupRow]:
    """Every manager above the draft's reps (reporting lines on the year's first day, recursively): the reps' quotas
    summed against the manager's own line. Ordered by manager."""
    with Session(engine) as session:
        draft = _draft(_scenario(session, scenario_id))
        year = _period(session, draft.year, "year")
        reports = _reports(session, year.start_date)
        rep_quota = {line.payee: line.annual for line in draft.lines if line.level is None}
        own = {line.payee: line.annual for line in draft.lines if line.level is not None}
        people = {p.id: p for p in session.scalars(select(m.Payee).where(m.Payee.id.in_(list(reports))))}
        externals = dict(session.execute(select(m.Payee.id, m.Payee.external_id)).tuples().all())

    def below(node: int, seen: frozenset[int]) -> list[str]:
        found: list[str] = []
        for child in reports.get(node, []):
            if child in seen:
                continue
            if externals.get(child) in rep_quota:
                found.append(externals[child])
            found += below(child, seen | {child})
        return found

    rows = []
    for manager_id, person in people.items():
        team = sorted(set(below(manager_id, frozenset({manager_id}))))
        if not team:
            continue
        total = sum((rep_quota[x] for x in team), Decimal(0))
        mine = own.get(person.external_id)
        ratio = mine / total if mine is not None and total else None
        rows.append(RollupRow(person.external_id, person.name, len(team), total, mine, ratio))
    return sorted(rows, key=lambda r: r.manager)
