"""Register plan files as plan versions in the store.

`add_plan(engine, path)` checks the file (any mistake is a `PlanError` naming the
file and key), creates the plan if it is new, and stores the document as its next
version with the file's effective dates. Unchanged text is not stored twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.plan.load import load_plan
from openspm.store import models as m


@dataclass(frozen=True)
class AddedPlan:
    plan: str
    version: int
    created: bool  # False when the same document was already the newest version


def add_plan(engine: Engine, path: Path, actor: str = "cli") -> AddedPlan:
    """Check a plan file and store it as the plan's next version."""
    document = load_plan(path)
    text = path.read_text(encoding="utf-8")
    with Session(engine) as session, session.begin():
        plan = session.scalars(select(m.Plan).where(m.Plan.external_id == document.plan)).first()
        if plan is None:
            plan = m.Plan(
                external_id=document.plan,
                name=document.name,
                currency=document.currency,
                description=document.description,
            )
            session.add(plan)
            session.flush()
        else:
            plan.name, plan.currency, plan.description = document.name, document.currency, document.description
            plan.row_hash = None
        newest = session.scalars(
            select(m.PlanVersion).where(m.PlanVersion.plan_id == plan.id).order_by(m.PlanVersion.version.desc())
        ).first()
        if newest is not None and newest.document == text:
            return AddedPlan(document.plan, newest.version, created=False)
        version = (
            session.scalar(select(func.max(m.PlanVersion.version)).where(m.PlanVersion.plan_id == plan.id)) or 0
        ) + 1
        session.add(
            m.PlanVersion(
                plan_id=plan.id,
                version=version,
                effective_from=document.effective_from,
                effective_to=document.effective_to,
                document=text,
            )
        )
        session.add(
            m.AuditEntry(
                at=utc_now(),
                actor=actor,
                action="insert",
                entity="plan_versions",
                entity_key=f"{document.plan} / {version}",
                after={"file": str(path), "effective_from": str(document.effective_from)},
            )
        )
        return AddedPlan(document.plan, version, created=True)
