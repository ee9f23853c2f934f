"""`openspm quota ...` (quota drafts: plan, show, list, evaluate, approve, reject, publish) and `openspm capacity`."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from openspm.cli.common import actor, open_store, print_json, progress_bar, stdout, user_errors
from openspm.core.errors import InvalidInput

if TYPE_CHECKING:
    from openspm.planning.quotas import QuotaLine

quota_app = typer.Typer(help="Quota planning: drafts with a fairness check, review, publish.", no_args_is_help=True)


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise InvalidInput(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise InvalidInput(f"{what} {text!r} is not a number")
    return value


def _decimals(text: str | None, what: str) -> tuple[Decimal, ...]:
    """`0.25,0.5,0.75` → a tuple of decimals (empty for none)."""
    return tuple(_decimal(x, what) for x in text.split(",")) if text and text.strip() else ()


def _ramp_or_level(line: QuotaLine) -> str:
    """`level 2` for a rolled-up manager, `ramp Q2 0.5 …` for a ramped new hire, else empty."""
    if line.level is not None:
        return f"level {line.level}"
    return " ".join(
        f"{q[-2:]} {f.normalize():f}" if f == f.quantize(Decimal("0.01")) else f"{q[-2:]} {f:.2f}"
        for q, f in line.ramp.items()
    )


def _show(draft_id: int, as_json: bool) -> None:
    from openspm.planning.quotas import quota_draft

    draft = quota_draft(open_store(), draft_id)
    if as_json:
        print_json(asdict(draft))
        return
    quarters = sorted({q for line in draft.lines for q in line.quarters})
    table = Table(
        "payee", "name", "potential", "last year", "last quota", "weight", "quota", *quarters, "capped", "ramp/level"
    )
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
            _ramp_or_level(x),
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
    ramp: str | None = typer.Option(None, "--ramp", help="New-hire factors by tenure month, e.g. 0.25,0.5,0.75"),
    managers_over: str | None = typer.Option(
        None, "--managers-over", help="Give managers their team's quotas × this per level, e.g. 1.05"
    ),
    managers_plan: str | None = typer.Option(
        None, "--managers-plan", help="The managers' plan (default: the managers among --plan's payees)"
    ),
    name: str | None = typer.Option(None, "--name", help="A name for the draft"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Make a quota draft: street quota split by blended potential and history, capped change, quarters by
    seasonality (new hires ramped), managers rolled up with --managers-over, and the fairness check."""
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
            ramp=_decimals(ramp, "ramp"),
            managers_over=_decimal(managers_over, "managers-over") if managers_over else None,
            managers_plan=managers_plan,
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


capacity_app = typer.Typer(
    help="Capacity: payees needed for a target (no subcommand), or a monthly hiring plan (`plan`).",
    invoke_without_command=True,
)


@capacity_app.callback()
def capacity_command(
    ctx: typer.Context,
    target: str | None = typer.Option(None, "--target", help="The year's target"),
    quota: str | None = typer.Option(None, "--quota", help="A fully ramped payee's yearly quota"),
    attainment: str = typer.Option("0.8", "--attainment", help="Expected attainment, a fraction"),
    ramp_loss: str = typer.Option("0", "--ramp-loss", help="Share of capacity lost to ramping"),
    attrition_loss: str = typer.Option("0", "--attrition-loss", help="Share of capacity lost to attrition"),
) -> None:
    """Payees needed: target / (quota × attainment × (1 − ramp loss − attrition loss))."""
    from openspm.planning.capacity import payees_needed

    if ctx.invoked_subcommand is not None:
        return
    with user_errors():
        if target is None or quota is None:
            raise InvalidInput("give --target and --quota (or use `openspm capacity plan` for a hiring plan)")
        needed = payees_needed(
            _decimal(target, "target"),
            _decimal(quota, "quota"),
            _decimal(attainment, "attainment"),
            _decimal(ramp_loss, "ramp loss"),
            _decimal(attrition_loss, "attrition loss"),
        )
        seats = int(needed.to_integral_value(rounding="ROUND_CEILING"))
        typer.echo(f"payees needed: {needed.quantize(Decimal('0.01'))} → {seats} seats")


