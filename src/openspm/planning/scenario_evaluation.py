"""Connected evaluation of a whole planning scenario: a quota draft, a territory draft and a candidate plan
version, any of them together, replayed on a basis year's real deals by the engine that pays, beside the store
as it stands.

Pipeline of `evaluate_scenario`: read the parts (a quota draft, a territory draft, a candidate plan document checked
like `openspm plan check`) → choose the plan and measure to report (the quota draft's, else the candidate plan's,
else the one plan in force) and the basis (as for quota drafts; without a quota draft, `basis_year` or the fiscal
year of the latest deal) → replay each basis month through `runs.service.compute` twice: once as the store stands
(the baseline) and once with the scenario: the draft's quotas substituted, each moved account in its new territory
for the whole basis (as if published before it; crediting by territory follows) and the candidate document in place
of the stored version of its plan → the same `Figures` per column as the quota evaluation. Reads only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.calc import inputs as inp
from openspm.core.errors import InvalidInput, NotFound
from openspm.plan.load import load_plan, parse_plan
from openspm.plan.models import PlanDocument
from openspm.planning.evaluation import (
    Figures,
    OnMonth,
    PayeeChange,
    _basis,
    _changes,
    _figures,
    _substituted,
    _Tally,
    figures_json,
)
from openspm.planning.quotas import QuotaDraft, _json, _quotas, _scenario
from openspm.planning.quotas import quota_draft as read_quota_draft
from openspm.planning.territory_scenarios import TerritoryDraft
from openspm.planning.territory_scenarios import territory_draft as read_territory_draft
from openspm.runs.service import compute, plans_in_force
from openspm.store import models as m

Adjust = Any  # Callable[[inp.Inputs], inp.Inputs]


@dataclass(frozen=True)
class ScenarioEvaluation:
    """A scenario beside the baseline on the same basis months."""

    plan: str
    measure: str
    currency: str
    basis: str
    months: list[str]
    parts: dict[str, str]  # "quotas" / "territories" / "plan" → what was evaluated
    baseline: Figures
    scenario: Figures
    gains: list[PayeeChange]
    losses: list[PayeeChange]


def candidate_plan(plan_file: Path | str | None = None, plan_text: str | None = None) -> PlanDocument | None:
    """The candidate plan version: a file or YAML text, checked like `openspm plan check` (errors name the key)."""
    if plan_file is not None and plan_text is not None:
        raise InvalidInput("give the candidate plan as a file or as text, not both")
    if plan_file is not None:
        return load_plan(Path(plan_file))
    if plan_text is not None:
        return parse_plan(plan_text, "candidate plan")
    return None


def territory_moves(draft: TerritoryDraft) -> dict[str, str]:
    """Account → its new territory, for every move of a territory draft."""
    return {move.account: move.target for move in draft.moves}


def moved(session: Session, moves: dict[str, str]) -> Adjust:
    """An `adjust` for `compute`: each moved account in its new territory for all time (one open row), every other
    account's rows unchanged."""
    known = dict(session.execute(select(m.Territory.external_id, m.Territory.id)).tuples().all())
    missing = sorted({t for t in moves.values() if t not in known})
    if missing:
        raise NotFound(f"territory {missing[0]!r} of the draft no longer exists")

    def adjust(inputs: inp.Inputs) -> inp.Inputs:
        accounts = inputs.get("accounts")
        ids = dict(zip(accounts["external_id"].to_pylist(), accounts["id"].to_pylist(), strict=True))
        new = {ids[a]: known[t] for a, t in moves.items() if a in ids}
        rows = [r for r in inputs.get("account_territories").to_pylist() if r["account_id"] not in new]
        rows += [
            {"account_id": a, "territory_id": t, "effective_from": date(1900, 1, 1), "effective_to": None}
            for a, t in sorted(new.items())
        ]
        columns = {c: [r[c] for r in rows] for c, _ in inp.SCHEMAS["account_territories"]}
        return inp.Inputs({**inputs.tables, "account_territories": inp.table("account_territories", columns)})

    return adjust


def _chain(adjusters: list[Adjust]) -> Adjust | None:
    if not adjusters:
        return None

    def adjust(inputs: inp.Inputs) -> inp.Inputs:
        for one in adjusters:
            inputs = one(inputs)
        return inputs

    return adjust


def _default_basis(session: Session) -> str:
    """The fiscal year of the latest deal."""
    last = session.scalar(select(func.max(m.Transaction.date)))
    if last is None:
        raise InvalidInput("no transactions to evaluate on")
    day = last if isinstance(last, date) else date.fromisoformat(str(last))
    year = session.scalars(
        select(m.Period).where(m.Period.kind == "year", m.Period.start_date <= day, m.Period.end_date > day)
    ).first()
    if year is None:
        raise NotFound(f"no fiscal year of the calendar holds {day.isoformat()}")
    return year.name


