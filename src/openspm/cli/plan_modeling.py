"""`openspm plan model`: candidate plan versions beside the version in force, on history and Monte Carlo draws."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from openspm.cli.common import open_store, print_json, progress_bar, stdout, user_errors


def model_command(
    plan: str = typer.Option(..., "--plan", help="The plan to model, e.g. ae-commission"),
    candidate: list[Path] = typer.Option([], "--candidate", help="A candidate version (plan YAML); repeatable"),
    version: list[int] = typer.Option([], "--version", help="A stored version of the plan as a candidate; repeatable"),
    start: str = typer.Option(..., "--from", help="First month, e.g. FY2026-M01"),
    end: str = typer.Option(..., "--to", help="Last month (included), e.g. FY2026-M06"),
    draws: int = typer.Option(1000, "--draws", help="Monte Carlo draws (0: history only)"),
    seed: int = typer.Option(7, "--seed", help="Seed of the draws (same seed, same numbers)"),
    method: str = typer.Option("lognormal", "--method", help="Attainment distribution: lognormal or bootstrap"),
    report: Path | None = typer.Option(None, "--report", help="Write the one-page report (.pdf or .html)"),
    as_json: bool = typer.Option(False, "--json"),
    progress: bool = typer.Option(False, "--progress/--no-progress", help="A progress bar on stderr"),
) -> None:
    """Replay the months through the engine with the stored version in force and each candidate, then simulate
    attainment (fitted per role from those months) and evaluate every version's rules on the same draws:
    payout, cost of sales, tails, cap and threshold hits, who gains and who loses. Reads only."""
    from openspm.insights import plan_model_report
    from openspm.insights.plan_modeling import Candidate, ModelParams, model_json, model_plan, stored_candidate

    with user_errors():
        engine = open_store()
        candidates = [stored_candidate(engine, plan, v) for v in version]
        for path in candidate:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise typer.BadParameter(f"{path}: {exc.strerror}") from None
            candidates.append(Candidate(path.stem, text, path.name))
        params = ModelParams(plan, start, end, tuple(candidates), draws=draws, seed=seed, method=method)
        with progress_bar(progress) as bar:
            model = model_plan(engine, params, (lambda f, text: bar("modeling", int(f * 1000), 1000)) if bar else None)
        result = model_json(model)
        if report is not None:
            if report.suffix.lower() == ".html":
                report.write_text(plan_model_report.render_html(result), encoding="utf-8")
            else:
                report.write_bytes(plan_model_report.render_pdf(result))
    if as_json:
        print_json(result)
        return
    title = f"{result['plan']} {result['from']}..{result['to']} · {result['currency']}"
    table = Table("version", "payout", "cost of sales", "payee P50", "P90", "max", "cap hits", "thresholds met",
                  title=title + " · history")  # fmt: skip
    for v in result["versions"]:
        h = v["history"]
        table.add_row(
            v["label"], h["total"], h["cost_of_sales"] or "n/a", h["payee_tails"]["p50"], h["payee_tails"]["p90"],
            h["payee_tails"]["max"], str(h["cap_hits"]), f"{h['thresholds_met']} of {h['thresholds']}",
        )  # fmt: skip
    stdout.print(table)
    if result["simulated"]:
        what = f"{result['draws']} draws ({result['method']}, seed {result['seed']})"
        sim = Table("version", "mean", "P10", "P50", "P90", "P99", "max", "cost of sales",
                    title=f"Monte Carlo total payout · {what}")  # fmt: skip
        for v in result["versions"]:
            s = v["simulation"]
            sim.add_row(v["label"], *[s["total"][k] for k in ("mean", "p10", "p50", "p90", "p99", "max")],
                        s["cost_of_sales"] or "n/a")  # fmt: skip
        stdout.print(sim)
    elif result["note"]:
        stdout.print(result["note"])
    for c in result["changes"]:
        stdout.print(
            f"{c['label']}: {c['total_delta']} in total; {c['gainers']} gain, {c['losers']} lose, "
            f"{c['unchanged']} unchanged"
        )
    if report is not None:
        stdout.print(f"report: {report}")
