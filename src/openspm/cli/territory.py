"""`openspm territory design`: balance territories from CSV files and write the proposal (docs/planning.md)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from openspm.cli.common import print_json, stderr, stdout, user_errors

if TYPE_CHECKING:
    from openspm.planning.territory import DesignResult

territory_app = typer.Typer(
    help="Territory design: balance, rebalance with the least disruption.", no_args_is_help=True
)


@territory_app.command("design")
def design_command(
    accounts: Path = typer.Option(..., "--accounts", help="accounts.csv: account, potential, workload, x, y, ..."),
    territories: Path = typer.Option(..., "--territories", help="territories.csv: territory, x, y, capacity"),
    current: Path | None = typer.Option(None, "--current", help="current.csv: account, territory (a rebalance)"),
    tolerance: str = typer.Option("0.05", "--tolerance", help="each total within ±this fraction of the mean"),
    balance: str = typer.Option("potential,workload", "--balance", help="measures to balance (and 'accounts')"),
    objective: str | None = typer.Option(
        None, "--objective", help="moves | moved_potential | distance (default: moves when any account has one)"
    ),
    distance_weight: str = typer.Option("workload", "--distance-weight", help="workload | potential | accounts"),
    radius: float | None = typer.Option(None, "--radius", help="candidates: territory centres within this distance"),
    nearest: int | None = typer.Option(None, "--nearest", help="candidates: the k nearest territories (+ current)"),
    solver: str = typer.Option("highs", "--solver", help="highs | cpsat | greedy"),
    time_limit: float = typer.Option(60.0, "--time-limit", help="seconds"),
    gap: float = typer.Option(1e-4, "--gap", help="stop as optimal at this relative gap"),
    threads: int = typer.Option(1, "--threads", help="solver threads"),
    out: Path | None = typer.Option(None, "--out", help="write the proposal CSV here"),
    limit: int = typer.Option(40, "--limit", help="territories shown in the table"),
    as_json: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Assign accounts to territories within ±tolerance on each measure; print totals, objective, bound and gap.

    Exits 1 when no in-band assignment was found (the proposal, if asked, still holds the closest one).
    """
    from openspm.core.errors import InvalidInput
    from openspm.core.money import parse_decimal
    from openspm.planning.files import apply_current, read_accounts, read_territories, write_proposal
    from openspm.planning.territory import DesignOptions, design

    with user_errors():
        try:
            tau = parse_decimal(tolerance)
        except ValueError as exc:
            raise InvalidInput(f"--tolerance: {exc}") from None
        account_list = read_accounts(accounts)
        if current is not None:
            account_list = apply_current(account_list, current)
        territory_list = read_territories(territories)
        options = DesignOptions(
            balance=tuple(m.strip() for m in balance.split(",") if m.strip()),
            tolerance=tau,
            objective=objective,
            distance_weight=distance_weight,
            radius=radius,
            nearest=nearest,
            solver=solver,
            time_limit=time_limit,
            gap_limit=gap,
            threads=threads,
        )
        result = design(account_list, territory_list, options)
    if out is not None:
        write_proposal(out, result, account_list)
    if as_json:
        print_json(
            {
                "status": result.status,
                "solver": result.solver,
                "solver_status": result.solver_status,
                "objective_kind": result.objective_kind,
                "objective": str(result.objective),
                "bound": None if result.bound is None else str(result.bound),
                "gap": result.gap,
                "seconds": round(result.seconds, 3),
                "moves": [
                    {"account": m.account, "from": m.source, "to": m.target, "potential": str(m.potential)}
                    for m in result.moves
                ],
                "territories": [
                    {
                        "territory": row.territory,
                        "accounts": row.accounts,
                        "totals": {k: str(v) for k, v in row.totals.items()},
                        "lower": {k: str(v) for k, v in row.lower.items()},
                        "upper": {k: str(v) for k, v in row.upper.items()},
                        "in_band": row.in_band,
                        "within_capacity": row.within_capacity,
                    }
                    for row in result.totals
                ],
                "problems": result.problems,
                "unassigned": result.unassigned,
            }
        )
    else:
        _print_summary(result, limit)
        if out is not None:
            typer.echo(f"wrote {out}")
    for line in result.problems:
        stderr.print(f"problem: {line}", markup=False, highlight=False)
    if result.status not in ("optimal", "feasible"):
        raise typer.Exit(1)


