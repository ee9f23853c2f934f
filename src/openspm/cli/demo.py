"""`openspm demo`: generate the demo company and load it into the store."""

from __future__ import annotations

from pathlib import Path

import typer

from openspm.cli.common import actor, print_json, progress_bar, stderr, stdout, user_errors
from openspm.store.db import data_dir, make_engine


def demo_command(
    seed: int = typer.Option(42, "--seed", help="Random seed; the same seed gives the same company"),
    out: Path | None = typer.Option(
        None, "--out", help="Where the demo CSV files are written [default: <data dir>/demo, i.e. data/demo]"
    ),
    reset: bool = typer.Option(False, "--reset", help="Empty a store that already holds data first"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
    scale: float = typer.Option(1.0, "--scale", hidden=True, help="Size of the company (tests use a small one)"),
) -> None:
    """Generate the demo company as import files and load it into the store."""
    from openspm.demo.service import load_demo

    with user_errors():
        target = out if out is not None else data_dir() / "demo"
        engine = make_engine()
        with progress_bar(not as_json and stderr.is_terminal) as progress:
            result = load_demo(engine, target, seed=seed, reset=reset, actor=actor(), progress=progress, scale=scale)
    if as_json:
        print_json(result)
        return
    for kind, counts in result["imports"].items():
        stdout.print(f"  {kind:<22} {counts['inserted']:>8,} rows", highlight=False)
    stdout.print(f"demo company loaded from {target} in {result['seconds']:.1f}s", highlight=False)
    stdout.print(f"demo users (sign in at http://127.0.0.1:8000, password {result['password']}):", highlight=False)
    for user in result["users"]:
        more = f"  (and {user['count'] - 1} more)" if user["count"] > 1 else ""
        line = f"  {user['role']:<13} {user['email']:<36} password: {result['password']}{more}"
        stdout.print(line, highlight=False, soft_wrap=True)
