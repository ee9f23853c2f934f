"""`openspm planning evaluate`: a whole planning scenario (quota draft, territory draft, candidate plan version)
replayed on a year's deals beside the store as it stands."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from openspm.cli.common import open_store, print_json, progress_bar, stdout, user_errors

planning_app = typer.Typer(
    help="Planning scenarios: connected evaluation with the paying engine.", no_args_is_help=True
)


def _share(value: float | None, places: int = 0) -> str:
    return "" if value is None else f"{value:.{places}%}"


@planning_app.command("evaluate")
def evaluate_command(
    quota: int | None = typer.Option(None, "--quota", help="A quota draft id"),
    territories: int | None = typer.Option(None, "--territories", help="A territory draft id"),
    plan_file: Path | None = typer.Option(None, "--plan-file", help="A candidate plan version (YAML)"),
    basis: str | None = typer.Option(None, "--basis", help="The fiscal year whose deals are replayed, e.g. FY2025"),
    plan: str | None = typer.Option(None, "--plan", help="The plan to report (default: the drafts' or the only one)"),
    measure: str | None = typer.Option(None, "--measure", help="The measure to report (default: the plan's first)"),
    as_json: bool = typer.Option(False, "--json"),
    progress: bool = typer.Option(False, "--progress/--no-progress", help="A progress bar on stderr"),
) -> None:
    """Replay the basis year's deals through the engine with the scenario and as the store stands: cost,
    revenue, cost of sales and attainment side by side. Reads only."""
    from openspm.planning.scenario_evaluation import evaluate_scenario, scenario_json

    with user_errors():
        engine = open_store()
        with progress_bar(progress) as bar:
            evaluation = evaluate_scenario(
                engine,
                quota_draft=quota,
                territory_draft=territories,
                plan_file=plan_file,
                basis_year=basis,
                plan=plan,
                measure=measure,
                on_month=(lambda done, total, text: bar("replaying months", done, total)) if bar else None,
            )
    if as_json:
        print_json(scenario_json(evaluation))
        return
    columns = [evaluation.baseline, evaluation.scenario]
    table = Table("", "baseline", "scenario", title=f"{evaluation.plan} · {evaluation.measure} on "
                  f"{evaluation.basis} ({evaluation.months[0]} to {evaluation.months[-1]})")  # fmt: skip
    table.add_row("Σ annual quota", *[f"{c.quota:,}" for c in columns])
    table.add_row("compensation cost", *[", ".join(f"{v:,} {k}" for k, v in c.cost.items()) or "0" for c in columns])
    table.add_row(f"revenue ({evaluation.measure})", *[f"{c.revenue:,}" for c in columns])
    table.add_row("cost of sales", *[_share(c.cost_of_sales, 2) for c in columns])
    table.add_row("payees with a quota", *[str(c.attainment.payees) for c in columns])
    for label, key in (("mean attainment", "mean"), ("p10", "p10"), ("median", "p50"), ("p90", "p90")):
        table.add_row(label, *[_share(getattr(c.attainment, key)) for c in columns])
    table.add_row("at or above quota", *[_share(c.attainment.at_or_above_quota) for c in columns])
    table.add_row("below half their quota", *[str(c.attainment.below_half) for c in columns])
    for part, what in evaluation.parts.items():
        stdout.print(f"{part}: {what}")
    stdout.print(table)
    for title, rows in (("gains", evaluation.gains), ("losses", evaluation.losses)):
        if rows:
            stdout.print(f"{title}: " + "; ".join(f"{x.payee} {x.name} {x.change:+,}" for x in rows))
