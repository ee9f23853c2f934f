"""`openspm plan`, `run`, `explain`, `diff` and `scenario`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from openspm.cli.common import actor, open_store, print_json, stderr, stdout, user_errors
from openspm.core.money import to_text

ENGINE_OPTION = typer.Option(
    None,
    "--engine",
    help="Calculation engine: duckdb or spark (default: OPENSPM_ENGINE, else duckdb; see docs/spark.md)",
    metavar="duckdb|spark",
)

plan_app = typer.Typer(help="Plan files: check, publish as a version, JSON Schema.", no_args_is_help=True)
scenario_app = typer.Typer(help="Plan tests: scenario folders with expected results.", no_args_is_help=True)


def _t(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "normalize"):
        return to_text(value)
    return str(value)


@plan_app.command("check")
def plan_check(files: list[Path] = typer.Argument(..., help="Plan YAML files")) -> None:
    """Check plan files: schema, references and expressions. One line per file."""
    from openspm.plan.load import load_plan

    with user_errors():
        for path in files:
            plan = load_plan(path)
            typer.echo(
                f"{path}: ok ({plan.plan} {plan.name!r}, {len(plan.measures)} measures, "
                f"{len(plan.components)} components)"
            )


@plan_app.command("add")
def plan_add(files: list[Path] = typer.Argument(..., help="Plan YAML files")) -> None:
    """Check plan files and store each as its plan's next version."""
    from openspm.plans.service import add_plan

    with user_errors():
        engine = open_store()
        for path in files:
            added = add_plan(engine, path, actor=actor())
            verb = "added as version" if added.created else "unchanged, still version"
            typer.echo(f"{path}: plan {added.plan} {verb} {added.version}")


@plan_app.command("schema")
def plan_schema() -> None:
    """Print the JSON Schema of plan files."""
    from openspm.plan.load import plan_json_schema

    typer.echo(json.dumps(plan_json_schema(), indent=2, sort_keys=True))