@capacity_app.command("plan")
def capacity_plan_command(
    months: int = typer.Option(12, "--months", help="Months to plan (with --target-per-month)"),
    per_month: str | None = typer.Option(None, "--target-per-month", help="The same target every month"),
    targets: str | None = typer.Option(None, "--targets", help="Each month's target, e.g. 100000,120000,..."),
    quota: str = typer.Option(..., "--quota-per-head", help="A fully ramped payee's monthly quota"),
    attainment: str = typer.Option("0.8", "--attainment", help="Expected attainment, a fraction"),
    ramp: str | None = typer.Option(None, "--ramp", help="Productivity by tenure month, e.g. 0.25,0.5,0.75"),
    attrition: str = typer.Option("0", "--attrition-monthly", help="Share of payees leaving each month"),
    lead: int = typer.Option(0, "--lead-months", help="Months from opening a requisition to the hire's start"),
    tenures: str | None = typer.Option(None, "--in-seat-tenures", help="Current payees' tenures in months, e.g. 24,6"),
    from_store: bool = typer.Option(False, "--in-seat-from-store", help="Current payees: --plan's payees on --on"),
    plan: str | None = typer.Option(None, "--plan", help="With --in-seat-from-store"),
    on: str | None = typer.Option(None, "--on", help="With --in-seat-from-store: the day (default today)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """A monthly hiring plan: required vs expected productive payees, hires arriving, requisitions to open."""
    from openspm.core.dates import parse_date
    from openspm.planning.capacity import check_ramp, hiring_plan, monthly_targets
    from openspm.planning.headcount import in_seat_tenures

    with user_errors():
        if from_store == (tenures is not None):
            raise InvalidInput("give either --in-seat-tenures or --in-seat-from-store with --plan")
        values = monthly_targets(
            months, _decimal(per_month, "target-per-month") if per_month else None, _decimals(targets, "targets")
        )
        factors = _decimals(ramp, "ramp")
        check_ramp(factors)
        if from_store:
            if not plan:
                raise InvalidInput("--in-seat-from-store needs --plan")
            try:
                day = parse_date(on) if on else date.today()
            except ValueError:
                raise InvalidInput(f"--on {on!r}: not a date (expected YYYY-MM-DD)") from None
            seats = in_seat_tenures(open_store(), plan, day)
        else:
            try:
                seats = [int(x) for x in (tenures or "").split(",") if x.strip()]
            except ValueError:
                raise InvalidInput(f"--in-seat-tenures {tenures!r}: whole months, e.g. 24,24,6") from None
            if any(t < 0 for t in seats):
                raise InvalidInput("tenures must not be negative")
        rows = hiring_plan(
            values,
            quota_per_head=_decimal(quota, "quota-per-head"),
            expected_attainment=_decimal(attainment, "attainment"),
            in_seat_tenure=seats,
            ramp=factors,
            monthly_attrition=_decimal(attrition, "attrition-monthly"),
            lead_months=lead,
        )
    if as_json:
        print_json({"in_seat": seats, "months": [asdict(r) for r in rows]})
        return
    table = Table("month", "target", "required", "expected", "arriving", "open requisitions", "short")
    for row, target in zip(rows, values, strict=True):
        table.add_row(
            str(row.month),
            f"{target:,}",
            f"{row.required:.2f}",
            f"{row.expected:.2f}",
            str(row.arriving),
            str(row.open_requisitions),
            f"{row.short:.2f}" if row.short else "",
        )
    stdout.print(table)
    hires = sum(r.arriving for r in rows)
    short = [str(r.month) for r in rows if r.short]
    typer.echo(
        f"{len(seats)} in seat; {hires} hires; "
        + (f"short in months {', '.join(short)} (no hire can be ramped in time)" if short else "no month short")
    )


@quota_app.command("rollup")
def rollup_command(scenario: int = typer.Argument(..., help="The draft's id")) -> None:
    """Bottom-up: each manager's team total (the draft's reps under them) against their own quota in the draft."""
    from openspm.planning.quotas import rollup

    with user_errors():
        rows = rollup(open_store(), scenario)
    table = Table("manager", "name", "reps", "team total", "own quota", "own / team")
    for r in rows:
        table.add_row(
            r.manager,
            r.name,
            str(r.reps),
            f"{r.team_total:,}",
            f"{r.own:,}" if r.own is not None else "",
            f"{r.ratio:.4f}" if r.ratio is not None else "",
        )
    stdout.print(table)


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
