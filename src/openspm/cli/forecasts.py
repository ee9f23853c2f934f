"""`openspm forecast series|backtest|accuracy|pipeline|commit|commits`: time-series forecasts, the back-test,
commits and forecast accuracy (see docs/insights.md).

The CLI acts as the operator (like the other commands): it reads and writes the store directly.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import typer

from openspm.cli.common import actor, open_store, print_json, stderr, stdout, user_errors
from openspm.cli.forecast import forecast_app as forecasts_app  # one `openspm forecast` group


def _pct(value: Decimal | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


@forecasts_app.command("series")
def series_command(
    horizon: int = typer.Option(6, "--horizon", min=1, max=24, help="Months to forecast after the newest month"),
    method: list[str] = typer.Option(
        ["auto_ets", "auto_arima", "auto_theta"], "--method", help="auto_ets, auto_arima, auto_theta (repeatable)"
    ),
    first_month: str | None = typer.Option(
        None,
        "--from",
        help="First forecast month, YYYY-MM, learning only from the months before it [default: after the newest]",
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Forecast monthly bookings per company, region and team (with the seasonal-naive baseline) as a job, follow
    it, and store the snapshots. With --from in the past the forecast is scored at once (`forecast accuracy`)."""
    from openspm.jobs.forecasts import submit_forecast
    from openspm.jobs.queue import InProcessQueue

    with user_errors():
        store = open_store()
        queue = InProcessQueue(store)
        try:
            job = submit_forecast(store, queue, horizon, method, actor(), first_month)
            if not as_json:
                stderr.print(f"job {job.id}: {job.message}", highlight=False, soft_wrap=True)
            done = queue.wait(job.id)
        finally:
            queue.shutdown()
    if done.state != "succeeded":
        typer.echo(f"error: forecast job {done.id} failed: {done.error}", err=True)
        raise typer.Exit(1)
    if as_json:
        print_json({"job": done.id, **(done.result or {})})
        return
    result = done.result or {}
    stdout.print(
        f"job {done.id}: {result.get('rows')} forecast rows, {result.get('scopes')} scopes, "
        f"{result.get('horizon')} months from {result.get('first_month')} (batch {result.get('batch')})",
        highlight=False,
    )


