"""Kept import reports: what an import from the web did, so its rejected rows can be paged and downloaded later.

`save(directory, report, ...)` writes `<directory>/<token>/report.json` (the counts) and `rejected.csv` (every
rejected row: file, row, column, value, reason) and answers the token: `batch-<id>` for an import that wrote
(so the history links to it), `check-<random>` for a dry run or a strict refusal (kept a week). `summary`,
`rejected` and `rejected_csv` read them back; a token that is not of that shape is unknown, never a path.
"""

from __future__ import annotations

import csv
import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from openspm.core.dates import utc_now
from openspm.core.errors import NotFound
from openspm.core.issues import ISSUE_COLUMNS
from openspm.ingest.readers import write_csv
from openspm.ingest.service import ImportReport

KEEP_CHECKS_DAYS = 7
TOKEN = re.compile(r"^(batch-[0-9]{1,12}|check-[A-Za-z0-9_-]{12,64})$")


@dataclass(frozen=True)
class KeptReport:
    token: str
    kind: str
    file: str
    actor: str
    at: datetime
    rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    dry_run: bool
    strict: bool
    strict_refused: bool
    batch_id: int | None
    ignored_columns: list[str]


def _folder(directory: Path, token: str) -> Path:
    if not TOKEN.match(token):
        raise NotFound(f"no import report {token!r}")
    return directory / token


def prune(directory: Path, days: int = KEEP_CHECKS_DAYS) -> None:
    """Remove the reports of dry runs and strict refusals older than `days` (those of batches stay)."""
    if not directory.exists():
        return
    cutoff = time.time() - days * 86400
    for folder in directory.glob("check-*"):
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def save(directory: Path, report: ImportReport, *, file_name: str, actor: str, strict: bool) -> str:
    """Keep the report of one import; answers its token. Reports of checks older than a week go."""
    prune(directory)
    token = f"batch-{report.batch_id}" if report.batch_id is not None else f"check-{secrets.token_urlsafe(12)}"
    folder = _folder(directory, token)
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "rejected.csv", ISSUE_COLUMNS, [{**i.as_row(), "file": file_name} for i in report.issues])
    summary = {
        "token": token,
        "kind": report.kind,
        "file": file_name,
        "actor": actor,
        "at": utc_now().isoformat(),
        "rows": report.rows,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
        "dry_run": report.dry_run,
        "strict": strict,
        "strict_refused": report.strict_refused,
        "batch_id": report.batch_id,
        "ignored_columns": report.ignored_columns,
    }
    (folder / "report.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return token


def summary(directory: Path, token: str) -> KeptReport:
    """The counts of a kept report (NotFound when there is none)."""
    path = _folder(directory, token) / "report.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound(f"no import report {token!r}") from None
    data["at"] = datetime.fromisoformat(data["at"])
    return KeptReport(**data)


def rejected_csv(directory: Path, token: str) -> Path:
    """The rejected-rows CSV of a kept report."""
    path = _folder(directory, token) / "rejected.csv"
    if not path.exists():
        raise NotFound(f"no import report {token!r}")
    return path


def rejected(directory: Path, token: str, offset: int, limit: int) -> tuple[list[dict[str, str]], int]:
    """One page of the rejected rows (row, column, value, reason) and how many there are."""
    items: list[dict[str, str]] = []
    total = 0
    with rejected_csv(directory, token).open(encoding="utf-8", newline="") as stream:
        for record in csv.DictReader(stream):
            if offset <= total < offset + limit:
                items.append(record)
            total += 1
    return items, total
