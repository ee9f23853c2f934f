"""The one-page comparison report of a plan model, as HTML and PDF (WeasyPrint), byte-identical when made again.

Input: a model's result (`plan_modeling.model_json`, as a job keeps it). Output: an A4 page: what was modeled,
the versions side by side (history: payout, cost of sales, payee tails, cap and threshold hits; Monte Carlo:
total payout P10/P50/P90/P99/max), a histogram of simulated total payout per version and the largest gains and
losses per payee, drawn as inline SVG (no script: the PDF has none). The page carries no generation time, and the
PDF no creation date, so the same result gives the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import threading
from decimal import Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

COLOURS = ("#5470c6", "#ee6666", "#91cc75", "#fac858", "#73c0de", "#3ba272")


def money(value: str | Decimal | float | None) -> str:
    """12345.6 → 12,345.60 (text from the result, never through float)."""
    if value is None:
        return ""
    return f"{Decimal(str(value)):,.2f}"


def percent(value: str | None) -> str:
    if value is None:
        return "n/a"
    return f"{Decimal(value) * 100:.2f}%"


def histogram_svg(histogram: dict[str, Any], width: int = 340, height: int = 150) -> str:
    """Grouped bars of the simulated totals per version, on shared bins."""
    edges, counts = histogram.get("edges") or [], histogram.get("counts") or {}
    if not edges or not counts:
        return ""
    bins = len(edges) - 1
    top = max((max(c) for c in counts.values() if c), default=1) or 1
    left, bottom = 4, 18
    plot_w, plot_h = width - 8, height - bottom - 4
    slot = plot_w / bins
    bar = slot / (len(counts) + 0.5)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
    ]
    for s, values in enumerate(counts.values()):
        colour = COLOURS[s % len(COLOURS)]
        for i, n in enumerate(values):
            h = plot_h * n / top
            x = left + i * slot + s * bar
            parts.append(
                f'<rect x="{x:.1f}" y="{4 + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}"/>'
            )
    parts.append(f'<line x1="{left}" y1="{4 + plot_h}" x2="{left + plot_w}" y2="{4 + plot_h}" stroke="#999"/>')
    parts.append(f'<text x="{left}" y="{height - 4}" font-size="8">{money(edges[0])}</text>')
    parts.append(
        f'<text x="{left + plot_w}" y="{height - 4}" font-size="8" text-anchor="end">{money(edges[-1])}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def changes_svg(change: dict[str, Any], width: int = 340, height: int = 150) -> str:
    """Horizontal bars: the largest gains (green) and losses (red) per payee, history."""
    rows = [*change["top_gains"][:5], *reversed(change["top_losses"][:5])]
    if not rows:
        return ""
    biggest = max(abs(Decimal(r["delta"])) for r in rows) or Decimal(1)
    row_h = (height - 4) / len(rows)
    middle = width * 0.55
    half = width * 0.43
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
    ]
    for i, r in enumerate(rows):
        delta = Decimal(r["delta"])
        w = float(abs(delta) / biggest) * half
        y = 2 + i * row_h
        x = middle if delta >= 0 else middle - w
        colour = "#3ba272" if delta >= 0 else "#ee6666"
        parts.append(f'<rect x="{x:.1f}" y="{y + 1:.1f}" width="{w:.1f}" height="{row_h - 2:.1f}" fill="{colour}"/>')
        anchor, tx = ("end", middle - 3) if delta >= 0 else ("start", middle + 3)
        parts.append(
            f'<text x="{tx:.1f}" y="{y + row_h * 0.7:.1f}" font-size="7" text-anchor="{anchor}">{r["payee"]} '
            f"{'+' if delta >= 0 else ''}{money(delta)}</text>"
        )
    parts.append(f'<line x1="{middle}" y1="0" x2="{middle}" y2="{height}" stroke="#999"/></svg>')
    return "".join(parts)


_ENV: Environment | None = None


def environment() -> Environment:
    global _ENV
    if _ENV is None:
        env = Environment(
            loader=PackageLoader("openspm.insights", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters.update(money=money, percent=percent)
        env.globals.update(histogram_svg=histogram_svg, changes_svg=changes_svg, colours=COLOURS)
        _ENV = env
    return _ENV


def render_html(result: dict[str, Any], job_id: int | None = None) -> str:
    """The report page (standalone HTML, styles inline)."""
    return environment().get_template("plan_model_report.html").render(r=result, job_id=job_id)


_PDF_LOCK = threading.Lock()


def render_pdf(result: dict[str, Any], job_id: int | None = None) -> bytes:
    """The report as an A4 PDF, byte-identical for the same result: no creation or modification date, a file
    identifier from the HTML's digest, and font subsets stamped with a fixed time (SOURCE_DATE_EPOCH = 0 while
    writing, as the statements do)."""
    from weasyprint import HTML  # type: ignore[import-untyped]  # imported late: it loads pango

    html = render_html(result, job_id)
    identifier = hashlib.sha256(html.encode("utf-8")).hexdigest()[:32].encode("ascii")
    with _PDF_LOCK:
        before = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = "0"
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
