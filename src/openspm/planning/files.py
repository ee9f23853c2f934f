"""Territory design files: accounts, territories and current assignments from CSV; the proposal to CSV.

accounts.csv     account, potential[, workload, x, y, territory, locked, allowed]   (allowed: ids split by ";")
territories.csv  territory[, x, y, capacity]
current.csv      account, territory                                           (overrides accounts.csv's territory)
payees.csv       payee, territory[, capacity]                                 (one row per payee × territory covered)

Amounts are parsed as exact decimals from text ("1,234.50" is refused: give plain numbers); a bad value is
reported as `FILE @ row N, column C: reason`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from openspm.core.errors import FileFormatError, InvalidInput
from openspm.core.money import parse_decimal
from openspm.planning.territory import Account, DesignResult, Territory, result_rows

TRUE = {"true", "yes", "y", "1", "locked"}
FALSE = {"false", "no", "n", "0", ""}
PROPOSAL_COLUMNS = ("account", "territory", "current", "moved", "potential", "workload")


def _rows(path: Path, required: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise FileFormatError(f"{path}: not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        raise FileFormatError(f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(header) or 'none'})")
    rows = []
    for number, row in enumerate(reader, start=2):
        rows.append((number, {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}))
    return rows


def _decimal(path: Path, number: int, column: str, text: str, default: Decimal | None = None) -> Decimal:
    if text == "" and default is not None:
        return default
    try:
        return parse_decimal(text)
    except ValueError as exc:
        raise InvalidInput(f"{path} @ row {number}, column {column}: {exc}") from None


def _float(path: Path, number: int, column: str, text: str) -> float:
    return float(_decimal(path, number, column, text, Decimal(0)))


def read_accounts(path: Path) -> list[Account]:
    """accounts.csv → Account values (in file order)."""
    accounts = []
    for number, row in _rows(path, ("account", "potential")):
        if not row["account"]:
            raise InvalidInput(f"{path} @ row {number}, column account: empty")
        locked_text = row.get("locked", "").lower()
        if locked_text not in TRUE | FALSE:
            raise InvalidInput(f"{path} @ row {number}, column locked: {row['locked']!r} is not yes/no")
        allowed_text = row.get("allowed", "")
        accounts.append(
            Account(
                id=row["account"],
                potential=_decimal(path, number, "potential", row["potential"]),
                workload=_decimal(path, number, "workload", row.get("workload", ""), Decimal(0)),
                x=_float(path, number, "x", row.get("x", "")),
                y=_float(path, number, "y", row.get("y", "")),
                current=row.get("territory") or None,
                locked=locked_text in TRUE,
                allowed=frozenset(t.strip() for t in allowed_text.split(";") if t.strip()) if allowed_text else None,
            )
        )
    return accounts


def read_territories(path: Path) -> list[Territory]:
    """territories.csv → Territory values."""
    territories = []
    for number, row in _rows(path, ("territory",)):
        if not row["territory"]:
            raise InvalidInput(f"{path} @ row {number}, column territory: empty")
        capacity = row.get("capacity", "")
        territories.append(
            Territory(
                id=row["territory"],
                x=_float(path, number, "x", row.get("x", "")),
                y=_float(path, number, "y", row.get("y", "")),
                capacity=_decimal(path, number, "capacity", capacity) if capacity else None,
            )
        )
    return territories


def apply_current(accounts: Sequence[Account], path: Path) -> list[Account]:
    """Set each account's current territory from current.csv (account, territory); unknown accounts refused."""
    current: dict[str, str | None] = {}
    known = {a.id for a in accounts}
    for number, row in _rows(path, ("account", "territory")):
        if row["account"] not in known:
            raise InvalidInput(f"{path} @ row {number}, column account: {row['account']!r} is not in the accounts")
        current[row["account"]] = row["territory"] or None
    return [dataclasses.replace(a, current=current[a.id]) if a.id in current else a for a in accounts]


def write_proposal(path: Path, result: DesignResult, accounts: Sequence[Account]) -> None:
    """The proposal: one row per account (territory empty when it could not be placed)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(PROPOSAL_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(result_rows(result, accounts))
    path.write_bytes(buffer.getvalue().encode("utf-8"))


def read_payees(path: Path) -> tuple[dict[str, list[str]], dict[str, Decimal]]:
    """payees.csv → territories per payee, and each payee's capacity (workload) where given."""
    covers: dict[str, list[str]] = {}
    capacity: dict[str, Decimal] = {}
    for number, row in _rows(path, ("payee", "territory")):
        if not row["payee"]:
            raise InvalidInput(f"{path} @ row {number}, column payee: empty")
        covers.setdefault(row["payee"], [])
        if row["territory"]:
            covers[row["payee"]].append(row["territory"])
        if row.get("capacity"):
            capacity[row["payee"]] = _decimal(path, number, "capacity", row["capacity"])
    return covers, capacity
