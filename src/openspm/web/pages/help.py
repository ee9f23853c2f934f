"""`/help/web`: the web guide (docs/web.md) as a page, so every page's help link lands on its section.

The guide is read from the source checkout's `docs/` folder; headings get the anchors the pages link to
(`## Rep dashboard` → `#rep-dashboard`). Only a small Markdown subset is rendered (headings, paragraphs,
lists, code blocks, inline code, tables as preformatted text); everything is escaped first.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape

from openspm.core.errors import NotFound
from openspm.web.security import session_principal
from openspm.web.templating import render

router = APIRouter()
DOCS = Path(__file__).resolve().parents[4] / "docs"
GUIDES = {"web": "web.md", "insights": "insights.md"}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _inline(text: str) -> str:
    escaped = str(escape(text))
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


def markdown(source: str) -> Markup:
    """The small Markdown subset described above, as safe HTML."""
    out: list[str] = []
    block: list[str] = []
    fence = False
    items: list[str] = []

    def flush() -> None:
        if block:
            out.append(f"<p>{_inline(' '.join(block))}</p>")
            block.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for line in source.splitlines():
        if line.startswith("```"):
            flush()
            out.append("</pre>" if fence else "<pre>")
            fence = not fence
            continue
        if fence:
            out.append(str(escape(line)) + "\n")
            continue
        heading = re.match(r"^(#{1,4})\s+(.*)$", line)
        if heading:
            flush()
            level = len(heading.group(1))
            out.append(f'<h{level} id="{slug(heading.group(2))}">{_inline(heading.group(2))}</h{level}>')
        elif line.startswith("|"):
            flush()
            out.append(f'<pre class="table">{escape(line)}</pre>')
        elif re.match(r"^\s*[-*]\s+", line):
            if block:
                flush()
            items.append(re.sub(r"^\s*[-*]\s+", "", line))
        elif not line.strip():
            flush()
        elif items and line.startswith("  "):
            items[-1] += " " + line.strip()
        else:
            block.append(line.strip())
    flush()
    return Markup("".join(out))  # noqa: S704 (built from escaped text only)


@router.get("/help/{guide}", response_class=HTMLResponse)
def help_page(request: Request, guide: str) -> Response:
    name = GUIDES.get(guide)
    if name is None:
        raise NotFound(f"no help page {guide!r}; see /help/web")
    path = DOCS / name
    body = (
        markdown(path.read_text(encoding="utf-8"))
        if path.exists()
        else Markup("<p>The guide is in <code>docs/web.md</code> of the openspm repository.</p>")
    )
    return render(request, "help.html", session_principal(request), help_anchor="", body=body)
