"""`openspm forecast`: the pipeline-weighted forecast, win probabilities of open deals, and the model's
calibration on a time-based hold-out (a reliability diagram as SVG and PNG). Reads only."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from openspm.cli.common import open_store, print_json, stderr, stdout, user_errors
from openspm.core.dates import parse_date
from openspm.core.errors import InvalidInput

forecast_app = typer.Typer(
    help="Forecasting: pipeline × win probability, time series, commits and accuracy (MAPE, WAPE, bias).",
    no_args_is_help=True,
)
CHROMIUM = os.environ.get("OPENSPM_CHROMIUM", "/usr/bin/chromium")


def _day(text: str | None, what: str) -> date | None:
    if not text:
        return None
    try:
        return parse_date(text)
    except ValueError:
        raise InvalidInput(f"{what} {text!r}: not a date (expected YYYY-MM-DD)") from None


def _share(value: object) -> str:
    return "" if value is None else f"{float(str(value)):.0%}"


@forecast_app.command("pipeline")
def pipeline_command(
    period: str = typer.Option("month", "--period", help="month or quarter of expected close"),
    by: str = typer.Option("none", "--by", help="none, rep, team or region"),
    as_of: str | None = typer.Option(None, "--as-of", help="Learn from deals closed before this day (YYYY-MM-DD)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Open pipeline per period of expected close, weighted by the CRM's probability, the stage rates from
    history and the calibrated model."""
    from sqlalchemy.orm import Session

    from openspm.insights.forecast_json import forecast_row_json
    from openspm.insights.pipeline import pipeline_forecast, totals

    with user_errors():
        engine = open_store()
        with Session(engine) as session:
            rows = pipeline_forecast(session, as_of=_day(as_of, "--as-of"), period=period, by=by)
    total = totals(rows)
    if as_json:
        print_json({"rows": [forecast_row_json(r) for r in rows], "total": total and forecast_row_json(total)})
        return
    currency = rows[0].currency if rows else "USD"
    table = Table(period, *([by] if by != "none" else []), "deals", "pipeline", "CRM", "stage", "model",
                  title=f"Pipeline-weighted forecast ({currency})")  # fmt: skip
    for r in [*rows, *([total] if total else [])]:
        name = f"{r.period} (past due)" if r.past_due else r.period
        money = [f"{x:,}" for x in (r.pipeline, r.crm, r.stage, r.model)]
        table.add_row(name, *([r.group] if by != "none" else []), str(r.deals), *money)
    stdout.print(table)


@forecast_app.command("win-probability")
def win_probability_command(
    as_of: str | None = typer.Option(None, "--as-of", help="Learn from deals closed before this day (YYYY-MM-DD)"),
    limit: int = typer.Option(20, "--limit", help="Deals to print (the largest model-weighted amounts)"),
    top: int = typer.Option(3, "--top", help="Features behind each score to print"),
    as_json: bool = typer.Option(False, "--json", help="Every open deal, with every feature's contribution"),
) -> None:
    """P(win) of open deals: the CRM's, the stage rate from history, the calibrated model's and the features
    behind it (log-odds contributions; positive raises the chance)."""
    from sqlalchemy.orm import Session

    from openspm.insights.forecast_json import score_json
    from openspm.insights.win_probability import load_deals, score_deals

    with user_errors():
        engine = open_store()
        with Session(engine) as session:
            deals = load_deals(session)
        scores = score_deals(deals, _day(as_of, "--as-of"))
    if as_json:
        print_json({"deals": [score_json(s) for s in scores]})
        return
    scores.sort(key=lambda s: (-(s.deal.amount_reporting * s.probability), s.deal.id))
    title = f"Win probability of {len(scores)} open deals (the {min(limit, len(scores))} largest)"
    table = Table("deal", "owner", "stage", "close", "amount", "CRM", "stage", "model", "features behind the score",
                  title=title)  # fmt: skip
    for s in scores[:limit]:
        d = s.deal
        behind = "; ".join(f"{c.feature} {c.value} {c.log_odds:+.2f}" for c in s.contributions[:top])
        table.add_row(
            d.id, d.owner or "", d.stage, d.close_date.isoformat(), f"{d.amount:,} {d.currency}",
            _share(s.crm_probability), _share(s.stage_probability), _share(s.probability), behind,
        )  # fmt: skip
    stdout.print(table)


def svg_to_png(svg: Path, png: Path, width: int, height: int) -> None:
    """Screenshot `svg` with headless chromium into `png` (InvalidInput when chromium is missing or fails)."""
    browser = shutil.which(CHROMIUM)
    if browser is None:
        raise InvalidInput(f"{CHROMIUM} not found: the SVG is written, the PNG needs chromium (OPENSPM_CHROMIUM)")
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(  # noqa: S603 - the configured chromium on a file we wrote
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={png.resolve()}",
                svg.resolve().as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
    if done.returncode != 0 or not png.exists():
        raise InvalidInput(f"chromium could not render {svg}: {done.stderr.decode(errors='replace')[-300:]}")


@forecast_app.command("calibration")
def calibration_command(
    out: Path = typer.Option(..., "--out", help="The diagram: FILE.svg and FILE.png are written"),
    cut: str | None = typer.Option(None, "--cut", help="Train before, test from this day (default: last quarter)"),
    png: bool = typer.Option(True, "--png/--no-png", help="Also screenshot the SVG into a PNG with chromium"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Evaluate the model on a time-based hold-out (Brier, log loss, AUC beside the stage rates, the CRM
    probability and the base rate) and write the reliability diagram."""
    from sqlalchemy.orm import Session

    from openspm.insights.calibration_plot import HEIGHT, WIDTH, reliability_svg
    from openspm.insights.forecast_json import evaluation_json
    from openspm.insights.win_probability import evaluate, load_deals

    with user_errors():
        engine = open_store()
        with Session(engine) as session:
            deals = load_deals(session)
        evaluation = evaluate(deals, _day(cut, "--cut"))
        svg, image = out.with_suffix(".svg"), out.with_suffix(".png")
        svg.parent.mkdir(parents=True, exist_ok=True)
        svg.write_text(reliability_svg(evaluation), encoding="utf-8")
        if png:
            svg_to_png(svg, image, WIDTH, HEIGHT)
    written = [str(svg), *([str(image)] if png else [])]
    if as_json:
        print_json({**evaluation_json(evaluation), "files": written})
        return
    table = Table("predictor", "Brier", "log loss", "AUC",
                  title=f"Hold-out: trained on {evaluation.train_deals} deals closed before {evaluation.cut}, "
                  f"tested on {evaluation.test_deals} ({evaluation.test_rows} stage rows)")  # fmt: skip
    for x in evaluation.metrics:
        table.add_row(x.name, f"{x.brier:.4f}", f"{x.log_loss:.4f}", "" if x.auc is None else f"{x.auc:.3f}")
    stdout.print(table)
    stderr.print("wrote " + ", ".join(written))
