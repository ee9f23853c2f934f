"""`openspm territory design` on the worked example of docs/planning.md (examples/planning/)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openspm.cli.main import app

pytest.importorskip("highspy")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "planning"
BASE = [
    "territory",
    "design",
    "--accounts",
    str(EXAMPLE / "accounts.csv"),
    "--territories",
    str(EXAMPLE / "territories.csv"),
]


def _proposal(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return {row["account"]: row for row in csv.DictReader(handle)}


def test_rebalance_within_a_radius_writes_the_proposal(tmp_path: Path) -> None:
    out = tmp_path / "proposal.csv"
    result = CliRunner().invoke(app, [*BASE, "--tolerance", "0.12", "--radius", "45", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "optimal (highs: Optimal)" in result.stdout
    assert "2 moved, 1 newly placed" in result.stdout
    assert "bands: potential 250800.00 – 319200.00; workload 91.52 – 116.48" in result.stdout
    rows = _proposal(out)
    moved = {a: (r["current"], r["territory"]) for a, r in rows.items() if r["moved"] == "yes"}
    assert moved == {"Dune": ("North", "East"), "Kestrel": ("East", "North"), "Lumen": ("", "South")}
    assert rows["Harbor"]["territory"] == "East"  # locked
    assert len(rows) == 12


def test_infeasible_is_explained_and_exits_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [*BASE, "--tolerance", "0.10", "--radius", "45", "--solver", "cpsat"])
    assert result.exit_code == 1
    assert "infeasible" in result.stdout
    assert "problem: territory East cannot be balanced on workload" in result.stderr
    assert "the band is [93.6, 114.4]" in result.stderr


def test_json_output_and_current_file(tmp_path: Path) -> None:
    current = tmp_path / "current.csv"
    current.write_text("account,territory\nLumen,East\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, [*BASE, "--tolerance", "0.12", "--radius", "45", "--current", str(current), "--json", "--solver", "greedy"]
    )
    data = json.loads(result.stdout)
    assert data["solver"] == "greedy"
    assert data["status"] in ("feasible", "unbalanced")
    assert {row["territory"] for row in data["territories"]} == {"North", "South", "East"}
    assert all(m["from"] is not None for m in data["moves"])  # Lumen now has a current territory


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "accounts.csv"
    bad.write_text("account,potential\nA,12.5.0\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["territory", "design", "--accounts", str(bad), "--territories", str(EXAMPLE / "territories.csv")]
    )
    assert result.exit_code == 2
    assert f"error: {bad} @ row 2, column potential" in result.stderr
    missing = CliRunner().invoke(app, [*BASE, "--solver", "cbc"])
    assert missing.exit_code == 2 and "solver 'cbc'" in missing.stderr


def test_docs_first_example_moves_cobalt_and_places_lumen(tmp_path: Path) -> None:
    out = tmp_path / "proposal.csv"
    result = CliRunner().invoke(app, [*BASE, "--tolerance", "0.10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 moved, 1 newly placed" in result.stdout
    assert "bands: potential 256500.00 – 313500.00; workload 93.60 – 114.40" in result.stdout
    moved = {a: r["territory"] for a, r in _proposal(out).items() if r["moved"] == "yes"}
    assert moved == {"Cobalt": "East", "Lumen": "South"}


def test_coverage_gaps_before_and_after_the_proposal(tmp_path: Path) -> None:
    payees = ["--accounts", str(EXAMPLE / "accounts.csv"), "--payees", str(EXAMPLE / "payees.csv")]
    before = CliRunner().invoke(app, ["territory", "gaps", *payees])
    assert before.exit_code == 1
    assert "accounts without an owner: 1 (Lumen)" in before.stdout
    assert "overloaded payees: ann@example.com" in before.stdout
    out = tmp_path / "proposal.csv"
    CliRunner().invoke(app, [*BASE, "--tolerance", "0.12", "--radius", "45", "--out", str(out)])
    after = CliRunner().invoke(app, ["territory", "gaps", *payees, "--assignment", str(out)])
    assert after.exit_code == 0, after.output
    assert "overloaded payees: none" in after.stdout and "accounts without an owner: 0" in after.stdout
    unstaffed = tmp_path / "payees.csv"
    unstaffed.write_text("payee,territory\nann@example.com,North\n", encoding="utf-8")
    gaps = CliRunner().invoke(
        app, ["territory", "gaps", "--accounts", str(EXAMPLE / "accounts.csv"), "--payees", str(unstaffed)]
    )
    assert gaps.exit_code == 1
    assert "territories without a payee: South, East" in gaps.stdout
