"""`openspm quota ...` (quota drafts: plan, show, list, evaluate, approve, reject, publish) and `openspm capacity`."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer
from rich.table import Table

from openspm.cli.common import actor, open_store, print_json, progress_bar, stdout, user_errors
from openspm.core.errors import InvalidInput

quota_app = typer.Typer(help="Quota planning: drafts with a fairness check, review, publish.", no_args_is_help=True)


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise InvalidInput(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise InvalidInput(f"{what} {text!r} is not a number")
    return value


def _show(draft_id: int, as_json: bool) -> None:
    from openspm.planning.quotas import quota_draft

    draft = quota_draft(open_store(), draft_id)
    if as_json:
        print_json(asdict(draft))
        return
    quarters = sorted({q for line in draft.lines for q in line.quarters})
    table = Table("payee", "name", "potential", "last year", "last quota", "weight", "quota", *quarters, "capped")
    for x in draft.lines:
        table.add_row(
            x.payee,
            x.name,
            f"{x.potential:,.0f}",
            f"{x.history:,.0f}",
            f"{x.previous:,.0f}" if x.previous is not None else "",
            f"{x.weight:.4f}",
            f"{x.annual:,}",
            *[f"{x.quarters[q]:,}" if q in x.quarters else "" for q in quarters],
            x.capped or "",
        )
    stdout.print(table)
    stdout.print(
        f"scenario {draft.id} '{draft.name}' {draft.year}: {draft.status}; street quota {draft.street:,}; "
        f"allocated {draft.allocated:,}; unallocated {draft.unallocated:,}"
    )
    f = draft.fairness
    if f is None:
        stdout.print("fairness: not enough history to project attainment")
        return
    stdout.print(
        f"fairness ({f.payees} payees with history): projected attainment mean {f.mean:.2f}, sd {f.sd:.2f}, "
        f"p10 {f.percentiles['p10']:.2f} p50 {f.percentiles['p50']:.2f} p90 {f.percentiles['p90']:.2f}; "
        f"{f.share_at_quota:.0%} expected at quota (normal approximation {f.share_at_quota_normal:.0%})"
    )
    stdout.print(
        "share at quota by over-assignment: "
        + ", ".join(f"{o}: {share:.0%}" for o, share in f.by_over_assignment.items())
    )


@quota_app.command("plan")
def plan_command(
    year: str = typer.Option(..., "--year", help="The fiscal year to set quotas for, e.g. FY2026"),
    plan: str = typer.Option(..., "--plan", help="The plan whose payees get quotas"),
    measure: str = typer.Option("bookings", "--measure", help="The measure the quotas are for"),
    target: str = typer.Option(..., "--target", help="The company plan for the year"),
    uncovered: str = typer.Option("0", "--uncovered", help="Revenue no quota carries"),
    over: str = typer.Option("1.1", "--over-assignment", help="Street quota over the plan, typically 1.1-1.3"),
    alpha: str = typer.Option("0.6", "--alpha", help="Weight of potential against last year's results (0-1)"),
    max_change: str | None = typer.Option(None, "--max-change", help="Cap on the change from last year, e.g. 0.3"),
    seasonality: str | None = typer.Option(None, "--seasonality", help="4 quarter weights, e.g. 20,25,25,30"),
    scale: int = typer.Option(0, "--scale", help="Decimal places of the quotas"),
    name: str | None = typer.Option(None, "--name", help="A name for the draft"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Make a quota draft: street quota split by blended potential and history, capped change, quarters by
    seasonality, and the fairness check (expected share at quota)."""
    from openspm.planning.quotas import QuotaParams, draft_quotas

    with user_errors():
        params = QuotaParams(
            year=year,
            plan=plan,
            measure=measure,
            target=_decimal(target, "target"),
            uncovered=_decimal(uncovered, "uncovered"),
            over_assignment=_decimal(over, "over-assignment"),
            alpha=_decimal(alpha, "alpha"),
            max_change=_decimal(max_change, "max-change") if max_change else None,
            seasonality=tuple(_decimal(w, "seasonality") for w in seasonality.split(",")) if seasonality else (),
            scale=scale,
        )
        draft = draft_quotas(open_store(), params, name=name or f"{year} {plan} {measure}", actor=actor())
        _show(draft.id, as_json)


