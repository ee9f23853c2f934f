"""Every statement of a month into a folder: one file per payee and format, and an index.

`statements_for_period(engine, "FY2025-M08", Path("out"))` writes `FY2025-M08_P0001.html`,
`FY2025-M08_P0001.pdf`, ... for each payee with earnings or payments in the month's run, then `index.html`
(links, earned and paid per payee) and `index.csv` (the same, amounts as exact text).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openspm.core.errors import InvalidInput, NotFound
from openspm.core.money import to_text
from openspm.statements.render import html_to_pdf, pdf_epoch, render_html, render_index
from openspm.statements.service import statement, statement_payees

Progress = Callable[[str, int, int], None]
FORMATS = ("html", "pdf")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class BulkResult:
    period: str
    folder: Path
    payees: int = 0
    files: list[Path] = field(default_factory=list)


def file_stem(period: str, payee: str) -> str:
    """`FY2025-M08_P0001`: the period and the payee's external id, made safe for a file name."""
    return f"{_UNSAFE.sub('_', period)}_{_UNSAFE.sub('_', payee)}"


def check_formats(formats: Sequence[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in formats if f.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise InvalidInput(f"unknown format {unknown[0] if unknown else ''!r}; use html, pdf or html,pdf")
    return chosen


def statements_for_period(
    engine: Engine,
    period: str,
    folder: Path,
    formats: Sequence[str] = FORMATS,
    on_progress: Progress | None = None,
    payees: Sequence[str] | None = None,
) -> BulkResult:
    """Write the month's statements (every payee of its run, or `payees`) and an index into `folder`."""
    chosen = check_formats(formats)
    folder.mkdir(parents=True, exist_ok=True)
    result = BulkResult(period, folder)
    rows: list[dict[str, Any]] = []
    with Session(engine) as session:
        everyone = statement_payees(session, period)
        if payees:
            unknown = [p for p in payees if p not in everyone]
            if unknown:
                raise NotFound(f"payee {unknown[0]!r} has nothing in {period}'s run")
            everyone = [p for p in everyone if p in set(payees)]
        for done, payee in enumerate(everyone):
            if on_progress is not None:
                on_progress("statements", done, len(everyone))
            data = statement(session, period, payee)
            html = render_html(data)
            stem = file_stem(period, payee)
            names = []
            for kind in chosen:
                path = folder / f"{stem}.{kind}"
                if kind == "html":
                    path.write_text(html, encoding="utf-8")
                else:
                    path.write_bytes(html_to_pdf(html, pdf_epoch(data)))
                result.files.append(path)
                names.append(path.name)
            rows.append(
                {
                    "payee": payee,
                    "name": data.payee.name,
                    "earned": data.earned,
                    "paid": data.paid,
                    "paid_pay": data.paid_pay,
                    "files": names,
                }
            )
        if on_progress is not None:
            on_progress("statements", len(everyone), len(everyone))
    result.payees = len(rows)
    index = folder / "index.html"
    index.write_text(render_index(period, rows), encoding="utf-8")
    with (folder / "index.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["payee", "name", "currency", "earned", "paid", "pay_currency", "pay_amount", "files"])
        for row in rows:
            currency = next(iter(row["earned"]), next(iter(row["paid"]), ""))
            pay_currency = next(iter(row["paid_pay"]), "")
            writer.writerow(
                [
                    row["payee"],
                    row["name"],
                    currency,
                    _text(row["earned"].get(currency)),
                    _text(row["paid"].get(currency)),
                    pay_currency,
                    _text(row["paid_pay"].get(pay_currency)),
                    " ".join(row["files"]),
                ]
            )
    result.files += [index, folder / "index.csv"]
    return result


def _text(value: object) -> str:
    return to_text(value) if isinstance(value, Decimal) else ""
