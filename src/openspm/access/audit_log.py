"""The audit log, for admin, comp analyst and finance (read-only): who changed what, when, before and after."""

from __future__ import annotations

from sqlalchemy import Engine

from openspm.access.principal import Principal
from openspm.access.runs_admin import require_staff
from openspm.audit import service as log
from openspm.audit.service import AuditFilter, EntryView


def audit_for(
    engine: Engine, principal: Principal, where: AuditFilter, *, limit: int = 50, offset: int = 0
) -> tuple[list[EntryView], int]:
    require_staff(principal, "the audit log")
    return log.entries(engine, where, limit=limit, offset=offset)


def audit_facets_for(engine: Engine, principal: Principal) -> dict[str, list[str]]:
    require_staff(principal, "the audit log")
    return log.facets(engine)