@quota_app.command("show")
def show_command(
    scenario: int = typer.Argument(..., help="The draft's id"), as_json: bool = typer.Option(False, "--json")
) -> None:
    """A quota draft: each payee's quota and quarters, and the fairness check."""
    with user_errors():
        _show(scenario, as_json)


@quota_app.command("list")
def list_command() -> None:
    """Quota drafts, newest first."""
    from openspm.planning.quotas import quota_drafts

    with user_errors():
        rows = quota_drafts(open_store())
    table = Table("id", "name", "year", "status", "street quota", "payees", "at quota", "made by", "decided by")
    for d in rows:
        share = f"{d.fairness.share_at_quota:.0%}" if d.fairness else ""
        table.add_row(
            str(d.id),
            d.name,
            d.year,
            d.status,
            f"{d.street:,}",
            str(len(d.lines)),
            share,
            d.created_by,
            d.decided_by or "",
        )
    stdout.print(table)


@quota_app.command("evaluate")
def evaluate_command(
    scenarios: list[int] = typer.Argument(..., help="Draft ids, side by side (one plan and measure)"),
    basis: str | None = typer.Option(None, "--basis", help="The fiscal year whose deals are replayed, e.g. FY2025"),
    as_json: bool = typer.Option(False, "--json"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="A progress bar on stderr"),
) -> None:
    """Replay a year's deals through the engine with each draft's quotas and with the quotas as they stand:
    cost, revenue, cost of sales and attainment side by side; each draft keeps its latest evaluation."""
    from openspm.planning.evaluation import evaluate_quota_drafts, evaluation_json, save_evaluation

    with user_errors():
        engine = open_store()
        with progress_bar(progress) as bar:
            evaluation = evaluate_quota_drafts(
                engine,
                scenarios,
                basis,
                on_month=(lambda done, total, text: bar("replaying months", done, total)) if bar else None,
            )
        save_evaluation(engine, evaluation, actor())
    if as_json:
        print_json({str(i): evaluation_json(evaluation, i) for i in evaluation.drafts})
        return
    columns = [evaluation.baseline, *evaluation.drafts.values()]
    table = Table("", *[c.scenario for c in columns], title=f"{evaluation.plan} · {evaluation.measure} on "
                  f"{evaluation.basis} ({evaluation.months[0]} to {evaluation.months[-1]})")  # fmt: skip

    def share(value: float | None, places: int = 0) -> str:
        return "" if value is None else f"{value:.{places}%}"

    table.add_row("Σ annual quota", *[f"{c.quota:,}" for c in columns])
    table.add_row("compensation cost", *[", ".join(f"{v:,} {k}" for k, v in c.cost.items()) or "0" for c in columns])
    table.add_row(f"revenue ({evaluation.measure})", *[f"{c.revenue:,}" for c in columns])
    table.add_row("cost of sales", *[share(c.cost_of_sales, 2) for c in columns])
    table.add_row("payees with a quota", *[str(c.attainment.payees) for c in columns])
    for label, key in (("mean attainment", "mean"), ("p10", "p10"), ("median", "p50"), ("p90", "p90")):
        table.add_row(label, *[share(getattr(c.attainment, key)) for c in columns])
    table.add_row("at or above quota", *[share(c.attainment.at_or_above_quota) for c in columns])
    table.add_row("below half their quota", *[str(c.attainment.below_half) for c in columns])
    stdout.print(table)
    for scenario_id, figures in evaluation.drafts.items():
        for title, rows in (("gains", evaluation.gains[scenario_id]), ("losses", evaluation.losses[scenario_id])):
            if rows:
                changes = "; ".join(f"{x.payee} {x.name} {x.change:+,}" for x in rows)
                stdout.print(f"{figures.scenario} {title}: {changes}")


@quota_app.command("approve")
def approve_command(scenario: int = typer.Argument(...), note: str | None = typer.Option(None, "--note")) -> None:
    """Approve a draft (not your own)."""
    from openspm.planning.quotas import decide

    with user_errors():
        decide(open_store(), scenario, actor(), True, note)
        typer.echo(f"quota scenario {scenario}: approved")


@quota_app.command("reject")
def reject_command(scenario: int = typer.Argument(...), note: str | None = typer.Option(None, "--note")) -> None:
    """Send a draft back: it is discarded (make a new one)."""
    from openspm.planning.quotas import decide

    with user_errors():
        decide(open_store(), scenario, actor(), False, note)
        typer.echo(f"quota scenario {scenario}: discarded")


