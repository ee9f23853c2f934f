"""The `openspm` command line: a thin face over the services."""

from __future__ import annotations

import typer

from openspm.cli import (
    calc,
    close,
    demo,
    imports,
    store,
    territory_scenarios,  # noqa: F401  (registers territory draft, show, list, ...)
)
from openspm.cli import forecasts as _forecasts  # noqa: F401  (registers series, backtest, accuracy, snapshot, commit(s) on `forecast`)
from openspm.cli.accounting import accounting_app
from openspm.cli.disputes import dispute_app
from openspm.cli.exports import export_app
from openspm.cli.feedback import feedback_app
from openspm.cli.forecast import forecast_app
from openspm.cli.gamification import badges_app, contest_app, leaderboard_command
from openspm.cli.insights import insights_app
from openspm.cli.jobs import job_app
from openspm.cli.plan_modeling import model_command
from openspm.cli.planning import accounts_app, capacity_app, quota_app
from openspm.cli.scenario_evaluation import planning_app
from openspm.cli.statements import statement_command, statements_command
from openspm.cli.territory import territory_app
from openspm.cli.users import token_app, user_app
from openspm.cli.whatif import whatif_app

app = typer.Typer(
    name="openspm",
    help="openspm: open-source Sales Performance Management.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("import", help="Load a CSV, Excel or Parquet file into the store.")(imports.import_command)
app.command("kinds")(imports.kinds_command)
app.command("imports")(imports.imports_command)
app.add_typer(store.db_app, name="db")
app.add_typer(store.calendar_app, name="calendar")
app.command("status")(store.status_command)
app.command("audit")(store.audit_command)
app.command("serve")(store.serve_command)
app.add_typer(calc.plan_app, name="plan")
app.command("run")(calc.run_command)
app.command("explain")(calc.explain_command)
app.command("diff")(calc.diff_command)
app.add_typer(calc.scenario_app, name="scenario")
app.command("demo")(demo.demo_command)
app.add_typer(close.period_app, name="period")
app.add_typer(accounting_app, name="accounting")
app.add_typer(export_app, name="export")
app.add_typer(close.adjust_app, name="adjust")
app.add_typer(close.hold_app, name="hold")
app.add_typer(quota_app, name="quota")
app.add_typer(accounts_app, name="accounts")
app.add_typer(capacity_app, name="capacity")
app.command("payments")(close.payments_command)
calc.plan_app.command("accept")(close.accept_command)
calc.plan_app.command("model")(model_command)
app.command("statement")(statement_command)
app.command("statements")(statements_command)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(dispute_app, name="dispute")
app.add_typer(feedback_app, name="feedback")
app.add_typer(job_app, name="job")
app.add_typer(territory_app, name="territory")
app.add_typer(planning_app, name="planning")
app.add_typer(forecast_app, name="forecast")
app.add_typer(insights_app, name="insights")
app.add_typer(whatif_app, name="what-if")
app.command("leaderboard")(leaderboard_command)
app.add_typer(contest_app, name="contest")
app.add_typer(badges_app, name="badges")


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    run()
