"""Plan tests: run a scenario folder in a throwaway store and compare with its expected CSVs.

A scenario folder holds:

    scenario.yaml   calendar: {start_month: 1, years: [2025]}; run: {periods: [FY2025-M03]}; optional
                    steps after the runs, in order: {close: [months]} (approve and close), {import: {kind:
                    file}}, {run: [months]}, {adjust: {payee, plan, period, amount, reason, note}},
                    {release: {payee, plan, component, earned_in, into}}, {accept: {payee, plan, on}}
    plan.yaml       one plan (or plans/*.yaml for several)
    inputs/         CSVs in the import formats (docs/import.md): payees.csv, transactions.csv, ...
    expected/       earnings.csv, and optionally credits.csv, measures.csv, issues.csv, payments.csv and
                    payment_lines.csv (each month's pay: the snapshot of a closed month, else its newest run),
                    accounting.csv (ASC 340-40 costs through `accounting: {through: FY2025-M12}` of
                    scenario.yaml)

`run_scenario(folder, out, engine)` loads the inputs through the real importer
into an embedded store in a temporary folder, registers the plans, runs each
period on the engine (`duckdb` or `spark`; default `OPENSPM_ENGINE`, else
DuckDB; see `openspm.engine.backends`) and writes credits.csv, measures.csv,
earnings.csv and issues.csv to `out`.
`test_scenario` compares each expected file with the actual output on the
columns the expected file has, rows sorted, values as exact text.
"""

from __future__ import annotations

import csv
import difflib
import io
import tempfile
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.accounting import service as accounting_service
from openspm.close import adjustments
from openspm.close import service as lifecycle
from openspm.close.documents import month_documents
from openspm.core.errors import InvalidInput
from openspm.core.money import round_money, to_text
from openspm.engine.backends import engine_name
from openspm.ingest.kinds import KINDS
from openspm.ingest.service import import_file
from openspm.periods.service import create_calendar
from openspm.plans.service import add_plan
from openspm.runs.pay import period_run
from openspm.runs.service import run_period
from openspm.store import models as m
from openspm.store.db import make_engine, migrate

OUTPUTS: dict[str, tuple[str, ...]] = {
    "credits": (
        "plan",
        "transaction",
        "original",
        "payee",
        "role",
        "source",
        "level",
        "share",
        "amount",
        "currency",
        "month",
    ),
    "measures": ("plan", "payee", "period", "measure", "value"),
    "earnings": (
        "plan",
        "payee",
        "period",
        "component",
        "version",
        "measure_period",
        "base",
        "quota",
        "attainment",
        "rate",
        "amount",
        "cut",
        "currency",
    ),
    "issues": ("period", "stage", "subject", "value", "reason"),
    "payments": (
        "plan",
        "payee",
        "period",
        "earned",
        "amount",
        "currency",
        "pay_amount",
        "pay_currency",
        "rate",
        "draw_owed",
        "forgiven_to_date",
        "held",
        "owed_at_termination",
    ),
    "payment_lines": ("plan", "payee", "period", "kind", "amount", "pay_amount", "source", "reason"),
    "accounting": (
        "period",
        "plan",
        "component",
        "payee",
        "contract",
        "amount",
        "currency",
        "treatment",
        "months",
        "monthly",
        "amortized",
        "impaired",
        "remaining",
    ),
}


def exact(value: Decimal | None) -> str:
    """Normalized exact text: 110000, 1.1, 0.08, -100."""
    if value is None:
        return ""
    return to_text(value.normalize()) if value != 0 else "0"


def money_text(value: Decimal | None, scale: int = 2) -> str:
    return "" if value is None else to_text(round_money(value, scale))


@dataclass
class ScenarioOutput:
    folder: Path
    out: Path
    tables: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    import_rejects: list[str] = field(default_factory=list)


def _spec(folder: Path) -> dict[str, Any]:
    path = folder / "scenario.yaml"
    if not path.exists():
        raise InvalidInput(f"{folder}: not a scenario folder (no scenario.yaml)")
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not spec.get("run", {}).get("periods"):
        raise InvalidInput(f"{path} @ run.periods: list the months to run, e.g. [FY2025-M03]")
    return dict(spec)


def _plan_files(folder: Path) -> list[Path]:
    files = [folder / "plan.yaml"] if (folder / "plan.yaml").exists() else []
    files += sorted((folder / "plans").glob("*.yaml")) if (folder / "plans").is_dir() else []
    if not files:
        raise InvalidInput(f"{folder}: no plan.yaml or plans/*.yaml")
    return files


def load_store(folder: Path, tmp: Path) -> tuple[Engine, list[str]]:
    """A migrated SQLite store in `tmp` holding the scenario's calendar, plans and inputs (through the real
    importer), and the import's rejected rows as text."""
    spec = _spec(folder)
    store = make_engine(f"sqlite:///{tmp / 'scenario.db'}")
    migrate(store)
    calendar = spec.get("calendar", {})
    create_calendar(
        store, "fiscal", int(calendar.get("start_month", 1)), calendar.get("years", [2025]), actor="scenario"
    )
    rejects: list[str] = []
    plans_added = False
    for kind in KINDS:
        if kind == "plan_assignments" and not plans_added:
            for path in _plan_files(folder):
                add_plan(store, path, actor="scenario")
            plans_added = True
        path = folder / "inputs" / f"{kind}.csv"
        if path.exists():
            report = import_file(store, kind, path, actor="scenario", rejects_path=tmp / f"{kind}.rejected.csv")
            rejects += [str(i) for i in report.issues]
    return store, rejects


