"""Contests and SPIF campaigns: YAML definitions with rules in the plan language, live standings, and a close
that proposes the prizes and SPIF payouts as adjustments waiting for approval.

A contest file (`examples/contests/*.yaml`, `docs/gamification.md`)::

    contest: q1-analytics-blitz           # its key: lowercase letters, digits, - and _
    name: Q1 Analytics Blitz
    kind: contest                         # contest (prizes by rank) | spif (a payout per unit)
    plan: ae-commission                   # credits as this plan credits them; paid under this plan
    window: {from: FY2025-M01, to: FY2025-M03}   # whole months, both included
    participants: {roles: [AE], regions: [EMEA], teams: [M1], payees: [R1]}   # each given list must hold
    eligible: "product.family == 'Analytics'"  # the credits that count: a plan-language filter
    credit_roles: [direct]                # which credits count (as a plan measure's roles)
    metric: {sum: amount}                 # or {count: transactions} / {count: credits}
    threshold: 10000                      # optional: the metric needed to win or be paid (a cliff)
    prizes: [{rank: 1, amount: 1000}, {rank: 2, amount: 500}]    # kind contest
    payout: {per_unit: 0.02, cap: 2500}   # kind spif: metric × per_unit, capped per payee
    pay_period: FY2025-M04                # optional: where the money is proposed (default: the month after)

The metric is computed by the real pipeline: the contest becomes one more measure (`sum`/`count`, `roles`,
`filter: eligible`) of the plan, and the plan's classify → credit → measure stages run on the store's data for
the fiscal years of the window, so splits, territories, roll-ups and FX are exactly what pays people, and a
transaction posted a second ago counts. Nothing is stored by that computation.

Standings: competition ranking on the metric (1, 2, 2, 4); payees below the threshold are listed but win
nothing. Prizes: every payee at a rank that has a prize (and who clears the threshold) gets it, so two tied
firsts both get the first prize. SPIF: max(metric, 0) × per_unit, capped, rounded half-up to cents, for each
payee who clears the threshold. Worked example: per_unit 0.02, cap 2,500, metric 150,000 → 3,000 → 2,500.

The close computes the final standings, proposes each award as a `pending` adjustment (reason `spiff`) in the
pay month through the pay path's own adjustment service (handed in as `propose`, so that only the access
layer and the CLI tie this package to `close`), awards `contest_winner` badges to rank 1 and notifies everyone
ranked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openspm.calc.pipeline import attributes_used, run_pipeline
from openspm.core.dates import utc_now
from openspm.core.errors import Conflict, InvalidInput, NotFound
from openspm.core.money import round_money
from openspm.gamification.badges import award_badge
from openspm.gamification.leaderboard import competition_ranks, months_of, period_row, team_of, tidy
from openspm.gamification.notifications import notify_payee
from openspm.plan.expr import ExprError, check_names, parse
from openspm.plan.load import CREDIT_NAMES, CREDIT_PREFIXES, PlanError, read_yaml
from openspm.plan.models import Measure
from openspm.runs.service import load_inputs, run_context
from openspm.store import models as m
from openspm.store.audit import audit

METRIC_MEASURE = "gamification_contest_metric"
REASON_CODE = "spiff"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Window(_Strict):
    first: str = Field(alias="from")
    last: str = Field(alias="to")


class Participants(_Strict):
    roles: list[str] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)
    payees: list[str] = Field(default_factory=list)


class Metric(_Strict):
    sum: str | None = None
    count: Literal["transactions", "credits"] | None = None

    @model_validator(mode="after")
    def _one(self) -> Metric:
        if (self.sum is None) == (self.count is None):
            raise ValueError("give exactly one of sum (an expression, e.g. amount) or count (transactions, credits)")
        return self


class Prize(_Strict):
    rank: int = Field(ge=1)
    amount: Decimal = Field(gt=0)


class Payout(_Strict):
    per_unit: Decimal = Field(gt=0)
    cap: Decimal | None = Field(None, gt=0)


class ContestDocument(_Strict):
    version: int = 1
    contest: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["contest", "spif"]
    plan: str
    description: str = ""
    window: Window
    participants: Participants = Field(default_factory=Participants)
    eligible: str | None = None
    credit_roles: list[str] = Field(default_factory=lambda: ["direct"], min_length=1)
    metric: Metric
    threshold: Decimal | None = Field(None, ge=0)
    prizes: list[Prize] = Field(default_factory=list)
    payout: Payout | None = None
    pay_period: str | None = None

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value != 1:
            raise ValueError(f"unknown contest format version {value}; this openspm reads 1")
        return value

    @model_validator(mode="after")
    def _kind_rules(self) -> ContestDocument:
        if self.kind == "contest" and (not self.prizes or self.payout is not None):
            raise ValueError("a contest pays prizes by rank: give prizes (and no payout)")
        if self.kind == "spif" and (self.payout is None or self.prizes):
            raise ValueError("a spif pays per unit: give payout: {per_unit: ...} (and no prizes)")
        ranks = [p.rank for p in self.prizes]
        if len(set(ranks)) != len(ranks):
            raise ValueError("each rank may have one prize")
        return self


# --- reading and checking a contest file ---------------------------------------------------------------------


def _schema_error(exc: ValidationError, source: str) -> PlanError:
    errors = exc.errors()
    # a misspelt key also makes the right one "missing": name the typo first
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    key = ""
    for step in error["loc"]:
        key += f"[{step}]" if isinstance(step, int) else (f".{step}" if key else str(step))
    kind, given = error["type"], error.get("input")
    message = error["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden":
        message = "unknown key (check the spelling; see docs/gamification.md)"
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "literal_error":
        message = f"{given!r} is not allowed here; use {(error.get('ctx') or {}).get('expected')}"
    elif kind == "string_pattern_mismatch":
        message = f"{given!r} is not a valid key; use lowercase letters, digits, - and _"
    elif kind.startswith(("decimal", "int")):
        message = f"should be a number, not {given!r}"
    elif kind in ("greater_than", "greater_than_equal"):
        message = f"must be more than {error.get('ctx', {}).get('gt', error.get('ctx', {}).get('ge'))}, not {given}"
    return PlanError(source, key, message)


def parse_contest(text: str, source: str = "contest.yaml") -> ContestDocument:
    """Check a contest given as YAML text (schema and expressions); errors say `FILE @ key: problem`."""
    data = read_yaml(text, source)  # the plan loader's: exact decimals, dates as text, `FILE: line N` errors
    if not isinstance(data, dict):
        raise PlanError(source, "", "a contest file must be a YAML mapping (contest:, name:, kind:, plan: ...)")
    try:
        doc = ContestDocument.model_validate(data)
    except ValidationError as exc:
        raise _schema_error(exc, source) from None
    expressions = [("eligible", doc.eligible), ("metric.sum", doc.metric.sum)]
    for key, expression in expressions:
        if expression is None:
            continue
        try:
            check_names(
                parse(expression), lambda n: n in CREDIT_NAMES or n.startswith(CREDIT_PREFIXES), key.split(".")[0]
            )
        except ExprError as exc:
            raise PlanError(source, key, str(exc)) from None
    return doc


def check_in_store(session: Session, doc: ContestDocument, source: str) -> tuple[m.Period, m.Period]:
    """The references a contest makes exist: its plan, its months (in order), teams and payees; the months."""
    plan = session.scalars(select(m.Plan).where(m.Plan.external_id == doc.plan)).first()
    if plan is None:
        known = ", ".join(session.scalars(select(m.Plan.external_id).order_by(m.Plan.external_id))) or "none"
        raise PlanError(source, "plan", f"unknown plan {doc.plan!r}; plans: {known}")
    months: list[m.Period] = []
    for key, name in (("window.from", doc.window.first), ("window.to", doc.window.last)):
        row = session.scalars(select(m.Period).where(m.Period.name == name)).first()
        if row is None or row.kind != "month":
            raise PlanError(source, key, f"{name!r} is not a month of the calendar; use a name like FY2025-M01")
        months.append(row)
    if months[1].start_date < months[0].start_date:
        raise PlanError(source, "window.to", f"{doc.window.last} is before {doc.window.first}")
    if doc.pay_period is not None:
        row = session.scalars(select(m.Period).where(m.Period.name == doc.pay_period)).first()
        if row is None or row.kind != "month":
            raise PlanError(source, "pay_period", f"{doc.pay_period!r} is not a month of the calendar")
    wanted = set(doc.participants.teams) | set(doc.participants.payees)
    if wanted:
        found = set(session.scalars(select(m.Payee.external_id).where(m.Payee.external_id.in_(sorted(wanted)))))
        for key, names in (
            ("participants.teams", doc.participants.teams),
            ("participants.payees", doc.participants.payees),
        ):
            missing = [n for n in names if n not in found]
            if missing:
                raise PlanError(source, key, f"unknown payee {missing[0]!r}")
    return months[0], months[1]


# --- contests in the store -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContestSummary:
    id: int
    key: str
    name: str
    kind: str
    plan: str
    first_month: str
    last_month: str
    status: str
    description: str
    created_by: str


def _summary(row: m.Contest) -> ContestSummary:
    return ContestSummary(
        row.id,
        row.key,
        row.name,
        row.kind,
        row.plan,
        row.first_month,
        row.last_month,
        row.status,
        str(row.definition.get("description") or ""),
        row.created_by,
    )


def _as_json(doc: ContestDocument) -> dict[str, Any]:
    return doc.model_dump(mode="json", by_alias=True, exclude_none=True)


def add_contest(
    engine: Engine, text: str, actor: str, source: str = "contest.yaml", replace_active: bool = False
) -> ContestSummary:
    """Check and store a contest (audited). The same key again is a Conflict, unless `replace_active` and the
    stored one has not closed: then its definition is replaced."""
    doc = parse_contest(text, source)
    with Session(engine) as session, session.begin():
        first, last = check_in_store(session, doc, source)
        row = session.scalars(select(m.Contest).where(m.Contest.key == doc.contest)).first()
        before = None
        if row is not None:
            if not replace_active or row.status != "active":
                raise Conflict(f"contest {doc.contest!r} exists ({row.status}); give it another key")
            before = {"definition": row.definition}
        else:
            row = m.Contest(key=doc.contest, created_by=actor, standings={}, source=text)
            session.add(row)
        row.name, row.kind, row.plan = doc.name, doc.kind, doc.plan
        row.first_month, row.last_month = first.name, last.name
        row.definition, row.source, row.standings = _as_json(doc), text, {}
        session.flush()
        audit(
            session,
            actor=actor,
            action="update" if before else "insert",
            entity="contests",
            entity_key=doc.contest,
            before=before,
            after={"definition": row.definition},
        )
        return _summary(row)


def list_contests(engine: Engine, status: str | None = None) -> list[ContestSummary]:
    with Session(engine) as session:
        query = select(m.Contest).order_by(m.Contest.status, m.Contest.first_month.desc(), m.Contest.key)
        if status is not None:
            query = query.where(m.Contest.status == status)
        return [_summary(r) for r in session.scalars(query)]


def _contest(session: Session, ref: str | int) -> m.Contest:
    query = select(m.Contest)
    text = str(ref)
    query = query.where(m.Contest.id == int(text)) if text.isdigit() else query.where(m.Contest.key == text)
    row = session.scalars(query).first()
    if row is None:
        raise NotFound(f"unknown contest {ref!r}")
    return row


def get_contest(engine: Engine, ref: str | int) -> tuple[ContestSummary, ContestDocument]:
    with Session(engine) as session:
        row = _contest(session, ref)
        return _summary(row), ContestDocument.model_validate(row.definition)


# --- standings -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Standing:
    rank: int
    payee_id: int
    payee: str
    name: str
    value: Decimal
    qualifies: bool
    award: Decimal | None


@dataclass(frozen=True)
class Standings:
    contest: ContestSummary
    currency: str
    rows: list[Standing] = field(default_factory=list)
    computed_at: str = ""
    final: bool = False


def participants(session: Session, doc: ContestDocument, first: m.Period, last: m.Period) -> set[int] | None:
    """The payee ids that may take part (None: anyone the plan credits)."""
    rules = doc.participants
    if not (rules.roles or rules.regions or rules.teams or rules.payees):
        return None
    query = select(m.Payee.id, m.Payee.external_id, m.Payee.role, m.Payee.region)
    chosen: set[int] = set()
    roles = {r.casefold() for r in rules.roles}
    regions = {r.casefold() for r in rules.regions}
    team: set[int] | None = None
    if rules.teams:
        team = set()
        managers = session.scalars(select(m.Payee.id).where(m.Payee.external_id.in_(rules.teams))).all()
        for manager_id in managers:
            team |= team_of(session, manager_id, first.start_date, last.end_date) - {manager_id}
    for payee_id, external_id, role, region in session.execute(query):
        if roles and (role or "").casefold() not in roles:
            continue
        if regions and (region or "").casefold() not in regions:
            continue
        if team is not None and payee_id not in team:
            continue
        if rules.payees and external_id not in rules.payees:
            continue
        chosen.add(payee_id)
    return chosen


def metric_values(
    session: Session, doc: ContestDocument, first: m.Period, last: m.Period
) -> dict[int, tuple[Decimal, int]]:
    """payee id → (the contest metric over the window, its credits), by the real pipeline: the contest as one
    more measure of its plan, computed on the window's transactions for each fiscal year it touches (nothing
    stored)."""
    window = months_of(session, first, last)
    by_year: dict[int, list[m.Period]] = {}
    for month in window:
        by_year.setdefault(month.fiscal_year, []).append(month)
    measure = Measure(
        name=METRIC_MEASURE,
        sum=doc.metric.sum,
        count=doc.metric.count,
        roles=list(doc.credit_roles),
        filter=doc.eligible,
    )
    names = {p.name for p in window}
    totals: dict[int, tuple[Decimal, int]] = {}
    for year_months in by_year.values():
        ctx = run_context(session, year_months[-1].name)
        plans = [p for p in ctx.plans if p.plan_id == doc.plan]
        if not plans:
            raise NotFound(f"plan {doc.plan!r} is not in force in {year_months[-1].name}")
        plan = plans[0]
        document = plan.document.model_copy(update={"measures": [*plan.document.measures, measure]})
        ctx.plans = [replace(plan, document=document)]
        # only the window's transactions: a month's measure sums that month's credits (returns find their
        # originals), and the earnings computed alongside are thrown away
        start = max(ctx.year.start, year_months[0].start_date)
        inputs = load_inputs(session, start, ctx.period.end, attributes_used(document))
        results = run_pipeline(ctx, inputs)
        for row in results.monthly:
            if row["measure"] == METRIC_MEASURE and row["month"] in names:
                value, credits = totals.get(row["payee_id"], (Decimal(0), 0))
                totals[row["payee_id"]] = (value + row["value"], credits + int(row["credits"]))
    return totals


def rank_contest(
    doc: ContestDocument, values: list[tuple[int, Decimal]]
) -> list[tuple[int, Decimal, int, bool, Decimal | None]]:
    """(payee id, metric, rank, clears the threshold, award or None) for each payee, best first."""
    prizes = {p.rank: p.amount for p in doc.prizes}
    ranked = []
    for payee_id, value, rank in competition_ranks(values):
        qualifies = doc.threshold is None or value >= doc.threshold
        award: Decimal | None = None
        if qualifies and doc.kind == "contest":
            award = prizes.get(rank)
        elif qualifies and doc.payout is not None:
            amount = max(value, Decimal(0)) * doc.payout.per_unit
            if doc.payout.cap is not None:
                amount = min(amount, doc.payout.cap)
            award = round_money(amount, 2, "half_up") if amount > 0 else None
        ranked.append((payee_id, value, rank, qualifies, award))
    return ranked


def data_marker(session: Session, plan: str) -> str:
    """What standings depend on: the plan's live measures and the transactions (changes when either does)."""
    pm, t = m.PayeeMeasure, m.Transaction
    measures = session.execute(select(func.count(), func.max(pm.updated_at)).where(pm.plan == plan)).one()
    transactions = session.execute(select(func.count(), func.max(t.id))).one()
    return f"{measures[0]}|{measures[1]}|{transactions[0]}|{transactions[1]}"


