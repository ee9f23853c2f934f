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

from dataclasses import dataclass, field
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
    names: dict[str, str] = field(default_factory=dict, repr=False)  # payee → name, for every payee paid


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


@dataclass(frozen=True)
class ScenarioSetup:
    """What an evaluation will replay, checked before any month is: the reported plan and measure, the basis
    and its months, the parts, and the inputs for the scenario's runs."""

    plan: str
    measure: str
    currency: str
    basis: str
    months: list[str]
    parts: dict[str, str]
    adjust: Adjust | None
    candidate: dict[str, PlanDocument] | None
    baseline_quotas: dict[str, Decimal]
    scenario_quotas: dict[str, Decimal]
    names: dict[str, str]


def prepare_scenario(
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
) -> ScenarioSetup:
    """Read and check the parts of a scenario (InvalidInput, NotFound, PlanError naming the key) and choose the
    plan, measure and basis (see the module docstring), without replaying anything: fast enough to run before a
    job is queued."""
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
        names = {x: p.name for x, p in payee_rows.items()}
    return ScenarioSetup(
        plan,
        measure,
        currency,
        basis,
        chosen,
        parts,
        _chain(adjusters),
        {document.plan: document} if document is not None else None,
        baseline_quotas,
        scenario_quotas,
        names,
    )


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
    setup = prepare_scenario(
        engine,
        quota_draft=quota_draft,
        territory_draft=territory_draft,
        plan_file=plan_file,
        plan_text=plan_text,
        basis_year=basis_year,
        months=months,
        plan=plan,
        measure=measure,
    )
    return replay_scenario(engine, setup, on_month)


def replay_scenario(engine: Engine, setup: ScenarioSetup, on_month: OnMonth | None = None) -> ScenarioEvaluation:
    """Replay a prepared scenario's months twice each (the store as it stands, then the scenario) and summarise
    both columns with who gains and who loses. Reads only."""
    plan, measure, chosen = setup.plan, setup.measure, setup.months
    everyone = set(setup.names)
    baseline, tally = _Tally(), _Tally()
    steps, done = 2 * len(chosen), 0
    with Session(engine) as session:
        for month in chosen:
            if on_month is not None:
                on_month(done, steps, f"{month}: the store as it stands")
            _ctx, results, _counts = compute(session, month)
            baseline.add(results, month, plan, measure, everyone)
            done += 1
            if on_month is not None:
                on_month(done, steps, f"{month}: the scenario")
            _ctx, results, _counts = compute(session, month, adjust=setup.adjust, plans=setup.candidate)
            tally.add(results, month, plan, measure, everyone)
            done += 1
    if on_month is not None:
        on_month(done, steps, "done")
    base = _figures("baseline", baseline, setup.baseline_quotas, setup.currency)
    label = " + ".join(setup.parts.values())
    figures = _figures(label, tally, setup.scenario_quotas, setup.currency)
    gains, losses = _changes(setup.names, base, figures)
    paid = {p: setup.names.get(p, p) for p in sorted(set(base.per_payee) | set(figures.per_payee))}
    return ScenarioEvaluation(
        plan, measure, setup.currency, setup.basis, chosen, setup.parts, base, figures, gains, losses, paid
    )


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


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


def scenario_choices(engine: Engine) -> dict[str, list[Choice]]:
    """What a scenario can be made of, newest first: quota drafts and territory drafts not discarded, every stored
    plan version (`plan:version`) and the fiscal years (basis)."""
    with Session(engine) as session:
        drafts = session.execute(
            select(m.PlanningScenario.id, m.PlanningScenario.kind, m.PlanningScenario.name, m.PlanningScenario.year,
                   m.PlanningScenario.status)
            .where(m.PlanningScenario.status != "discarded")
            .order_by(m.PlanningScenario.id.desc())
        ).all()  # fmt: skip
        versions = session.execute(
            select(m.Plan.external_id, m.PlanVersion.version, m.PlanVersion.effective_from)
            .join(m.PlanVersion, m.PlanVersion.plan_id == m.Plan.id)
            .order_by(m.Plan.external_id, m.PlanVersion.version.desc())
        ).all()
        years = list(session.scalars(select(m.Period.name).where(m.Period.kind == "year").order_by(m.Period.name)))
    return {
        "quota_drafts": [
            Choice(str(i), f"#{i} {name} ({year}, {status})")
            for i, kind, name, year, status in drafts
            if kind == "quota"
        ],
        "territory_drafts": [
            Choice(str(i), f"#{i} {name} ({status})") for i, kind, name, _y, status in drafts if kind == "territory"
        ],
        "plan_versions": [
            Choice(f"{plan}:{version}", f"{plan} v{version} (from {start.isoformat()})")
            for plan, version, start in versions
        ],
        "years": [Choice(y, y) for y in years],
    }


# --- results kept by a job, and several compared ------------------------------------------------------------

WIDTH, TOP_SHARE = 0.1, 2.0  # attainment buckets of 10 points, the last one "200% and more"
HISTOGRAM_LABELS = [f"{round(i * WIDTH * 100)}–{round((i + 1) * WIDTH * 100)}%" for i in range(int(TOP_SHARE / WIDTH))]
HISTOGRAM_LABELS.append(f"≥{round(TOP_SHARE * 100)}%")


