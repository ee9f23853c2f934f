"""Render a statement as HTML (Jinja2) and PDF (WeasyPrint), deterministically.

The same `StatementData` gives byte-identical HTML and PDF: the page carries no generation time (only the run's
finish time and the close's), the PDF has no creation or modification date and a fixed file identifier derived
from the HTML. Money is formatted here and only here: `money` writes a stored Decimal exactly, with thousands
separators and at least two decimals (`1234.5` → `1,234.50`, `1015342.211637` → `1,015,342.211637`); it never
rounds.
"""

from __future__ import annotations

import hashlib
import os
import threading
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from openspm.statements.service import StatementData

MINUS = "\u2212"
CENT = Decimal("0.01")


def money(value: Decimal | None) -> str:
    """A Decimal exactly, with thousands separators and at least 2 decimals (trailing zeros beyond them
    dropped); '' for None. Never rounds."""
    if value is None:
        return ""
    if value == 0:
        value = abs(value)
    value = value.normalize()  # drops trailing zeros only: 14880.000000000000 → 14880
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        value = value.quantize(CENT)  # adds zeros back to 2 places: still exact
    return format(value, ",f").replace("-", MINUS)


def number(value: Decimal | int | None) -> str:
    """A count or quantity exactly, with thousands separators and no forced decimals."""
    if value is None:
        return ""
    if isinstance(value, int):
        return f"{value:,}"
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        normal = normal.quantize(Decimal(1))
    return format(normal, ",f").replace("-", MINUS)


def percent(value: Decimal | None, places: int | None = None) -> str:
    """A fraction as a percentage: exact (`0.128` → `12.8%`), or shown to `places` decimals for display
    (attainment `0.88494871…` → `88.49%`)."""
    if value is None:
        return ""
    shifted = value.scaleb(2)
    if places is not None:
        shifted = shifted.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
        return format(shifted, ",f").replace("-", MINUS) + "%"
    return number(shifted) + "%"


def day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def source_text(source: dict[str, str], skip: tuple[str, ...] = ()) -> str:
    """A payment line's link as `key value` pairs, leaving out `skip`."""
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in source.items() if k not in skip)


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("openspm.statements", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(money=money, number=number, percent=percent, day=day, source=source_text)
    return env


_ENV: Environment | None = None


def environment() -> Environment:
    """The statements' Jinja2 environment (built once)."""
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    return _ENV


def render_html(data: StatementData) -> str:
    """The statement as a standalone HTML page (styles inline; A4 print CSS)."""
    return environment().get_template("statement.html").render(s=data)


def render_index(period: str, rows: list[dict[str, Any]]) -> str:
    """The index page of a bulk run: one row per payee with links to its files."""
    return environment().get_template("index.html").render(period=period, rows=rows)


def render_pdf(data: StatementData) -> bytes:
    """The statement as a PDF (A4), byte-identical for the same data."""
    return html_to_pdf(render_html(data), pdf_epoch(data))


def pdf_epoch(data: StatementData) -> int:
    """The fixed time stamped inside the PDF's embedded fonts: the close, else the run's finish (Unix seconds)."""
    stamp = data.closed_at or data.run_finished_at
    return int(stamp.timestamp()) if stamp is not None else 0


_PDF_LOCK = threading.Lock()


def html_to_pdf(html: str, epoch: int = 0) -> bytes:
    """A4 PDF of a statement page, byte-identical for the same HTML and `epoch`.

    The PDF has no creation or modification date and a file identifier made from the HTML's digest. Font
    subsets written by fontTools (when HarfBuzz-Subset is missing) stamp their `head` table with the time of
    writing unless SOURCE_DATE_EPOCH is set, so it is set to `epoch` while the PDF is written.
    """
    from weasyprint import HTML  # type: ignore[import-untyped]  # imported late: it loads pango

    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode("ascii")
    with _PDF_LOCK:
        before = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
        try:
            document = HTML(string=html, base_url=None).render()
            document.metadata.created = None
            document.metadata.modified = None
            pdf: bytes = document.write_pdf(pdf_identifier=identifier)
        finally:
            if before is None:
                del os.environ["SOURCE_DATE_EPOCH"]
            else:
                os.environ["SOURCE_DATE_EPOCH"] = before
    return pdf
