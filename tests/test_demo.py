"""The demo company: generated deterministically, loaded with no rejected row, refused twice without --reset."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from openspm.cli.main import app
from openspm.core.errors import Conflict
from openspm.demo.generate import generate
from openspm.demo.service import load_demo
from openspm.store import models as m
from openspm.store.db import make_engine

SCALE = 0.05


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def store(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path}/t.db")


@pytest.fixture
def loaded(tmp_path: Path, store: Engine) -> dict[str, object]:
    return load_demo(store, tmp_path / "demo", seed=7, scale=SCALE)


def test_demo_loads_with_no_rejected_row(loaded: dict[str, object], store: Engine) -> None:
    imports = loaded["imports"]
    assert isinstance(imports, dict)
    assert list(imports)[:2] == ["fx_rates", "payees"]
    for kind, counts in imports.items():
        assert counts["rejected"] == 0, kind
        assert counts["inserted"] == counts["rows"] > 0, kind
        assert "issues" not in counts
    with Session(store) as session:
        assert session.scalar(select(func.count()).select_from(m.Transaction)) == imports["transactions"]["rows"]
        assert session.scalar(select(func.count()).select_from(m.Period)) == 3 * 17  # 2025-2027: year, 4 q, 12 m
        versions = session.scalars(select(m.PlanVersion.document)).all()
    assert len(versions) == 3
    assert all(doc and "version: 1" in doc and "components:" in doc for doc in versions)


def test_hierarchy_has_three_levels_under_the_vp(loaded: dict[str, object], store: Engine) -> None:
    day = date(2025, 3, 1)
    with Session(store) as session:
        payees = {p.id: p for p in session.scalars(select(m.Payee))}
        lines = session.scalars(
            select(m.ReportingLine).where(
                m.ReportingLine.effective_from <= day,
                (m.ReportingLine.effective_to.is_(None)) | (m.ReportingLine.effective_to > day),
            )
        ).all()
    manager_of = {line.payee_id: line.manager_id for line in lines}
    assert len(manager_of) == len(lines)  # one line per payee on the day
    roles = Counter(p.role for p in payees.values())
    assert roles["VP"] == 1 and roles["Director"] == 3 and roles["Manager"] == 15
    assert roles["AE"] == 110 and roles["SDR"] == 20
    above = {"Director": "VP", "Manager": "Director", "AE": "Manager", "SDR": "Manager"}
    for payee in payees.values():
        if payee.role == "VP":
            assert payee.id not in manager_of
        elif payee.hire_date is not None and payee.hire_date <= day:
            assert payees[manager_of[payee.id]].role == above[str(payee.role)], payee.name
    emails = [p.email for p in payees.values()]
    assert len(set(emails)) == len(emails)


def test_generated_money_and_links_are_consistent(tmp_path: Path) -> None:
    files = generate(tmp_path, seed=3, scale=SCALE)
    lines = _rows(files["transactions"])
    by_id = {row["id"]: row for row in lines}
    types = Counter(row["type"] for row in lines)
    assert types["return"] > 0 and types["cancellation"] > 0
    for row in lines:
        amount, listed = Decimal(row["amount"]), Decimal(row["list_amount"])
        assert amount.as_tuple().exponent == -2
        if row["type"] == "sale":
            assert 0 < amount <= listed and listed * Decimal("0.7") <= amount
        else:
            original = by_id[row["original"]]
            assert amount < 0 and int(row["quantity"]) < 0
            assert original["type"] == "sale" and original["date"] < row["date"]
            assert -int(row["quantity"]) <= int(original["quantity"])
    shares: dict[str, Decimal] = {}
    for split in _rows(files["transaction_splits"]):
        shares[split["transaction"]] = shares.get(split["transaction"], Decimal(0)) + Decimal(split["share"])
    assert shares and all(total == 1 for total in shares.values())
    assert (tmp_path / "plans" / "ae_commission.yaml").is_file()


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    first, second, other = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate(first, seed=11, scale=SCALE)
    script = f"from pathlib import Path; from openspm.demo.generate import generate; generate(Path({str(second)!r}), 11, {SCALE})"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # a different string hash order must not matter
    subprocess.run([sys.executable, "-c", script], check=True, env=env)
    generate(other, seed=12, scale=SCALE)
    assert _files(first) == _files(second)
    assert _files(first)["transactions.csv"] != _files(other)["transactions.csv"]


def test_loading_twice_needs_reset(loaded: dict[str, object], tmp_path: Path, store: Engine) -> None:
    with pytest.raises(Conflict, match="already holds data; run `openspm demo --reset`"):
        load_demo(store, tmp_path / "demo", seed=7, scale=SCALE)
    again = load_demo(store, tmp_path / "demo", seed=7, scale=SCALE, reset=True)
    first = loaded["imports"]
    assert isinstance(first, dict)
    assert {k: v["inserted"] for k, v in again["imports"].items()} == {k: v["inserted"] for k, v in first.items()}


def test_cli_demo_json_then_conflict(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"OPENSPM_DATA_DIR": str(tmp_path), "OPENSPM_DATABASE_URL": ""}
    result = runner.invoke(app, ["demo", "--json", "--scale", str(SCALE)], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["out"] == str(tmp_path / "demo")
    assert data["imports"]["payees"]["inserted"] == 149
    second = runner.invoke(app, ["demo", "--scale", str(SCALE)], env=env)
    assert second.exit_code == Conflict.exit_code
    assert "openspm demo --reset" in second.stderr