@territory_app.command("gaps")
def gaps_command(
    accounts: Path = typer.Option(..., "--accounts", help="accounts.csv (workload; territory = the assignment)"),
    payees: Path = typer.Option(..., "--payees", help="payees.csv: payee, territory[, capacity]"),
    assignment: Path | None = typer.Option(None, "--assignment", help="a proposal.csv (account, territory) to check"),
    territories: Path | None = typer.Option(None, "--territories", help="territories.csv: every territory to staff"),
    capacity: str | None = typer.Option(None, "--capacity", help="workload one payee can carry (payees.csv wins)"),
) -> None:
    """Coverage gaps: accounts without an owner, territories without a payee, overloaded payees. Exits 1 if any."""
    from openspm.core.errors import InvalidInput
    from openspm.core.money import parse_decimal
    from openspm.planning.coverage import coverage_gaps
    from openspm.planning.files import apply_current, read_accounts, read_payees, read_territories

    with user_errors():
        account_list = read_accounts(accounts)
        if assignment is not None:
            account_list = apply_current(account_list, assignment)
        covers, limits = read_payees(payees)
        try:
            default = parse_decimal(capacity) if capacity else None
        except ValueError as exc:
            raise InvalidInput(f"--capacity: {exc}") from None
        ids = [t.id for t in read_territories(territories)] if territories is not None else []
        ids += [a.current for a in account_list if a.current] + [t for ts in covers.values() for t in ts]
        per_payee = {p: limits.get(p, default) for p in covers}
        chosen = {p: c for p, c in per_payee.items() if c is not None}
        gaps = coverage_gaps(account_list, {a.id: a.current for a in account_list}, ids, covers, chosen)
    table = Table(title_justify="left")
    for header in ("payee", "territories", "workload", "capacity", "overloaded"):
        table.add_column(header, justify="right" if header in {"workload", "capacity"} else "left")
    for row in gaps.loads:
        table.add_row(
            row.payee,
            ", ".join(row.territories),
            str(row.workload),
            "" if row.capacity is None else str(row.capacity),
            "YES" if row.overloaded else "no",
        )
    stdout.print(table)
    orphans = gaps.accounts_without_owner
    typer.echo(f"accounts without an owner: {len(orphans)}" + (f" ({', '.join(orphans[:20])})" if orphans else ""))
    typer.echo(f"territories without a payee: {', '.join(gaps.territories_without_payee) or 'none'}")
    typer.echo(f"overloaded payees: {', '.join(r.payee for r in gaps.overloaded_payees) or 'none'}")
    if gaps.accounts_without_owner or gaps.territories_without_payee or gaps.overloaded_payees:
        raise typer.Exit(1)


def _print_summary(result: DesignResult, limit: int) -> None:
    measures = list(result.totals[0].totals) if result.totals else []
    capacities = any(row.capacity is not None for row in result.totals)
    table = Table(title_justify="left")
    table.add_column("territory")
    table.add_column("accounts", justify="right")
    for measure in measures:
        table.add_column(measure, justify="right", no_wrap=True)
    if capacities:
        table.add_column("capacity", justify="right")
    table.add_column("in band")
    for row in result.totals[:limit]:
        cells = [row.territory, str(row.accounts), *(str(row.totals[m]) for m in measures)]
        if capacities:
            cells.append("" if row.capacity is None else str(row.capacity))
        out = [m for m, ok in row.in_band.items() if not ok] + ([] if row.within_capacity else ["capacity"])
        cells.append("yes" if not out else "NO: " + ", ".join(out))
        table.add_row(*cells)
    stdout.print(table)
    if result.totals:
        first = result.totals[0]
        bands = "; ".join(f"{m} {_short(first.lower[m])} – {_short(first.upper[m])}" for m in measures)
        typer.echo(f"bands: {bands}")
    if len(result.totals) > limit:
        typer.echo(f"... {len(result.totals) - limit} more territories (--limit N, or --json)")
    moved = sum(1 for m in result.moves if m.source is not None)
    placed = len(result.moves) - moved
    gap = "-" if result.gap is None else f"{100 * result.gap:.2f}%"
    summary = Table(show_header=False, box=None)
    summary.add_column(style="bold")
    summary.add_column()
    for name, value in (
        ("status", f"{result.status} ({result.solver}: {result.solver_status})"),
        ("objective", f"{result.objective} ({result.objective_kind})"),
        ("best bound", "-" if result.bound is None else str(result.bound)),
        ("gap", gap),
        ("moves", f"{moved} moved, {placed} newly placed"),
        ("in band", f"{result.in_band_count} of {len(result.totals)} territories"),
        ("time", f"{result.seconds:.2f} s"),
    ):
        summary.add_row(name, value)
    stdout.print(summary)


def _short(value: Decimal) -> str:
    """A band edge without trailing zeros past the cent."""
    return str(value.quantize(Decimal("0.01")))