@forecasts_app.command("backtest")
def backtest_command(
    holdout_from: str = typer.Option(..., "--holdout-from", help="First held-out month, YYYY-MM (e.g. 2026-07)"),
    holdout_to: str | None = typer.Option(None, "--holdout-to", help="Last held-out month [default: the newest]"),
    scopes: bool = typer.Option(False, "--scopes", help="Also every scope (each region and team)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Train on the months before --holdout-from, forecast the held-out months, and print MAPE, WAPE and bias of
    each method and the seasonal-naive baseline per level (company, region, team)."""
    from sqlalchemy.orm import Session

    from openspm.insights.forecasts import backtest

    with user_errors(), Session(open_store()) as session:
        found = backtest(session, holdout_from, holdout_to)
    if as_json:
        print_json(
            {
                "train": list(found.train),
                "holdout": list(found.holdout),
                "currency": found.currency,
                "levels": [{"level": r.level, "method": r.method, **r.accuracy.as_json()} for r in found.levels],
                "scopes": [{"scope": r.level, "method": r.method, **r.accuracy.as_json()} for r in found.scopes],
                "notes": found.notes,
            }
        )
        return
    stdout.print(
        f"train {found.train[0]}..{found.train[1]}, held out {found.holdout[0]}..{found.holdout[1]} "
        f"(monthly net bookings, {found.currency})",
        highlight=False,
    )
    stdout.print(
        f"{'level':<22} {'method':<15} {'pairs':>5} {'MAPE':>7} {'WAPE':>7} {'bias':>7}",
        highlight=False,
        soft_wrap=True,
    )
    for row in found.levels + (found.scopes if scopes else []):
        a = row.accuracy
        stdout.print(
            f"{row.level:<22} {row.method:<15} {a.n:>5} {_pct(a.mape):>7} {_pct(a.wape):>7} {_pct(a.bias):>7}",
            highlight=False,
            soft_wrap=True,
        )


@forecasts_app.command("accuracy")
def accuracy_command(
    through: str | None = typer.Option(None, "--through", help="Actuals up to this day, exclusive [default: newest]"),
    deals: bool = typer.Option(False, "--deals", help="Also each deal's forecast and outcome"),
    scopes: bool = typer.Option(False, "--scopes", help="Also per scope (each region, team, payee)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """MAPE, WAPE and bias of every stored forecast whose period has ended, per source, method and level."""
    from openspm.core.errors import InvalidInput
    from openspm.insights.forecasts import accuracy_report

    with user_errors():
        try:
            day = date.fromisoformat(through) if through else None
        except ValueError:
            raise InvalidInput(f"--through {through!r}: not a date (expected YYYY-MM-DD)") from None
        report = accuracy_report(open_store(), through=day)
    if as_json:
        print_json(
            {
                "through": report.through.isoformat(),
                "currency": report.currency,
                "pending": report.pending,
                "rows": [
                    {"source": r.source, "method": r.method, "level": r.level, **r.accuracy.as_json()}
                    for r in report.rows
                ],
                "scopes": [
                    {"source": r.source, "method": r.method, "scope": r.level, **r.accuracy.as_json()}
                    for r in report.scopes
                ],
                "deals": [
                    {
                        "deal": d.deal,
                        "close_month": d.close_month,
                        "forecast": format(d.forecast, "f"),
                        "actual": format(d.actual, "f"),
                        "status": d.status,
                        "probability": d.probability,
                    }
                    for d in report.deals
                ],
            }
        )
        return
    stdout.print(
        f"actuals before {report.through.isoformat()}; {report.pending} forecasts still pending",
        highlight=False,
        soft_wrap=True,
    )
    stdout.print(
        f"{'source':<9} {'method':<15} {'level':<14} {'pairs':>5} {'MAPE':>7} {'WAPE':>7} {'bias':>7}",
        highlight=False,
        soft_wrap=True,
    )
    for row in report.rows + (report.scopes if scopes else []):
        a = row.accuracy
        stdout.print(
            f"{row.source:<9} {row.method:<15} {row.level:<14} {a.n:>5} "
            f"{_pct(a.mape):>7} {_pct(a.wape):>7} {_pct(a.bias):>7}",
            highlight=False,
            soft_wrap=True,
        )
    if deals:
        for d in report.deals:
            stdout.print(
                f"  {d.deal:<16} {d.close_month} {d.status:<5} forecast {d.forecast:>14,.2f} actual {d.actual:>14,.2f}",
                highlight=False,
                soft_wrap=True,
            )


@forecasts_app.command("snapshot")
def pipeline_command(
    close_from: str = typer.Option(..., "--from", help="First close date, YYYY-MM-DD"),
    close_to: str = typer.Option(..., "--to", help="End of the close dates, exclusive, YYYY-MM-DD"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Store amount × probability of each open deal closing in the range (deal-level snapshots) and their totals."""
    from openspm.core.errors import InvalidInput
    from openspm.insights.forecasts import snapshot_pipeline

    with user_errors():
        try:
            start, end = date.fromisoformat(close_from), date.fromisoformat(close_to)
        except ValueError:
            raise InvalidInput("--from and --to are dates, YYYY-MM-DD") from None
        result = snapshot_pipeline(open_store(), start=start, end=end, actor=actor())
    if as_json:
        print_json(result)
        return
    stdout.print(
        f"{result['deals']} deals over {result['months']} months stored as {result['batch']}",
        highlight=False,
        soft_wrap=True,
    )


@forecasts_app.command("commit")
def commit_command(
    payee: str = typer.Option(..., "--payee", help="The payee's external id"),
    period: str = typer.Option(..., "--period", help="The period's name, e.g. FY2027-Q1"),
    amount: str = typer.Option(..., "--commit", help="The commit amount (USD)"),
    best_case: str | None = typer.Option(None, "--best-case", help="The best case (USD)"),
    call: bool = typer.Option(False, "--call", help="A manager's call for their team instead of a rep's commit"),
    note: str | None = typer.Option(None, "--note"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Record a rep's commit (or, with --call, a manager's call) for a period; every entry is kept."""
    from sqlalchemy import select

    from openspm.access.forecasts import parse_amount
    from openspm.core.errors import NotFound
    from openspm.insights.commits import enter
    from openspm.store import models as m
    from openspm.store.db import transaction

    with user_errors():
        value = parse_amount(amount, "--commit")
        best = parse_amount(best_case, "--best-case")
        assert value is not None
        with transaction(open_store()) as session:
            pid = session.scalar(select(m.Payee.id).where(m.Payee.external_id == payee))
            if pid is None:
                raise NotFound(f"unknown payee {payee!r}")
            entry = enter(
                session,
                payee_id=pid,
                period=period,
                kind="call" if call else "commit",
                commit=value,
                best_case=best,
                note=note,
                actor=actor(),
            )
    if as_json:
        print_json({"id": entry.id, "payee": entry.payee, "period": entry.period, "kind": entry.kind,
                    "commit": format(entry.commit, "f"),
                    "best_case": None if entry.best_case is None else format(entry.best_case, "f")})  # fmt: skip
        return
    stdout.print(
        f"{entry.kind} {entry.id}: {entry.payee} {entry.period} {entry.commit:,.2f} {entry.currency}",
        highlight=False,
        soft_wrap=True,
    )


@forecasts_app.command("commits")
def commits_command(
    period: str = typer.Option(..., "--period", help="The period's name, e.g. FY2027-Q1"),
    payee: str | None = typer.Option(None, "--payee", help="The manager whose team to roll up [default: the top]"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Commits rolled up the reporting lines: each manager's team commit, call and what they pass up."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from openspm.core.errors import NotFound
    from openspm.insights.commits import rollup, top_managers
    from openspm.store import models as m

    with user_errors(), Session(open_store()) as session:
        if payee is not None:
            pid = session.scalar(select(m.Payee.id).where(m.Payee.external_id == payee))
            if pid is None:
                raise NotFound(f"unknown payee {payee!r}")
            roots = [pid]
        else:
            roots = top_managers(session, period)
        trees = [rollup(session, root, period) for root in roots]
    lines = [(depth, node) for tree in trees for depth, node in tree.walk()]
    if as_json:
        print_json(
            [
                {
                    "payee": n.payee,
                    "name": n.name,
                    "depth": d,
                    "own_commit": None if n.own is None else format(n.own.commit, "f"),
                    "call": None if n.call is None else format(n.call.commit, "f"),
                    "team_commit": format(n.team_commit, "f"),
                    "effective_commit": format(n.effective_commit, "f"),
                    "effective_best_case": format(n.effective_best_case, "f"),
                    "reported": n.reported,
                    "reps": n.reps,
                }
                for d, n in lines
            ]
        )
        return
    for depth, n in lines:
        label = ("  " * depth + n.name)[:40]
        stdout.print(
            f"{label:<40} {n.effective_commit:>14,.2f} best {n.effective_best_case:>14,.2f}  "
            f"{n.reported}/{n.reps} in{'  (call)' if n.call else ''}",
            highlight=False,
            soft_wrap=True,
        )