def _from_cache(cached: dict[str, Any]) -> list[Standing]:
    return [
        Standing(
            r["rank"],
            r["payee_id"],
            r["payee"],
            r["name"],
            Decimal(r["value"]),
            r["qualifies"],
            Decimal(r["award"]) if r.get("award") is not None else None,
        )
        for r in cached.get("rows", [])
    ]


def _to_cache(rows: list[Standing]) -> list[dict[str, Any]]:
    return [
        {
            "rank": r.rank,
            "payee_id": r.payee_id,
            "payee": r.payee,
            "name": r.name,
            "value": str(r.value),
            "qualifies": r.qualifies,
            "award": None if r.award is None else str(r.award),
        }
        for r in rows
    ]


def _compute_rows(session: Session, row: m.Contest) -> list[Standing]:
    doc = ContestDocument.model_validate(row.definition)
    first, last = period_row(session, row.first_month), period_row(session, row.last_month)
    allowed = participants(session, doc, first, last)
    totals = metric_values(session, doc, first, last)
    if allowed is not None:
        totals = {k: v for k, v in totals.items() if k in allowed}
    people = {p.id: p for p in session.scalars(select(m.Payee).where(m.Payee.id.in_(list(totals))))} if totals else {}
    order = sorted(totals, key=lambda i: (people[i].name.lower(), people[i].external_id))
    ranked = rank_contest(doc, [(i, tidy(totals[i][0])) for i in order])
    return [
        Standing(rank, pid, people[pid].external_id, people[pid].name, value, qualifies, award)
        for pid, value, rank, qualifies, award in ranked
    ]