def evaluate_scenario(
    engine: Engine,
    *,
    quota_draft: int | None = None,
    territory_draft: int | None = None,
    plan_file: Path | str | None = None,
    plan_text: str | None = None,
    basis_year: str | None = None,
    months: list[str] | None = None,
    plan: str | None = None,
    measure: str | None = None,
    on_month: OnMonth | None = None,
) -> ScenarioEvaluation:
    """Replay the basis months for the store as it stands and for the scenario made of any of a quota draft, a
    territory draft and a candidate plan version (see the module docstring). Reads only."""
    document = candidate_plan(plan_file, plan_text)
    if quota_draft is None and territory_draft is None and document is None:
        raise InvalidInput("name a quota draft, a territory draft or a candidate plan file to evaluate")
    quotas: QuotaDraft | None = read_quota_draft(engine, quota_draft) if quota_draft is not None else None
    territories = read_territory_draft(engine, territory_draft) if territory_draft is not None else None
    parts: dict[str, str] = {}
    with Session(engine) as session:
        if quotas is not None:
            params = _scenario(session, quotas.id).params
            plan, measure = plan or params["plan"], measure or params["measure"]
            parts["quotas"] = f"#{quotas.id} {quotas.name}"
        if document is not None:
            stored = session.scalars(select(m.Plan).where(m.Plan.external_id == document.plan)).first()
            if stored is None:
                raise NotFound(
                    f"the candidate plan {document.plan!r} is not in the store; add it with `openspm plan add`"
                )
            plan = plan or document.plan
            parts["plan"] = f"{document.plan}: {document.name} (candidate)"
        basis_name = basis_year or (None if quotas is not None else _default_basis(session))
        basis_draft: Any = quotas if quotas is not None else SimpleNamespace(year=basis_name)
        basis, chosen, quarter_map = _basis(session, basis_draft, basis_name, months)
        if not chosen:
            raise InvalidInput(f"no month of {basis} to evaluate on")
        year = session.scalars(select(m.Period).where(m.Period.name == basis, m.Period.kind == "year")).one()
        in_force = plans_in_force(session, year.start_date, year.end_date)
        if plan is None:
            ids = sorted({p.plan_id for p in in_force})
            if len(ids) != 1:
                raise InvalidInput(
                    f"plans {', '.join(ids) or 'none'} are in force in {basis}: say which to report (--plan)"
                )
            plan = ids[0]
        if document is not None and document.plan not in {p.plan_id for p in in_force}:
            raise InvalidInput(
                f"plan {document.plan!r} is not in force in {basis}: nothing for the candidate to replace"
            )
        if measure is None:
            reported = document if document is not None and document.plan == plan else None
            if reported is None:
                reported = next((p.document for p in in_force if p.plan_id == plan), None)
            if reported is None:
                raise NotFound(f"plan {plan!r} is not in force in {basis}")
            measure = reported.measures[0].name
        currency = session.scalars(select(m.Plan.currency).where(m.Plan.external_id == plan)).first() or ""
        adjusters: list[Adjust] = []
        if quotas is not None:
            adjusters.append(_substituted(quotas, measure, basis, quarter_map))
        if territories is not None:
            adjusters.append(moved(session, territory_moves(territories)))
            parts["territories"] = f"#{territories.id} {territories.name} ({len(territories.moves)} moves)"
        adjust = _chain(adjusters)
        candidate = {document.plan: document} if document is not None else None

        payee_rows = {p.external_id: p for p in session.scalars(select(m.Payee))}
        basis_quarters = list(
            session.scalars(
                select(m.Period).where(m.Period.kind == "quarter", m.Period.fiscal_year == year.fiscal_year)
            )
        )
        held = _quotas(session, measure, [p.id for p in payee_rows.values()], year, basis_quarters)
        baseline_quotas = {x: held[p.id] for x, p in payee_rows.items() if p.id in held}
        scenario_quotas = dict(baseline_quotas)
        if quotas is not None:
            scenario_quotas.update({x.payee: sum(x.quarters.values(), Decimal(0)) for x in quotas.lines if x.quarters})
        everyone = set(payee_rows)
        baseline, tally = _Tally(), _Tally()
        steps, done = 2 * len(chosen), 0
        for month in chosen:
            if on_month is not None:
                on_month(done, steps, f"{month}: the store as it stands")
            _ctx, results, _counts = compute(session, month)
            baseline.add(results, month, plan, measure, everyone)
            done += 1
            if on_month is not None:
                on_month(done, steps, f"{month}: the scenario")
            _ctx, results, _counts = compute(session, month, adjust=adjust, plans=candidate)
            tally.add(results, month, plan, measure, everyone)
            done += 1
        if on_month is not None:
            on_month(done, steps, "done")
        names = {x: p.name for x, p in payee_rows.items()}
    base = _figures("baseline", baseline, baseline_quotas, currency)
    label = " + ".join(parts.values())
    figures = _figures(label, tally, scenario_quotas, currency)
    gains, losses = _changes(names, base, figures)
    return ScenarioEvaluation(plan, measure, currency, basis, chosen, parts, base, figures, gains, losses)


def scenario_json(evaluation: ScenarioEvaluation) -> dict[str, Any]:
    """The evaluation as JSON (money as exact strings)."""
    return {
        "plan": evaluation.plan,
        "measure": evaluation.measure,
        "currency": evaluation.currency,
        "basis": evaluation.basis,
        "months": evaluation.months,
        "parts": evaluation.parts,
        "baseline": figures_json(evaluation.baseline),
        "scenario": figures_json(evaluation.scenario),
        "gains": [_json(c.__dict__) for c in evaluation.gains],
        "losses": [_json(c.__dict__) for c in evaluation.losses],
    }
