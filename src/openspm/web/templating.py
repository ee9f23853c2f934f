"""The Jinja2 environment of the pages: money, number and percent filters (the statements' own: exact,
never rounded, except attainment shown to two places), and what every page gets (principal, CSRF token)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from openspm import __version__
from openspm.access.principal import Principal
from openspm.statements.render import day, money, number, percent
from openspm.web.pages.tour import tour_context
from openspm.web.security import csrf_token

HERE = Path(__file__).parent
DOCS = "/help/web"


def _percent2(value: Decimal | None) -> str:
    return percent(value, 2)


def amounts(values: dict[str, Decimal]) -> str:
    """`{"USD": 1234.5}` → `1,234.50 USD`; several currencies joined; `0` for none."""
    if not values:
        return "0.00"
    return ", ".join(f"{money(v)} {c}" for c, v in sorted(values.items()))


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(money=money, number=number, percent=_percent2, day=day, amounts=amounts)


def render(
    request: Request,
    name: str,
    principal: Principal | None,
    status_code: int = 200,
    help_anchor: str = "",
    **context: Any,
) -> HTMLResponse:
    """A page, with the principal, the CSRF token, the version, the page's help link and the first-run tour."""
    return templates.TemplateResponse(
        request,
        name,
        {
            "me": principal,
            "csrf": csrf_token(request),
            "version": __version__,
            "help": f"{DOCS}#{help_anchor}" if help_anchor else DOCS,
            "tour": tour_context(request, principal),
            **context,
        },
        status_code=status_code,
    )
