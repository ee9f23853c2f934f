"""Plans for the web and API: who may read which plan, and who may publish a version.

Admin, comp analyst, finance and managers read every plan; a rep reads the plans they are (or were) assigned
to, and any other plan is `NotFound` to them. Publishing needs the write right (admin, comp analyst; a token
with the write scope). Validation is a pure check of text, open to every signed-in user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine

from openspm.access.principal import Principal
from openspm.core.errors import NotFound
from openspm.plan.load import PlanError, parse_plan, plan_json_schema
from openspm.plans import service as plans
from openspm.plans.service import PlanSummary, VersionDiff, VersionInfo


def _visible(engine: Engine, principal: Principal) -> set[str] | None:
    """The plan ids the principal may read (None: every plan)."""
    if principal.sees_all or principal.is_manager:
        return None
    if principal.payee_id is None:
        return set()
    return plans.assigned_plans(engine, principal.payee_id)


def _check(engine: Engine, principal: Principal, plan: str) -> None:
    visible = _visible(engine, principal)
    if visible is not None and plan not in visible:
        raise NotFound(f"unknown plan {plan!r}")


def plans_for(engine: Engine, principal: Principal) -> list[PlanSummary]:
    """The plans the principal may read, by id."""
    return plans.list_plans(engine, _visible(engine, principal))


def plan_for(engine: Engine, principal: Principal, plan: str) -> PlanSummary:
    found = next((p for p in plans_for(engine, principal) if p.plan == plan), None)
    if found is None:
        raise NotFound(f"unknown plan {plan!r}")
    return found


def versions_for(engine: Engine, principal: Principal, plan: str) -> list[VersionInfo]:
    """A plan's versions, newest first."""
    _check(engine, principal, plan)
    return plans.plan_versions(engine, plan)


def version_for(engine: Engine, principal: Principal, plan: str, version: int) -> VersionInfo:
    """One version with its YAML document."""
    _check(engine, principal, plan)
    return plans.plan_version(engine, plan, version)


def diff_for(engine: Engine, principal: Principal, plan: str, old: int, new: int) -> VersionDiff:
    _check(engine, principal, plan)
    return plans.diff_versions(engine, plan, old, new)


@dataclass(frozen=True)
class Problem:
    source: str
    key: str
    problem: str
    message: str  # `FILE @ key: problem`, as `openspm plan check` prints it


@dataclass(frozen=True)
class Validation:
    valid: bool
    plan: str | None
    name: str | None
    measures: list[str]
    components: list[str]
    errors: list[Problem]


def validate(text: str, source: str = "plan.yaml") -> Validation:
    """Check plan text as `openspm plan check` does: schema, references, expressions (never evaluated)."""
    try:
        document = parse_plan(text, source)
    except PlanError as exc:
        return Validation(False, None, None, [], [], [Problem(exc.source, exc.key, exc.problem, str(exc))])
    return Validation(
        True,
        document.plan,
        document.name,
        [x.name for x in document.measures],
        [c.name for c in document.components],
        [],
    )


def schema() -> dict[str, Any]:
    """The JSON Schema of plan files."""
    return plan_json_schema()


def publish_for(
    engine: Engine,
    principal: Principal,
    plan: str,
    text: str,
    effective_from: date | None = None,
    note: str | None = None,
) -> VersionInfo:
    """Publish `text` as the plan's next version (admin, comp analyst); see `plans.service.publish_version`."""
    principal.require_write("publishing a plan version")
    return plans.publish_version(
        engine, plan, text, actor=principal.actor, effective_from=effective_from, note=note or None
    )