def _notify_changes(session: Session, row: m.Contest, old: list[Standing], new: list[Standing], version: int) -> None:
    """Tell a participant when their place among the prizes changes (a contest; a SPIF has no places)."""
    if row.kind != "contest":
        return
    prized = max((int(p["rank"]) for p in row.definition.get("prizes", [])), default=0)
    before = {s.payee_id: s.rank for s in old}
    for s in new:
        was = before.get(s.payee_id)
        if was == s.rank or (s.rank > prized and (was is None or was > prized)):
            continue
        title = f"{row.name}: you are now #{s.rank}" if s.rank <= prized else f"{row.name}: you dropped to #{s.rank}"
        notify_payee(
            session,
            s.payee_id,
            "contest_standing",
            f"contest:{row.id}:standing:{version}:{s.rank}",
            title,
            f"Standings as of {utc_now():%Y-%m-%d %H:%M} UTC" + (f" (was #{was})" if was else ""),
            f"/contests/{row.id}",
        )


def contest_standings(engine: Engine, ref: str | int, refresh: bool = False) -> Standings:
    """The standings of a contest: the final ones once closed; otherwise recomputed when the credits or
    transactions changed since the last computation (or when `refresh`), and kept with their marker."""
    try:
        return _contest_standings(engine, ref, refresh)
    except IntegrityError:  # another viewer stored the same recomputation (and sent its notifications) first
        return _contest_standings(engine, ref, False)