def run_scenario(folder: Path, out: Path | None = None, engine: str | None = None) -> ScenarioOutput:
    """Load, run and write a scenario's outputs (see the module docstring).

    `engine` names the calculation engine ("duckdb" or "spark"); None leaves the choice to the runs service
    (`OPENSPM_ENGINE`, else DuckDB). An unknown name is an InvalidInput before anything runs.
    """
    folder = folder.resolve()
    spec = _spec(folder)
    backend = None if engine is None else engine_name(engine)
    out = (out or folder / "actual").resolve()
    result = ScenarioOutput(folder, out)
    with tempfile.TemporaryDirectory() as tmp:
        store, result.import_rejects = load_store(folder, Path(tmp))
        issues: list[dict[str, str]] = [
            {"period": "", "stage": "import", "subject": r.split(":")[0], "value": "", "reason": r}
            for r in result.import_rejects
        ]
        earnings: list[dict[str, str]] = []
        measures: list[dict[str, str]] = []
        months: list[str] = []
        for period in spec["run"]["periods"]:
            run_period(store, str(period), actor="scenario", backend=backend)
            months.append(str(period))
        for step in spec.get("steps", []):
            months += _step(store, folder, step, backend)
        payments: list[dict[str, str]] = []
        lines: list[dict[str, str]] = []
        with Session(store) as session:
            runs = [period_run(session, month) for month in dict.fromkeys(months)]
            for run in runs:
                for p in session.scalars(select(m.Payment).where(m.Payment.run_id == run.id)):
                    payments.append(
                        {
                            "plan": p.plan,
                            "payee": p.payee,
                            "period": p.period,
                            "earned": money_text(p.earned),
                            "amount": money_text(p.amount),
                            "currency": p.currency,
                            "pay_amount": to_text(p.pay_amount),
                            "pay_currency": p.pay_currency,
                            "rate": exact(p.rate),
                            "draw_owed": money_text(Decimal(p.balance.get("draw_owed", "0"))),
                            "forgiven_to_date": money_text(Decimal(p.balance.get("forgiven_to_date", "0"))),
                            "held": money_text(Decimal(p.balance.get("held_total", "0"))),
                            "owed_at_termination": money_text(
                                None
                                if p.balance.get("owed_at_termination") is None
                                else Decimal(p.balance["owed_at_termination"])
                            ),
                        }
                    )
                    for line in p.lines:
                        lines.append(
                            {
                                "plan": p.plan,
                                "payee": p.payee,
                                "period": p.period,
                                "kind": line["kind"],
                                "amount": money_text(Decimal(line["amount"])),
                                "pay_amount": line["pay_amount"],
                                "source": ";".join(f"{k}={v}" for k, v in sorted(line["source"].items())),
                                "reason": line["reason"],
                            }
                        )
            for run in runs:
                for e in session.scalars(select(m.RunEarning).where(m.RunEarning.run_id == run.id)):
                    scale = int(e.trace.get("rounding_scale", 2)) if isinstance(e.trace, dict) else 2
                    earnings.append(
                        {
                            "plan": e.plan,
                            "payee": e.payee,
                            "period": e.period,
                            "component": e.component,
                            "version": str(e.trace.get("plan_version", "")),
                            "measure_period": e.measure_period,
                            "base": exact(e.base),
                            "quota": money_text(e.quota),
                            "attainment": exact(e.attainment),
                            "rate": exact(e.rate),
                            "amount": money_text(e.amount, scale),
                            "cut": money_text(e.cut, scale),
                            "currency": e.currency,
                        }
                    )
                for x in session.scalars(select(m.RunMeasure).where(m.RunMeasure.run_id == run.id)):
                    measures.append(
                        {
                            "plan": x.plan,
                            "payee": x.payee,
                            "period": x.period,
                            "measure": x.measure,
                            "value": exact(x.value),
                        }
                    )
                for i in session.scalars(select(m.RunIssue).where(m.RunIssue.run_id == run.id)):
                    issues.append(
                        {
                            "period": run.period,
                            "stage": i.stage,
                            "subject": i.subject,
                            "value": i.value,
                            "reason": i.reason,
                        }
                    )
            credits = [
                {
                    "plan": c.plan,
                    "transaction": c.transaction,
                    "original": c.original or "",
                    "payee": c.payee,
                    "role": c.role,
                    "source": c.source,
                    "level": str(c.level),
                    "share": exact(c.share),
                    "amount": exact(c.amount),
                    "currency": c.currency,
                    "month": c.month,
                }
                for c in session.scalars(select(m.RunCredit).order_by(m.RunCredit.id))
            ]
        accounting: list[dict[str, str]] = []
        if spec.get("accounting", {}).get("through"):
            book = accounting_service.book(store, str(spec["accounting"]["through"]))
            wanted = OUTPUTS["accounting"]
            accounting = [
                {k: v for k, v in row.items() if k in wanted} for row in accounting_service.schedule_rows(book)
            ]
        store.dispose()
    unique_measures = {tuple(r.values()): r for r in measures}
    credits = list({tuple(r.values()): r for r in credits}.values())
    result.tables = {
        "credits": credits,
        "measures": list(unique_measures.values()),
        "earnings": earnings,
        "issues": issues,
        "payments": payments,
        "payment_lines": lines,
        "accounting": accounting,
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in result.tables.items():
        _write(out / f"{name}.csv", OUTPUTS[name], rows)
    return result


def _step(store: Engine, folder: Path, step: dict[str, Any], backend: str | None) -> list[str]:
    """Carry out one scenario step (see the module docstring); returns the months it ran."""
    if not isinstance(step, dict) or len(step) != 1:
        raise InvalidInput(f"{folder}/scenario.yaml @ steps: each step is one of {', '.join(STEPS)}, not {step!r}")
    ((kind, args),) = step.items()
    if kind == "run":
        for month in args:
            run_period(store, str(month), actor="scenario", backend=backend)
        return [str(month) for month in args]
    if kind == "close":
        for month in args:
            lifecycle.approve(store, str(month), "scenario")
            lifecycle.close(store, str(month), "scenario", month_documents)
    elif kind == "import":
        for name, file in args.items():
            report = import_file(store, name, folder / file, actor="scenario")
            if report.rejected:
                raise InvalidInput(f"{folder / file}: {report.rejected} rows rejected: {report.issues[0]}")
    elif kind == "adjust":
        adjustments.add_adjustment(
            store,
            payee=args["payee"],
            plan=args["plan"],
            period=args["period"],
            amount=Decimal(str(args["amount"])),
            reason_code=args.get("reason", "correction"),
            actor="scenario",
            note=args.get("note"),
        )
    elif kind == "release":
        adjustments.release_hold(
            store,
            plan=args["plan"],
            payee=args["payee"],
            component=args["component"],
            origin=args["earned_in"],
            into=args["into"],
            actor="scenario",
            note=args.get("note"),
        )
    elif kind == "accept":
        on = args["on"] if isinstance(args["on"], date) else date.fromisoformat(str(args["on"]))
        adjustments.accept_plan(store, payee=args["payee"], plan=args["plan"], version=None, on=on, actor="scenario")
    else:
        raise InvalidInput(f"{folder}/scenario.yaml @ steps: unknown step {kind!r}; use one of {', '.join(STEPS)}")
    return []


STEPS = ("run", "close", "import", "adjust", "release", "accept")


def _write(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(sorted(rows, key=lambda r: tuple(r[c] for c in columns)))
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.DictReader(stream)
        return list(reader.fieldnames or []), list(reader)


def _lines(columns: list[str], rows: list[dict[str, str]]) -> list[str]:
    projected = sorted(tuple(r.get(c, "") for c in columns) for r in rows)
    return [",".join(columns)] + [",".join(p) for p in projected]


@dataclass
class ScenarioCheck:
    name: str
    differences: dict[str, str]  # file → unified diff

    @property
    def passed(self) -> bool:
        return not self.differences


def test_scenario(
    folder: Path, out: Path | None = None, update: bool = False, engine: str | None = None
) -> ScenarioCheck:
    """Run a scenario on `engine` (see `run_scenario`) and compare with expected/; with `update`, rewrite
    expected/ from the output instead."""
    return compare_expected(folder, run_scenario(folder, out, engine), update)


def compare_expected(folder: Path, result: ScenarioOutput, update: bool = False) -> ScenarioCheck:
    """Compare a scenario's output with its expected/ CSVs (on the columns each has, rows sorted, exact text);
    with `update`, rewrite the expected files that differ instead."""
    expected_dir = folder / "expected"
    differences: dict[str, str] = {}
    files = sorted(expected_dir.glob("*.csv")) if expected_dir.is_dir() else []
    if not files:
        raise InvalidInput(f"{folder}: no expected/*.csv to compare with")
    for path in files:
        name = path.stem
        if name not in result.tables:
            raise InvalidInput(f"{path}: unknown output {name!r}; expected files are {', '.join(OUTPUTS)}")
        columns, expected_rows = _read(path)
        unknown = [c for c in columns if c not in OUTPUTS[name]]
        if unknown:
            raise InvalidInput(f"{path}: unknown column {unknown[0]!r}; {name}.csv has {', '.join(OUTPUTS[name])}")
        want = _lines(columns, expected_rows)
        got = _lines(columns, result.tables[name])
        if want != got:
            if update:
                path.write_text("\n".join(got) + "\n", encoding="utf-8")
                continue
            diff = difflib.unified_diff(want, got, f"expected/{path.name}", f"actual/{path.name}", lineterm="")
            differences[path.name] = "\n".join(diff)
    return ScenarioCheck(folder.name, differences)


test_scenario.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite the name
