"""Territory scenarios over the store: a design drafted from the accounts and territories in effect on a day,
compared, reviewed, and published into the effective-dated `account_territories` the engine credits by.

Pipeline of `draft_territories`: read (the territories in scope — the leaves, or the children of `parent` — and
the accounts in them on `on`, with potential, coordinates and the `locked` / `workload` attributes; a territory's
centre is its `latitude` / `longitude` attributes, else the mean of its accounts' coordinates) → design
(`territory.design`: greedy, then HiGHS or CP-SAT within the time limit) → store the scenario as a draft: its
params, the assignment it started from, and the proposal (moves, per-territory totals and bands before and after,
objective, bound, gap, status, seconds).

`decide` needs someone other than the author. `publish(engine, id, actor, effective_from)` closes each moved
account's row at `effective_from` and opens one in its new territory (audited, one entry per moved account). It
refuses a date whose month, or any later month, is closed (closed periods never change), and a scenario the store
has moved on from: an account of the scenario no longer in the territory the draft started from (409 naming it).
Calculated or approved months from the date on are marked open again: their runs credited the old territories.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.core.errors import Conflict, InvalidInput, NotFound
from openspm.planning.review import decide_draft, scenario_row, scenario_rows
from openspm.planning.territory import (
    MEASURES,
    Account,
    DesignOptions,
    DesignResult,
    Territory,
    TerritoryTotals,
    band_totals,
    design,
)
from openspm.store import models as m
from openspm.store.audit import audit

KIND = "territory"
TRUE = {"true", "yes", "y", "1", "locked"}
# Phases of a draft and the share of the progress bar each one ends at.
PHASES = {"reading": 0.05, "greedy": 0.15, "solve": 0.9, "storing": 1.0}

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class TerritoryParams:
    """What a territory draft is made from."""

    on: date  # the day whose accounts and territories are read
    tolerance: Decimal = Decimal("0.05")
    solver: str = "highs"
    time_limit: float = 60.0
    measures: tuple[str, ...] = ("potential",)
    objective: str | None = None  # moves (default) | moved_potential
    parent: str | None = None  # only the children of this territory (default: every leaf territory)
    include_unassigned: bool = False  # also place accounts with no territory on `on`


@dataclass(frozen=True)
class MoveLine:
    account: str
    name: str
    source: str | None
    target: str
    potential: Decimal


@dataclass(frozen=True)
class TotalsLine:
    """One territory before and after: totals per measure, its band, whether each is in band."""

    territory: str
    name: str
    accounts_before: int
    accounts: int
    before: dict[str, Decimal]
    totals: dict[str, Decimal]
    lower: dict[str, Decimal]
    upper: dict[str, Decimal]
    in_band_before: bool
    in_band: bool


@dataclass(frozen=True)
class TerritoryDraft:
    id: int
    name: str
    on: date
    status: str  # draft | approved | published | discarded
    params: dict[str, Any]
    solve_status: str  # optimal | feasible | unbalanced | infeasible
    solver: str
    solver_status: str
    objective_kind: str
    objective: Decimal
    bound: Decimal | None
    gap: float | None
    seconds: float
    accounts: int
    moves: list[MoveLine]
    totals: list[TotalsLine]
    problems: list[str]
    start: dict[str, str | None]  # account → territory the draft started from
    created_by: str
    decided_by: str | None
    published_by: str | None
    effective_from: date | None  # when published

    @property
    def in_band(self) -> int:
        return sum(1 for t in self.totals if t.in_band)

    @property
    def in_band_before(self) -> int:
        return sum(1 for t in self.totals if t.in_band_before)


# --- read ------------------------------------------------------------------------------------------------------


def _in_effect(model: Any, day: date) -> Any:
    return (model.effective_from <= day) & or_(model.effective_to.is_(None), model.effective_to > day)


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str | int) and str(value).strip().lower() in TRUE)


def _number(value: Any, what: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except ArithmeticError:
        raise InvalidInput(f"{what}: {value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise InvalidInput(f"{what}: {value!r} must be a non-negative number")
    return number


def _scope(session: Session, parent: str | None) -> list[m.Territory]:
    """The territories a design moves accounts between: the children of `parent`, else every leaf."""
    territories = list(session.scalars(select(m.Territory).order_by(m.Territory.external_id)))
    if parent is not None:
        found = next((t for t in territories if t.external_id == parent), None)
        if found is None:
            raise NotFound(f"unknown territory {parent!r}")
        chosen = [t for t in territories if t.parent_id == found.id]
        if len(chosen) < 2:
            raise InvalidInput(f"territory {parent} has {len(chosen)} child territories; a design needs two or more")
        return chosen
    parents = {t.parent_id for t in territories if t.parent_id is not None}
    chosen = [t for t in territories if t.id not in parents]
    if len(chosen) < 2:
        raise InvalidInput("a design needs two or more territories; the store has fewer")
    return chosen


def read_instance(
    session: Session, params: TerritoryParams
) -> tuple[list[Account], list[Territory], dict[str, str], dict[str, str]]:
    """The design instance as of `params.on`: accounts (x = longitude scaled by the cosine of the mean latitude,
    y = latitude), territories with their centres, and the names of both (external id → name)."""
    territories = _scope(session, params.parent)
    by_id = {t.id: t for t in territories}
    rows = session.execute(
        select(m.AccountTerritory.account_id, m.AccountTerritory.territory_id).where(
            _in_effect(m.AccountTerritory, params.on)
        )
    ).all()
    current = {
        account_id: by_id[territory_id].external_id for account_id, territory_id in rows if territory_id in by_id
    }
    assigned_anywhere = {account_id for account_id, _ in rows}
    query = select(m.Account).order_by(m.Account.external_id)
    accounts = [
        a
        for a in session.scalars(query)
        if a.id in current or (params.include_unassigned and a.id not in assigned_anywhere)
    ]
    if not accounts:
        raise InvalidInput(f"no accounts are in the territories in scope on {params.on.isoformat()}")
    located = [a for a in accounts if a.latitude is not None and a.longitude is not None]
    mean_lat = sum((float(a.latitude or 0) for a in located), 0.0) / len(located) if located else 0.0
    squash = math.cos(math.radians(mean_lat))

    def point(latitude: Any, longitude: Any) -> tuple[float, float]:
        return float(longitude) * squash, float(latitude)

    designed: list[Account] = []
    points: dict[str, list[tuple[float, float]]] = {t.external_id: [] for t in territories}
    for a in accounts:
        attrs = a.attributes or {}
        x, y = point(a.latitude, a.longitude) if a.latitude is not None and a.longitude is not None else (0.0, 0.0)
        territory = current.get(a.id)
        if territory is not None and a.latitude is not None and a.longitude is not None:
            points[territory].append((x, y))
        designed.append(
            Account(
                id=a.external_id,
                potential=a.potential if a.potential is not None else Decimal(0),
                workload=_number(attrs["workload"], f"account {a.external_id} workload")
                if attrs.get("workload") not in (None, "")
                else Decimal(0),
                x=x,
                y=y,
                current=territory,
                locked=_truthy(attrs.get("locked")),
            )
        )
    centres = []
    for t in territories:
        attrs = t.attributes or {}
        if attrs.get("latitude") not in (None, "") and attrs.get("longitude") not in (None, ""):
            x, y = point(attrs["latitude"], attrs["longitude"])
        elif points[t.external_id]:
            x = sum(p[0] for p in points[t.external_id]) / len(points[t.external_id])
            y = sum(p[1] for p in points[t.external_id]) / len(points[t.external_id])
        else:
            x, y = 0.0, 0.0
        centres.append(Territory(t.external_id, x, y))
    return (
        designed,
        centres,
        {a.external_id: a.name for a in accounts},
        {t.external_id: t.name for t in territories},
    )


# --- draft -----------------------------------------------------------------------------------------------------


def check_params(params: TerritoryParams) -> None:
    """Refuse what cannot be designed from the store, before anything is read or queued."""
    if not params.measures:
        raise InvalidInput("balance at least one measure: potential, workload or accounts")
    for measure in params.measures:
        if measure not in MEASURES:
            raise InvalidInput(f"measure {measure!r}: choose among {', '.join(MEASURES)}")
    if params.objective not in (None, "moves", "moved_potential"):
        raise InvalidInput(f"objective {params.objective!r}: choose moves or moved_potential")
    if not Decimal(0) <= params.tolerance < Decimal(1):
        raise InvalidInput(f"tolerance {params.tolerance}: give a fraction from 0 to below 1 (0.05 = ±5%)")
    if not 0 < params.time_limit <= 3600:
        raise InvalidInput(f"time limit {params.time_limit}: give seconds, more than 0 and at most 3600")


def draft_territories(
    engine: Engine, params: TerritoryParams, *, name: str, actor: str, progress: Progress | None = None
) -> TerritoryDraft:
    """Design territories from the store as of `params.on` and store the proposal as a draft (see the module
    docstring). `progress(fraction, message)` hears each phase: reading, greedy, the exact solve, storing."""
    say = progress or (lambda _f, _t: None)
    check_params(params)
    say(0.0, f"reading the accounts and territories on {params.on.isoformat()}")
    with Session(engine) as session:
        accounts, territories, account_names, territory_names = read_instance(session, params)
    say(PHASES["reading"], f"read {len(accounts)} accounts in {len(territories)} territories")
    options = DesignOptions(
        balance=params.measures,
        tolerance=params.tolerance,
        objective=params.objective or "moves",
        solver=params.solver,
        time_limit=params.time_limit,
    )

    def phase(text: str) -> None:
        if text == "greedy":
            say(PHASES["reading"], "greedy start and repair")
        elif text in ("highs", "cpsat"):
            say(PHASES["greedy"], f"exact solve ({text}), up to {params.time_limit:g} s")
        else:
            say(PHASES["greedy"], text)

    result = design(accounts, territories, options, progress=phase)
    say(PHASES["solve"], f"{result.status}: {len(result.moves)} moves; storing the draft")
    start = {a.id: a.current for a in accounts}
    before = band_totals(
        accounts, territories, {k: v for k, v in start.items() if v}, params.measures, params.tolerance
    )
    proposal = _proposal(result, before, account_names, territory_names, start)
    with Session(engine) as session, session.begin():
        row = m.PlanningScenario(
            kind=KIND,
            name=name,
            year=params.on.isoformat(),
            status="draft",
            params=_json(asdict(params)),
            proposal=_json(proposal),
            created_by=actor,
            created_at=utc_now(),
        )
        session.add(row)
        session.flush()
        audit(
            session,
            actor,
            "insert",
            "planning_scenarios",
            str(row.id),
            after={"kind": KIND, "name": name, "moves": len(result.moves), "status": result.status},
        )
        draft = _draft(row)
    say(PHASES["storing"], f"draft {draft.id} stored")
    return draft


def _proposal(
    result: DesignResult,
    before: Sequence[TerritoryTotals],
    account_names: dict[str, str],
    territory_names: dict[str, str],
    start: dict[str, str | None],
) -> dict[str, Any]:
    earlier = {t.territory: t for t in before}
    return {
        "solve_status": result.status,
        "solver": result.solver,
        "solver_status": result.solver_status,
        "objective_kind": result.objective_kind,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "seconds": round(result.seconds, 3),
        "accounts": len(start),
        "moves": [
            {
                "account": mv.account,
                "name": account_names.get(mv.account, ""),
                "source": mv.source,
                "target": mv.target,
                "potential": mv.potential,
            }
            for mv in result.moves
        ],
        "totals": [
            {
                "territory": t.territory,
                "name": territory_names.get(t.territory, ""),
                "accounts_before": earlier[t.territory].accounts,
                "accounts": t.accounts,
                "before": earlier[t.territory].totals,
                "totals": t.totals,
                "lower": t.lower,
                "upper": t.upper,
                "in_band_before": earlier[t.territory].balanced,
                "in_band": t.balanced,
            }
            for t in result.totals
        ],
        "problems": result.problems,
        "start": start,
    }


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


def _decimals(values: dict[str, str]) -> dict[str, Decimal]:
    return {k: Decimal(v) for k, v in values.items()}


def _draft(row: m.PlanningScenario) -> TerritoryDraft:
    p = row.proposal
    return TerritoryDraft(
        id=row.id,
        name=row.name,
        on=date.fromisoformat(row.params["on"]),
        status=row.status,
        params=dict(row.params),
        solve_status=p["solve_status"],
        solver=p["solver"],
        solver_status=p["solver_status"],
        objective_kind=p["objective_kind"],
        objective=Decimal(p["objective"]),
        bound=Decimal(p["bound"]) if p.get("bound") is not None else None,
        gap=p.get("gap"),
        seconds=float(p["seconds"]),
        accounts=int(p["accounts"]),
        moves=[
            MoveLine(x["account"], x["name"], x["source"], x["target"], Decimal(x["potential"])) for x in p["moves"]
        ],
        totals=[
            TotalsLine(
                x["territory"],
                x["name"],
                x["accounts_before"],
                x["accounts"],
                _decimals(x["before"]),
                _decimals(x["totals"]),
                _decimals(x["lower"]),
                _decimals(x["upper"]),
                x["in_band_before"],
                x["in_band"],
            )
            for x in p["totals"]
        ],
        problems=list(p.get("problems", [])),
        start=dict(p.get("start", {})),
        created_by=row.created_by,
        decided_by=row.decided_by,
        published_by=row.published_by,
        effective_from=date.fromisoformat(p["effective_from"]) if p.get("effective_from") else None,
    )


# --- review and publish ----------------------------------------------------------------------------------------


def _scenario(session: Session, scenario_id: int, lock: bool = False) -> m.PlanningScenario:
    return scenario_row(session, KIND, scenario_id, lock)


def territory_draft(engine: Engine, scenario_id: int) -> TerritoryDraft:
    with Session(engine) as session:
        return _draft(_scenario(session, scenario_id))


def territory_drafts(engine: Engine) -> list[TerritoryDraft]:
    """Every territory scenario, newest first."""
    with Session(engine) as session:
        return [_draft(row) for row in scenario_rows(session, KIND)]


def decide(engine: Engine, scenario_id: int, actor: str, approve: bool, note: str | None = None) -> TerritoryDraft:
    """Approve or send back (discard) a draft; its author cannot decide it."""
    with Session(engine) as session, session.begin():
        row = _scenario(session, scenario_id, lock=True)
        decide_draft(session, row, actor, approve, note, f"territory scenario {scenario_id}")
        return _draft(row)


def _closed_months(session: Session, day: date) -> list[str]:
    """The closed months that hold `day` or come after it (a change from `day` on would alter them)."""
    later = set(session.scalars(select(m.Period.name).where(m.Period.kind == "month", m.Period.end_date > day)))
    closed = set(session.scalars(select(m.PeriodClose.period).where(m.PeriodClose.status == "closed"))) | set(
        session.scalars(select(m.Period.name).where(m.Period.kind == "month", m.Period.status == "closed"))
    )
    return sorted(later & closed)


def publish(engine: Engine, scenario_id: int, actor: str, effective_from: date) -> int:
    """Write an approved draft's moves into `account_territories` from `effective_from` (see the module docstring).

    Returns the number of accounts moved.
    """
    with Session(engine) as session, session.begin():
        row = _scenario(session, scenario_id, lock=True)
        if row.status != "approved":
            raise Conflict(f"territory scenario {scenario_id} is {row.status}; only an approved scenario is published")
        draft = _draft(row)
        closed = _closed_months(session, effective_from)
        if closed:
            raise Conflict(
                f"closed months never change ({', '.join(closed)}): publish from a date after the last closed month"
            )
        accounts = {
            a.external_id: a
            for a in session.scalars(select(m.Account).where(m.Account.external_id.in_(list(draft.start))))
        }
        territories = {t.external_id: t for t in session.scalars(select(m.Territory))}
        names = {t.id: t.external_id for t in territories.values()}
        in_effect = {
            r.account_id: r
            for r in session.scalars(
                select(m.AccountTerritory).where(
                    m.AccountTerritory.account_id.in_([a.id for a in accounts.values()]),
                    _in_effect(m.AccountTerritory, effective_from),
                )
            )
        }
        stale = []
        for account, started in sorted(draft.start.items()):
            found = accounts.get(account)
            now = names[in_effect[found.id].territory_id] if found is not None and found.id in in_effect else None
            if found is None or now != started:
                stale.append(f"{account} is in {now or 'no territory'}, the draft started from {started or 'none'}")
        if stale:
            raise Conflict(
                f"the store changed since territory scenario {scenario_id} was drafted on {draft.on.isoformat()} "
                f"(as of {effective_from.isoformat()}): {'; '.join(stale[:5])}"
                + (f" and {len(stale) - 5} more" if len(stale) > 5 else "")
                + ": draft it again"
            )
        for move in draft.moves:
            target = territories.get(move.target)
            if target is None:
                raise Conflict(f"territory {move.target} of scenario {scenario_id} no longer exists")
            moved = accounts[move.account]
            old = in_effect.get(moved.id)
            key = f"{move.account}@{effective_from.isoformat()}"
            if old is not None and old.effective_from == effective_from:  # a row starting that very day: re-point it
                old.territory_id, old.row_hash = target.id, None
                end = old.effective_to
            else:
                end = old.effective_to if old is not None else _next_start(session, moved.id, effective_from)
                if old is not None:
                    old.effective_to, old.row_hash = effective_from, None
                session.add(
                    m.AccountTerritory(
                        account_id=moved.id, territory_id=target.id, effective_from=effective_from, effective_to=end
                    )
                )
            audit(
                session,
                actor,
                "update" if old is not None else "insert",
                "account_territories",
                key,
                before={"territory": move.source} if old is not None else None,
                after={"territory": move.target, "effective_from": effective_from.isoformat()},
                note=f"territory scenario {scenario_id}",
            )
        _reopen(session, actor, effective_from, scenario_id)
        row.status, row.published_by, row.published_at = "published", actor, utc_now()
        row.proposal = {**row.proposal, "effective_from": effective_from.isoformat()}
        audit(
            session,
            actor,
            "publish",
            "planning_scenarios",
            str(row.id),
            after={"moves": len(draft.moves), "effective_from": effective_from.isoformat()},
        )
        return len(draft.moves)


def _next_start(session: Session, account_id: int, day: date) -> date | None:
    """The start of the account's next territory row after `day` (the new row ends there), if any."""
    return session.scalar(
        select(m.AccountTerritory.effective_from)
        .where(m.AccountTerritory.account_id == account_id, m.AccountTerritory.effective_from > day)
        .order_by(m.AccountTerritory.effective_from)
        .limit(1)
    )


def _reopen(session: Session, actor: str, day: date, scenario_id: int) -> None:
    """Calculated or approved months from `day` on are open again: their runs credited the old territories."""
    for month in session.scalars(
        select(m.Period).where(
            m.Period.kind == "month", m.Period.end_date > day, m.Period.status.in_(("calculated", "approved"))
        )
    ):
        audit(
            session,
            actor,
            "update",
            "periods",
            month.name,
            before={"status": month.status},
            after={"status": "open"},
            note=f"territories published by scenario {scenario_id}",
        )
        month.status = "open"