def _contest_standings(engine: Engine, ref: str | int, refresh: bool) -> Standings:
    with Session(engine) as session, session.begin():
        row = _contest(session, ref)
        currency = session.scalar(select(m.Plan.currency).where(m.Plan.external_id == row.plan)) or ""
        if row.status == "closed" and row.results:
            return Standings(
                _summary(row), currency, _from_cache(row.results), row.results.get("computed_at", ""), True
            )
        marker = data_marker(session, row.plan)
        cached = row.standings or {}
        if not refresh and cached.get("marker") == marker and "rows" in cached:
            return Standings(_summary(row), currency, _from_cache(cached), cached.get("computed_at", ""))
        rows = _compute_rows(session, row)
        old = _from_cache(cached)
        version = int(cached.get("version", 0)) + 1
        computed_at = utc_now().isoformat(timespec="seconds")
        if old or cached.get("rows") is not None:
            _notify_changes(session, row, old, rows, version)
        row.standings = {"marker": marker, "computed_at": computed_at, "version": version, "rows": _to_cache(rows)}
        return Standings(_summary(row), currency, rows, computed_at)


# --- the close -------------------------------------------------------------------------------------------------

Propose = Callable[..., Any]  # openspm.close.adjustments.add_adjustment's signature


@dataclass(frozen=True)
class ClosedContest:
    contest: ContestSummary
    pay_period: str
    adjustments: list[dict[str, Any]]
    standings: list[Standing]


