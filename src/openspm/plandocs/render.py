"""Render a plan document as HTML (Jinja2, print CSS) and PDF (WeasyPrint), deterministically.

The same `PlanDoc` gives byte-identical HTML and PDF: the page carries no generation time (only the version's
publication and the acceptance), and the PDF is written by `statements.render.html_to_pdf` (no creation date,
a file identifier from the HTML's digest, SOURCE_DATE_EPOCH fixed to the acceptance, else the publication).
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from openspm.plandocs.service import PlanDoc
from openspm.statements.render import day, html_to_pdf, money, number, percent

_ENV: Environment | None = None


def environment() -> Environment:
    """The plan documents' Jinja2 environment (built once)."""
    global _ENV
    if _ENV is None:
        env = Environment(
            loader=PackageLoader("openspm.plandocs", "templates"),
            autoescape=select_autoescape(["html"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.filters.update(money=money, number=number, percent=percent, day=day)
        _ENV = env
    return _ENV


def render_html(doc: PlanDoc) -> str:
    """The plan document as a standalone HTML page (styles inline; A4 print CSS)."""
    return environment().get_template("plan_document.html").render(d=doc)


def pdf_epoch(doc: PlanDoc) -> int:
    """The fixed time inside the PDF: the acceptance, else the version's publication (Unix seconds)."""
    stamp = doc.acceptance.accepted_at if doc.acceptance is not None else doc.published_at
    return int(stamp.timestamp())


def render_pdf(doc: PlanDoc) -> bytes:
    """The plan document as an A4 PDF, byte-identical for the same document."""
    return html_to_pdf(render_html(doc), pdf_epoch(doc))


def file_stem(doc: PlanDoc) -> str:
    """`plan-<plan>-v<version>-<payee>`: the download's file name without extension."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in f"{doc.plan}-v{doc.version}-{doc.payee}")
    return f"plan-{safe}"
