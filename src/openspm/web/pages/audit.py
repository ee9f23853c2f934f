"""The audit log viewer (admin, comp analyst, finance): filter by entity, actor, action, days and key; newest
first, a page at a time; each entry's before and after shown as a field diff."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from openspm.access.audit_log import audit_facets_for, audit_for
from openspm.access.principal import Principal
from openspm.audit.service import AuditFilter
from openspm.core.errors import InvalidInput
from openspm.web.security import engine_of, page_principal
from openspm.web.templating import render, templates

router = APIRouter(prefix="/admin")
PAGE = 50


def audit_value(value: Any) -> str:
    """A before or after value as a person reads it: lists joined, true/false, JSON for anything nested."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value) or "(none)"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


templates.env.filters["audit_value"] = audit_value


def _day(value: str, name: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{name} {value!r} is not a date like 2025-03-01") from None


@router.get("/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    entity: str = Query("", max_length=64),
    actor: str = Query("", max_length=254),
    action: str = Query("", max_length=32),
    key: str = Query("", max_length=256),
    since: str = Query("", max_length=10),
    until: str = Query("", max_length=10),
    page: int = Query(1, ge=1, le=1_000_000),
    principal: Principal = Depends(page_principal),
) -> Response:
    engine = engine_of(request)
    facets = audit_facets_for(engine, principal)
    filters = {"entity": entity, "actor": actor, "action": action, "key": key, "since": since, "until": until}
    where = AuditFilter(
        entity or None, actor or None, action or None, key or None, _day(since, "since"), _day(until, "until")
    )
    rows, total = audit_for(engine, principal, where, limit=PAGE, offset=(page - 1) * PAGE)
    kept = {k: v for k, v in filters.items() if v}
    return render(
        request,
        "audit.html",
        principal,
        help_anchor="audit-log",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, (total + PAGE - 1) // PAGE),
        filters=filters,
        query=lambda p: urlencode({**kept, "page": p}),
        entities=facets["entities"],
        actions=facets["actions"],
    )