def histogram(values: list[float]) -> list[int]:
    """How many attainments fall in each bucket of `HISTOGRAM_LABELS`: [0, 0.1), [0.1, 0.2) ... [1.9, 2.0), then
    2.0 and over (a negative attainment, after returns, counts in the first). E.g. [0.05, 0.95, 1.0, 2.5] →
    bucket 0: 1, bucket 9: 1, bucket 10: 1, last: 1."""
    counts = [0] * len(HISTOGRAM_LABELS)
    for value in values:
        index = int(value / WIDTH + 1e-9) if value > 0 else 0
        counts[min(index, len(counts) - 1)] += 1
    return counts


def evaluation_result(evaluation: ScenarioEvaluation) -> dict[str, Any]:
    """What a scenario-evaluation job keeps: `scenario_json`, plus each column's attainment histogram and every
    payee's cost (exact strings) so that evaluations can be compared later, and the payees' names."""
    columns = {"baseline": evaluation.baseline, "scenario": evaluation.scenario}
    return {
        **scenario_json(evaluation),
        "histogram": {
            "labels": HISTOGRAM_LABELS,
            **{k: histogram(list(f.attainments.values())) for k, f in columns.items()},
        },
        "per_payee": {k: {p: _json(a) for p, a in sorted(f.per_payee.items())} for k, f in columns.items()},
        "names": dict(evaluation.names),
    }


@dataclass(frozen=True)
class ComparedColumn:
    """One column of a comparison: the baseline or an evaluated scenario, with its change from the baseline."""

    label: str
    job: int | None  # the evaluation job (None: the baseline)
    quota: Decimal
    cost: Decimal  # in the plan currency
    revenue: Decimal
    cost_of_sales: float | None
    attainment: dict[str, Any]
    histogram: list[int]
    quota_change: Decimal
    cost_change: Decimal
    cost_of_sales_change: float | None  # percentage points as a fraction


@dataclass(frozen=True)
class ComparedPayee:
    payee: str
    name: str
    baseline: Decimal
    scenarios: list[Decimal]  # one per scenario column
    changes: list[Decimal]


@dataclass(frozen=True)
class Comparison:
    """Evaluated scenarios side by side on one basis: the baseline first, then each scenario; the payees whose
    cost changes most in any of them."""

    plan: str
    measure: str
    currency: str
    basis: str
    months: list[str]
    columns: list[ComparedColumn]
    payees: list[ComparedPayee]
    same_baseline: bool  # False: the store changed between the evaluations (each delta is still against its own)
    labels: list[str]


def compare_evaluations(results: list[tuple[int, str, dict[str, Any]]], top: int = 20) -> Comparison:
    """Compare kept evaluations (`(job id, label, evaluation_result)`) on one plan, measure and basis months.

    Columns: the first evaluation's baseline, then each scenario with its change from its own baseline (so the
    deltas stay right if the store moved between evaluations; `same_baseline` says whether it did). Payees: the
    `top` whose cost changes most (largest absolute change in any scenario), each scenario's cost and change.
    InvalidInput for none, or for evaluations of different plans, measures or months."""
    if not results:
        raise InvalidInput("pick at least one evaluated scenario to compare")
    first = results[0][2]
    key = (first["plan"], first["measure"], first["basis"], first["months"])
    for job, _label, result in results[1:]:
        if (result["plan"], result["measure"], result["basis"], result["months"]) != key:
            raise InvalidInput(
                f"evaluation {job} is of {result['plan']} · {result['measure']} on {result['basis']}, not "
                f"{first['plan']} · {first['measure']} on {first['basis']} with the same months: compare like with like"
            )
    currency = first["currency"]

    def money(figures: dict[str, Any], name: str) -> Decimal:
        if name == "cost":
            return Decimal(figures["cost"].get(currency, "0"))
        return Decimal(figures[name])

    def column(label: str, job: int | None, f: dict[str, Any], base: dict[str, Any], counts: list[int]) -> Any:
        share, base_share = f["cost_of_sales"], base["cost_of_sales"]
        return ComparedColumn(
            label,
            job,
            money(f, "quota"),
            money(f, "cost"),
            money(f, "revenue"),
            share,
            f["attainment"],
            counts,
            money(f, "quota") - money(base, "quota"),
            money(f, "cost") - money(base, "cost"),
            share - base_share if share is not None and base_share is not None else None,
        )

    columns = [column("baseline", None, first["baseline"], first["baseline"], first["histogram"]["baseline"])]
    columns += [
        column(label, job, r["scenario"], r["baseline"], r["histogram"]["scenario"]) for job, label, r in results
    ]
    same = all(r["baseline"]["cost"] == first["baseline"]["cost"] for _j, _l, r in results)
    names: dict[str, str] = {}
    for _j, _l, r in results:
        names |= r.get("names", {})
    base_cost = {p: Decimal(a) for p, a in first["per_payee"]["baseline"].items()}
    rows = []
    for payee in sorted(names | base_cost.keys()):
        costs = [Decimal(r["per_payee"]["scenario"].get(payee, "0")) for _j, _l, r in results]
        own = [Decimal(r["per_payee"]["baseline"].get(payee, "0")) for _j, _l, r in results]
        changes = [c - b for c, b in zip(costs, own, strict=True)]
        if any(changes):
            rows.append(ComparedPayee(payee, names.get(payee, payee), base_cost.get(payee, Decimal(0)), costs, changes))
    rows.sort(key=lambda x: (-max(abs(c) for c in x.changes), x.payee))
    return Comparison(
        first["plan"], first["measure"], currency, first["basis"], list(first["months"]), columns, rows[:top], same,
        list(first["histogram"]["labels"]),
    )  # fmt: skip