@quota_app.command("publish")
def publish_command(
    scenario: int = typer.Argument(...),
    from_quarter: str | None = typer.Option(None, "--from", help="Only this quarter and later, e.g. FY2026-Q2"),
) -> None:
    """Write an approved draft's quotas into the store: the next run uses them."""
    from openspm.planning.quotas import publish

    with user_errors():
        written = publish(open_store(), scenario, actor(), from_quarter)
        typer.echo(f"quota scenario {scenario}: published {written} quota rows")


def capacity_command(
    target: str = typer.Option(..., "--target", help="The year's target"),
    quota: str = typer.Option(..., "--quota", help="A fully ramped payee's yearly quota"),
    attainment: str = typer.Option("0.8", "--attainment", help="Expected attainment, a fraction"),
    ramp_loss: str = typer.Option("0", "--ramp-loss", help="Share of capacity lost to ramping"),
    attrition_loss: str = typer.Option("0", "--attrition-loss", help="Share of capacity lost to attrition"),
) -> None:
    """Payees needed: target / (quota × attainment × (1 − ramp loss − attrition loss))."""
    from openspm.planning.capacity import payees_needed

    with user_errors():
        needed = payees_needed(
            _decimal(target, "target"),
            _decimal(quota, "quota"),
            _decimal(attainment, "attainment"),
            _decimal(ramp_loss, "ramp loss"),
            _decimal(attrition_loss, "attrition loss"),
        )
        seats = int(needed.to_integral_value(rounding="ROUND_CEILING"))
        typer.echo(f"payees needed: {needed.quantize(Decimal('0.01'))} → {seats} seats")


accounts_app = typer.Typer(help="Account segmentation by rules and potential scoring.", no_args_is_help=True)


@accounts_app.command("segment")
def segment_command(
    rules: Path = typer.Argument(..., help="A YAML file: segments: [{name, when}, ...], first match wins"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count, write nothing"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Give every account the first segment whose condition holds (audited; the rule is kept on the account)."""
    import yaml

    from openspm.planning.segmentation import parse_segment_rules, segment_accounts

    with user_errors():
        try:
            data = yaml.safe_load(rules.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise InvalidInput(f"{rules}: cannot read the rules: {exc}") from None
        report = segment_accounts(open_store(), parse_segment_rules(data, str(rules)), actor(), dry_run)
    if as_json:
        print_json(asdict(report))
        return
    table = Table("segment", "accounts")
    for name, count in report.counts.items():
        table.add_row(name, f"{count:,}")
    stdout.print(table)
    verb = "would change" if dry_run else "changed"
    typer.echo(f"{verb} {report.changed} accounts; {len(report.unmatched)} matched no rule (kept their segment)")


@accounts_app.command("score-potential")
def score_command(
    months: int = typer.Option(12, "--months", help="Months of sales history before --as-of"),
    as_of: str | None = typer.Option(None, "--as-of", help="End of the history window (default today)"),
    currency: str = typer.Option("USD", "--currency", help="Currency of the potentials"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Fit and report, write nothing"),
) -> None:
    """Score each account's potential from firmographics and history (explained on the account)."""
    from openspm.core.dates import parse_date
    from openspm.planning.segmentation import score_potential

    with user_errors():
        try:
            day = parse_date(as_of) if as_of else None
        except ValueError:
            raise InvalidInput(f"--as-of {as_of!r}: not a date (expected YYYY-MM-DD)") from None
        report = score_potential(open_store(), actor(), months=months, as_of=day, currency=currency, dry_run=dry_run)
    start, end = report.window
    typer.echo(
        f"fitted on {report.fitted_on} of {report.accounts} accounts with sales from {start} to {end} "
        f"({report.currency}); "
        f"cross-validated R² (log) {report.r2_log:.2f}, WAPE {report.wape:.0%}"
    )
    for account, potential, explained in report.top:
        factors = ", ".join(f"{f['feature']} ×{f['multiplier']}" for f in explained["factors"])
        typer.echo(f"  {account}: {potential:,} ({explained['basis']}; {factors})")
    typer.echo(f"{'would change' if dry_run else 'changed'} {report.changed} accounts' potential")