def _next_month(session: Session, month: m.Period) -> m.Period | None:
    return session.scalars(
        select(m.Period)
        .where(
            m.Period.calendar_id == month.calendar_id, m.Period.kind == "month", m.Period.start_date >= month.end_date
        )
        .order_by(m.Period.start_date)
        .limit(1)
    ).first()


def close_contest(
    engine: Engine,
    ref: str | int,
    actor: str,
    propose: Propose,
    pay_period: str | None = None,
    early: bool = False,
    today: date | None = None,
) -> ClosedContest:
    """Final standings; each award proposed by `propose(engine, payee=, plan=, period=, amount=, reason_code=,
    actor=, note=, needs_approval=True)` (the adjustments service); winners' badges; results notified."""
    with Session(engine) as session:
        row = _contest(session, ref)
        if row.status != "active":
            raise Conflict(f"contest {row.key!r} is already closed")
        last = period_row(session, row.last_month)
        if not early and last.end_date > (today or utc_now().date()):
            raise Conflict(f"contest {row.key!r} runs until {row.last_month} ends; close it after, or close it early")
        chosen = pay_period or row.definition.get("pay_period")
        if chosen is None:
            following = _next_month(session, last)
            if following is None:
                raise InvalidInput(f"no month after {row.last_month} in the calendar; name the pay month")
            chosen = following.name
        month = session.scalars(select(m.Period).where(m.Period.name == chosen)).first()
        if month is None or month.kind != "month":
            raise NotFound(f"unknown month {chosen!r}")
        if month.status == "closed":
            raise Conflict(f"{chosen} is closed; name an open month to pay the contest in")
        key, contest_id = row.key, row.id
    final = contest_standings(engine, contest_id, refresh=True).rows
    proposed: list[dict[str, Any]] = []
    for s in final:
        if s.award is None or s.award <= 0:
            continue
        view = propose(
            engine,
            payee=s.payee,
            plan=row.plan,
            period=chosen,
            amount=s.award,
            reason_code=REASON_CODE,
            actor=actor,
            note=f"contest {key}: " + (f"rank {s.rank}" if row.kind == "contest" else f"SPIF on {s.value}"),
            needs_approval=True,
        )
        proposed.append(
            {
                "payee": s.payee,
                "amount": str(s.award),
                "adjustment_id": getattr(view, "id", None),
                "status": getattr(view, "status", ""),
            }
        )
    with Session(engine) as session, session.begin():
        row = _contest(session, contest_id)
        computed_at = utc_now().isoformat(timespec="seconds")
        row.status, row.closed_by, row.closed_at = "closed", actor, utc_now()
        row.results = {
            "computed_at": computed_at,
            "pay_period": chosen,
            "rows": _to_cache(final),
            "adjustments": proposed,
        }
        last = period_row(session, row.last_month)
        earned = min(last.end_date - timedelta(days=1), (today or utc_now().date()))
        for s in final:
            if row.kind == "contest" and s.rank == 1 and s.qualifies:
                award_badge(session, s.payee_id, "contest_winner", key, earned, {"contest": key, "name": row.name})
            award = f" and won {s.award}" if s.award else ""
            notify_payee(
                session,
                s.payee_id,
                "contest_result",
                f"contest:{contest_id}:result",
                f"{row.name} has ended: you finished #{s.rank}{award}",
                "Awards are proposed as adjustments for approval and paid in " + chosen,
                f"/contests/{contest_id}",
            )
        audit(
            session,
            actor=actor,
            action="close",
            entity="contests",
            entity_key=key,
            before={"status": "active"},
            after={"status": "closed", "pay_period": chosen, "adjustments": proposed},
        )
        summary = _summary(row)
    return ClosedContest(summary, chosen, proposed, final)
