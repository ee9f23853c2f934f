"""`/api/v1/audit`: the audit log, newest first, filtered; each entry with its field diff. Admin, comp_analyst
and finance (read-only); 403 for managers and reps."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from openspm.access.audit_log import audit_for
from openspm.access.principal import Principal
from openspm.audit.service import AuditFilter
from openspm.web.api.endpoints import ERRORS, Offset, principal
from openspm.web.api.schemas import PageOut
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["audit"])


class ChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    field: str
    before: Any
    after: Any


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor: str
    action: str = Field(description="insert, update, delete, approve, close, login, set_password ...")
    entity: str = Field(description="The table, e.g. users, adjustments, periods")
    entity_key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None
    changes: list[ChangeOut] = Field(description="The fields that changed, with before and after")


@router.get("/audit", response_model=PageOut[AuditEntryOut])
def audit(
    request: Request,
    entity: str | None = Query(None, max_length=64),
    actor: str | None = Query(None, max_length=254),
    action: str | None = Query(None, max_length=32),
    key: str | None = Query(None, max_length=256, description="Part of the entity's key or id"),
    since: date | None = Query(None, description="From this UTC day (inclusive)"),
    until: date | None = Query(None, description="To this UTC day (inclusive)"),
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Who changed what, when: entries newest first with their before, after and field diff."""
    where = AuditFilter(entity, actor, action, key, since, until)
    items, total = audit_for(engine_of(request), who, where, limit=limit, offset=offset)
    return {
        "items": [AuditEntryOut.model_validate(e) for e in items],
        "total": total,
        "limit": limit,
        "offset": offset,
    }