def run_command(
    period: list[str] = typer.Option([], "--period", "-p", help="Month to pay, e.g. FY2025-M03 (repeatable)"),
    year: str | None = typer.Option(None, "--year", help="Every month of a fiscal year, e.g. FY2025"),
    every: bool = typer.Option(False, "--all", help="Every month from the first to the last with transactions"),
    payee: list[str] = typer.Option([], "--payee", help="Only these payees (repeatable)"),
    engine: str | None = ENGINE_OPTION,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Compute months and store each as a new run (a failed run leaves earlier runs intact)."""
    from openspm.runs.pay import closed_months
    from openspm.runs.service import RunSummary, months_with_data, run_period

    summaries: list[RunSummary] = []
    with user_errors():
        backend = _engine(engine)
        store = open_store()
        months = list(period)
        if year is not None or every:
            closed = closed_months(store)
            wanted = months_with_data(store, year)
            months += [m for m in wanted if m not in closed]
            skipped = [m for m in wanted if m in closed]
            if skipped and not as_json:
                typer.echo(f"skipped {len(skipped)} closed months ({skipped[0]} .. {skipped[-1]}): they never change")
        if not months:
            from openspm.core.errors import InvalidInput

            raise InvalidInput("say which months to run: --period FY2025-M03, --year FY2025 or --all")
        show = not as_json and stderr.is_terminal
        columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[stage]}"))
        with Progress(
            TextColumn("{task.description}"), *columns, console=stderr, transient=True, disable=not show
        ) as bar:
            task = bar.add_task("running", total=len(months), stage="")
            for month in months:
                bar.update(task, description=f"run {month}")

                def stage(text: str) -> None:
                    bar.update(task, stage=text)

                summaries.append(
                    run_period(store, month, actor=actor(), payees=payee or None, on_stage=stage, backend=backend)
                )
                bar.advance(task)
                if not as_json:
                    _print_summary(summaries[-1], verbose=len(months) == 1)
    if as_json:
        print_json([s.as_dict() for s in summaries] if len(summaries) > 1 else summaries[0].as_dict())


def _engine(engine: str | None) -> str | None:
    """The --engine name, checked (duckdb or spark); None leaves the choice to OPENSPM_ENGINE, else DuckDB."""
    from openspm.engine.backends import engine_name

    return None if engine is None else engine_name(engine)


def _print_summary(summary: Any, verbose: bool) -> None:
    totals = ", ".join(f"{to_text(v)} {k}" for k, v in summary.total.items()) or "0"
    typer.echo(
        f"run {summary.run_id} {summary.period}: {summary.payees} payees, {summary.credits} credits, "
        f"{summary.earnings} earnings, total {totals}; {summary.issues} issues; {summary.seconds:.2f}s"
    )
    if verbose:
        for stage, seconds in summary.timings.items():
            typer.echo(f"  {stage:<40} {seconds:8.3f}s")


def explain_command(
    payee: str = typer.Option(..., "--payee", help="Payee id"),
    period: str = typer.Option(..., "--period", "-p", help="Month, e.g. FY2025-M03"),
    run: int | None = typer.Option(None, "--run", help="A run id (default: the newest completed run of the month)"),
    credits: int = typer.Option(10, "--credits", help="How many credits to list per earning"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Explain each earning: rule, measure, attainment, tier arithmetic, and the credits behind it."""
    from openspm.runs.reports import explain

    with user_errors():
        result = explain(open_store(), payee, period, run)
    if as_json:
        print_json(
            {
                "run": result.run_id,
                "period": result.period,
                "payee": result.payee,
                "earnings": json.loads(json.dumps(result.earnings, default=str)),
                "total": {k: str(v) for k, v in result.total.items()},
            }
        )
        return
    typer.echo(f"{payee} · {result.period} · run {result.run_id}")
    for e in result.earnings:
        trace = e["trace"]
        typer.echo(
            f"\n{e['plan']} / {e['component']} ({trace.get('kind')}), measured over {e['measure_period']}: "
            f"{_t(e['amount'])} {e['currency']}"
        )
        if "measure" in trace:
            line = f"  {trace['measure']} = {trace.get('base')}"
            if trace.get("quota") is not None:
                line += f"; quota {trace['quota']}; attainment {trace.get('attainment')}"
            typer.echo(line)
        for tier in trace.get("lines", [])[:20]:
            if "portion" in tier:
                upper = tier["to"] if tier["to"] is not None else "∞"
                typer.echo(f"  band [{tier['from']}, {upper}): {tier['portion']} × {tier['rate']} = {tier['amount']}")
            elif "transaction" in tier:
                typer.echo("  " + ", ".join(f"{k} {v}" for k, v in tier.items() if k != "tiers"))
        if trace.get("rate") is not None and not trace.get("lines"):
            typer.echo(f"  rate {trace['rate']} → {trace.get('unrounded')}")
        for multiplier in trace.get("multipliers", []):
            typer.echo(f"  × {multiplier['factor']} because {multiplier['when']}")
        if "gate" in trace:
            typer.echo(f"  gate {trace['gate']['when']}: {'passed' if trace['gate']['passed'] else 'not passed → 0'}")
        if "when" in trace:
            typer.echo(f"  condition {trace['when']}: {'holds' if trace.get('holds') else 'does not hold → 0'}")
        if "cap" in trace:
            cap = trace["cap"]
            typer.echo(f"  cap {cap['limit']} per {cap['per']} (already paid {cap['already_paid']}): cut {cap['cut']}")
        if "true_up" in trace:
            up = trace["true_up"]
            typer.echo(
                f"  rounded {trace.get('rounding_mode')} to {trace.get('rounding_scale')} places: "
                f"{trace.get('unrounded')} → {up['to_date']} earned to date"
            )
            typer.echo(f"  true-up: {up['to_date']} to date − {up['earned_before']} earned before = {_t(e['amount'])}")
        else:
            typer.echo(
                f"  rounded {trace.get('rounding_mode')} to {trace.get('rounding_scale')} places: "
                f"{trace.get('unrounded')} → {_t(e['amount'])}"
            )
        behind = e["credits"]
        summary = trace.get("credits") or {}
        if summary.get("count") and len(behind) != summary["count"]:
            typer.echo(
                f"  {summary['count']} credits add up to {summary.get('value')}; the stored credits of "
                f"{', '.join(summary.get('months', []))} hold {len(behind)} of them (re-run those months to refresh)"
            )
        if behind:
            total = sum((_decimal(c["amount"]) for c in behind), _decimal("0"))
            typer.echo(f"  {len(behind)} credits add up to {to_text(total)}:")
            for c in behind[:credits]:
                typer.echo(f"    {c['date']} {c['transaction']:<14} {c['role']:<8} share {c['share']:<6} {c['amount']}")
            if len(behind) > credits:
                typer.echo(f"    ... {len(behind) - credits} more (--credits N, or --json)")
    totals = ", ".join(f"{to_text(v)} {k}" for k, v in result.total.items())
    typer.echo(f"\ntotal {totals}")


def _decimal(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)


def diff_command(
    run_a: int = typer.Argument(..., help="Run id before"),
    run_b: int = typer.Argument(..., help="Run id after"),
    limit: int = typer.Option(20, "--limit", help="How many payees to list"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Compare two runs: who changed, by how much, and which component."""
    from openspm.runs.reports import diff

    with user_errors():
        result = diff(open_store(), run_a, run_b)
    rows = result.by_payee()
    if as_json:
        print_json(
            {
                "run_a": run_a,
                "run_b": run_b,
                "payees_compared": result.payees_compared,
                "payees_changed": len(rows),
                "total_before": str(result.total_before),
                "total_after": str(result.total_after),
                "changes": [
                    {
                        "payee": p,
                        "change": str(c),
                        "components": [
                            {"plan": d.plan, "component": d.component, "before": str(d.before), "after": str(d.after)}
                            for d in ds
                        ],
                    }
                    for p, c, ds in rows
                ],
            }
        )
        return
    typer.echo(
        f"runs {run_a} → {run_b}: {len(rows)} of {result.payees_compared} payees changed; "
        f"total {to_text(result.total_before)} → {to_text(result.total_after)} "
        f"({to_text(result.total_after - result.total_before)})"
    )
    table = Table(title_justify="left")
    for header in ("payee", "change", "components"):
        table.add_column(header, justify="right" if header == "change" else "left")
    for payee, change, ds in rows[:limit]:
        parts = "; ".join(f"{d.plan}/{d.component} {to_text(d.before)} → {to_text(d.after)}" for d in ds)
        table.add_row(payee, to_text(change), parts)
    if rows:
        stdout.print(table)


@scenario_app.command("run")
def scenario_run(
    folder: Path = typer.Argument(..., help="Scenario folder"),
    out: Path | None = typer.Option(None, "--out", help="Where to write the CSVs (default FOLDER/actual)"),
    engine: str | None = ENGINE_OPTION,
) -> None:
    """Run a scenario in a throwaway store and write credits, measures, earnings and issues as CSVs."""
    from openspm.scenarios.service import run_scenario

    with user_errors():
        result = run_scenario(folder, out, engine)
    for name, rows in result.tables.items():
        typer.echo(f"{result.out / (name + '.csv')}: {len(rows)} rows")


@scenario_app.command("test")
def scenario_test(
    folders: list[Path] = typer.Argument(..., help="Scenario folders"),
    update: bool = typer.Option(False, "--update", help="Rewrite expected/ from the results (review the diff!)"),
    engine: str | None = ENGINE_OPTION,
) -> None:
    """Run scenarios and compare with their expected/ CSVs exactly; show a diff when they differ."""
    from openspm.scenarios.service import test_scenario

    failed = 0
    with user_errors():
        for folder in folders:
            check = test_scenario(folder, update=update, engine=engine)
            if check.passed:
                typer.echo(f"PASS {folder}")
                continue
            failed += 1
            typer.echo(f"FAIL {folder}")
            for diff in check.differences.values():
                typer.echo(diff)
    if failed:
        typer.echo(f"{failed} of {len(folders)} scenarios failed", err=True)
        raise typer.Exit(1)
