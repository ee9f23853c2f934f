"""The command line: clear help, one-line user errors, JSON for scripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from openspm.cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OPENSPM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("OPENSPM_DATABASE_URL", raising=False)
    return tmp_path / "data"


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("import", "kinds", "calendar", "status", "audit", "serve", "db"):
        assert command in result.output


def test_a_user_error_is_one_line_on_stderr_and_a_non_zero_exit(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("id,name\nP1,Ann\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "payees", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: p.csv: missing required column pay_currency for payees")
    assert "Traceback" not in result.output

    unknown = runner.invoke(app, ["import", "payee", str(path)])
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: unknown kind 'payee'; use one of: calendars, periods")


def test_import_reports_counts_and_rejected_rows_as_json(tmp_path: Path) -> None:
    assert runner.invoke(app, ["calendar", "create", "2025"]).exit_code == 0
    path = tmp_path / "payees.csv"
    path.write_text("id,name,pay_currency\nP1,Ann,USD\nP2,Bob,XXX\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "payees", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["inserted"], report["rejected"]) == (1, 1)
    assert report["issues"][0]["column"] == "pay_currency"
    assert Path(report["rejects_path"]).exists()

    text = runner.invoke(app, ["import", "payees", str(path)])
    assert "payees.csv:2 [pay_currency]" in text.stderr and "unknown currency" in text.stderr
    assert text.stdout.strip().endswith(f"rejected rows in {tmp_path / 'payees.rejected.csv'}")
    assert "0 inserted, 0 updated, 1 unchanged, 1 rejected" in text.stdout

    strict = runner.invoke(app, ["import", "payees", str(path), "--strict"])
    assert strict.exit_code == 2

    status = json.loads(runner.invoke(app, ["status", "--json"]).stdout)
    assert status["payees"] == 1 and status["periods"] == 17

    audit = json.loads(runner.invoke(app, ["audit", "--entity", "payees", "--json"]).stdout)
    assert {a["action"] for a in audit} == {"insert", "import"}


def test_kinds_documents_every_column() -> None:
    result = runner.invoke(app, ["kinds", "--json"])
    kinds = json.loads(result.stdout)
    assert "transactions" in kinds
    assert {c["name"] for c in kinds["transactions"]["columns"]} >= {"id", "date", "amount", "currency", "original"}
    one = runner.invoke(app, ["kinds", "quotas"])
    assert one.exit_code == 0 and "measure" in one.stdout
    bad = runner.invoke(app, ["kinds", "nope"])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: unknown kind 'nope'")


def test_db_upgrade_and_status(data_dir: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0
    status = json.loads(runner.invoke(app, ["db", "status", "--json"]).stdout)
    assert status["revision"] == status["head"]
    assert (data_dir / "openspm.db").exists()
