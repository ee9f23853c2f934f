"""Register plan files as plan versions in the store; read, compare and publish versions.

`add_plan(engine, path)` checks the file (any mistake is a `PlanError` naming the
file and key), creates the plan if it is new, and stores the document as its next
version with the file's effective dates. Unchanged text is not stored twice.
`publish_version` does the same from text (the web's editor), effective from a chosen date, and refuses a
version that would govern a day of a closed month; `plan_versions`, `plan_version` and `diff_versions` read
them back. Published versions never change: a change is a new version.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.core.errors import Conflict, NotFound
from openspm.plan.load import PlanError, load_plan, parse_plan
from openspm.store import models as m
from openspm.store.audit import audit


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


# --- reading plans and versions, publishing from text, diffs (the web's plan pages) -----------------------------


@dataclass(frozen=True)
class PlanSummary:
    plan: str
    name: str
    currency: str
    description: str | None
    versions: int
    newest: int | None
    in_force: int | None  # the version that governs `on` (None when none does)


@dataclass(frozen=True)
class VersionInfo:
    plan: str
    version: int
    effective_from: date
    effective_to: date | None  # as stored on the version
    applies_to: date | None  # where it stops governing: its own end, or the next version's start
    published_by: str | None
    published_at: datetime
    document: str | None = None


def _version_key(plan: str, version: int) -> str:
    return f"{plan} / {version}"


def _publishers(session: Session, plan: str) -> dict[str, str]:
    rows = session.execute(
        select(m.AuditEntry.entity_key, m.AuditEntry.actor)
        .where(m.AuditEntry.entity == "plan_versions", m.AuditEntry.entity_key.like(f"{plan} / %"))
        .order_by(m.AuditEntry.id)
    )
    found: dict[str, str] = {}
    for key, actor in rows:
        found.setdefault(key, actor)
    return found


def _governing(versions: list[tuple[int, date, date | None]]) -> dict[int, date | None]:
    """version → the day it stops governing: its own `effective_to`, or the start of the next version to take
    over (the one with the next later `effective_from`; the higher number wins a shared start day)."""
    by_start: dict[date, int] = {}
    for version, start, _ in sorted(versions):
        by_start[start] = version  # a higher version number replaces a lower one of the same day
    starts = sorted(by_start)
    ends: dict[int, date | None] = {}
    for version, start, end in versions:
        if by_start.get(start) != version:
            ends[version] = start  # superseded on its first day: it never governs
            continue
        later = [s for s in starts if s > start]
        candidates = [d for d in (end, later[0] if later else None) if d is not None]
        ends[version] = min(candidates) if candidates else None
    return ends


def _governs(start: date, end: date | None, day: date) -> bool:
    return start <= day and (end is None or day < end)


def _plan_row(session: Session, plan: str) -> m.Plan:
    row = session.scalars(select(m.Plan).where(m.Plan.external_id == plan)).first()
    if row is None:
        raise NotFound(f"unknown plan {plan!r}")
    return row


def list_plans(engine: Engine, only: set[str] | None = None, on: date | None = None) -> list[PlanSummary]:
    """The plans (all, or those in `only`) by id, with their version count, newest and in-force version."""
    day = on or date.today()
    with Session(engine) as session:
        plans = list(session.scalars(select(m.Plan).order_by(m.Plan.external_id)))
        rows = session.execute(
            select(
                m.PlanVersion.plan_id, m.PlanVersion.version, m.PlanVersion.effective_from, m.PlanVersion.effective_to
            )
        ).all()
    by_plan: dict[int, list[tuple[int, date, date | None]]] = {}
    for plan_id, version, start, end in rows:
        by_plan.setdefault(plan_id, []).append((version, start, end))
    summaries = []
    for p in plans:
        if only is not None and p.external_id not in only:
            continue
        versions = by_plan.get(p.id, [])
        ends = _governing(versions)
        in_force = [v for v, start, _ in versions if _governs(start, ends[v], day)]
        summaries.append(
            PlanSummary(
                p.external_id,
                p.name,
                p.currency,
                p.description,
                len(versions),
                max((v for v, _, _ in versions), default=None),
                max(in_force, default=None),
            )
        )
    return summaries


def plan_versions(engine: Engine, plan: str) -> list[VersionInfo]:
    """A plan's versions, newest first, with where each stops governing and who published it."""
    with Session(engine) as session:
        row = _plan_row(session, plan)
        versions = list(session.scalars(select(m.PlanVersion).where(m.PlanVersion.plan_id == row.id)))
        publishers = _publishers(session, plan)
    ends = _governing([(v.version, v.effective_from, v.effective_to) for v in versions])
    return [
        VersionInfo(
            plan,
            v.version,
            v.effective_from,
            v.effective_to,
            ends[v.version],
            publishers.get(_version_key(plan, v.version)),
            v.created_at,
        )
        for v in sorted(versions, key=lambda v: v.version, reverse=True)
    ]


def plan_version(engine: Engine, plan: str, version: int) -> VersionInfo:
    """One version with its plan document (NotFound for an unknown plan or version)."""
    found = next((v for v in plan_versions(engine, plan) if v.version == version), None)
    if found is None:
        raise NotFound(f"plan {plan!r} has no version {version}")
    with Session(engine) as session:
        document = session.scalars(
            select(m.PlanVersion.document)
            .join(m.Plan, m.Plan.id == m.PlanVersion.plan_id)
            .where(m.Plan.external_id == plan, m.PlanVersion.version == version)
        ).first()
    return replace(found, document=document or "")


_EFFECTIVE_FROM = re.compile(r"^effective_from:[^\n#]*", re.MULTILINE)


def with_effective_from(text: str, day: date) -> str:
    """The plan text with its top-level `effective_from:` set to `day` (comments and layout kept)."""
    if not _EFFECTIVE_FROM.search(text):
        raise PlanError("plan", "effective_from", "required key is missing (write it as a top-level line)")
    return _EFFECTIVE_FROM.sub(f"effective_from: {day.isoformat()}", text, count=1)


def check_open_window(session: Session, start: date, end: date | None) -> None:
    """Conflict when a closed month overlaps `[start, end)`: a version governing it would change what a closed
    month paid, and closed months never change (the engine refuses to run them again)."""
    closed_names = set(session.scalars(select(m.PeriodClose.period).where(m.PeriodClose.status == "closed"))) | set(
        session.scalars(select(m.Period.name).where(m.Period.kind == "month", m.Period.status == "closed"))
    )
    if not closed_names:
        return
    months = session.execute(
        select(m.Period.name, m.Period.start_date, m.Period.end_date)
        .where(m.Period.name.in_(sorted(closed_names)), m.Period.kind == "month")
        .order_by(m.Period.start_date)
    ).all()
    hit = [(name, s, e) for name, s, e in months if e > start and (end is None or s < end)]
    if hit:
        name, s, e = hit[0]
        first_open = max(e for _, _, e in months)
        raise Conflict(
            f"{name} is closed ({s} to {e}): a version effective from {start} would change what it paid, and closed "
            f"months never change; publish it effective from {first_open} or later"
        )


def publish_version(
    engine: Engine,
    plan: str,
    text: str,
    *,
    actor: str,
    effective_from: date | None = None,
    note: str | None = None,
) -> VersionInfo:
    """Check a plan document given as text and store it as the plan's next version (a new plan when `plan` is
    new), effective from `effective_from` (default: the document's own date).

    Everything is checked before anything is written: the document (`PlanError`, 422, naming file and key),
    that it is this plan (422), that no closed month falls in the days it would govern (`Conflict`, 409), and
    that it differs from the newest version (409). Published versions never change; the audit entry records
    the actor, the dates and the note."""
    source = f"{plan}.yaml"
    if effective_from is not None:
        text = with_effective_from(text, effective_from)
    document = parse_plan(text, source)
    if document.plan != plan:
        raise PlanError(source, "plan", f"the document is plan {document.plan!r}, not {plan!r}")
    with Session(engine) as session, session.begin():
        row = session.scalars(select(m.Plan).where(m.Plan.external_id == plan)).first()
        versions = list(session.scalars(select(m.PlanVersion).where(m.PlanVersion.plan_id == row.id))) if row else []
        newest = max(versions, key=lambda v: v.version, default=None)
        if newest is not None and newest.document == text:
            raise Conflict(f"the draft is the same as version {newest.version} of {plan}; nothing to publish")
        later = [v.effective_from for v in versions if v.effective_from > document.effective_from]
        ends = [d for d in (document.effective_to, min(later, default=None)) if d is not None]
        check_open_window(session, document.effective_from, min(ends) if ends else None)
        if row is None:
            row = m.Plan(external_id=plan, name=document.name, currency=document.currency)
            session.add(row)
        row.name, row.currency, row.description = document.name, document.currency, document.description
        row.row_hash = None
        session.flush()
        number = max((v.version for v in versions), default=0) + 1
        session.add(
            m.PlanVersion(
                plan_id=row.id,
                version=number,
                effective_from=document.effective_from,
                effective_to=document.effective_to,
                document=text,
            )
        )
        audit(
            session,
            actor,
            "insert",
            "plan_versions",
            _version_key(plan, number),
            after={
                "effective_from": str(document.effective_from),
                "effective_to": str(document.effective_to) if document.effective_to else None,
                "previous": newest.version if newest else None,
            },
            note=note,
        )
    return next(v for v in plan_versions(engine, plan) if v.version == number)


@dataclass(frozen=True)
class VersionDiff:
    plan: str
    old: int
    new: int
    lines: list[str]  # a unified diff of the two documents
    changes: list[str]  # in words: which components, measures and settings changed


def _named(items: list[Any]) -> dict[str, Any]:
    return {str(getattr(i, "name", n)): i for n, i in enumerate(items)}


def structural_changes(old: str, new: str) -> list[str]:
    """What changed between two plan documents, by component, measure and top-level setting (empty when either
    does not parse)."""
    try:
        a, b = parse_plan(old, "old"), parse_plan(new, "new")
    except PlanError:
        return []
    found: list[str] = []
    for label, left, right in (("component", a.components, b.components), ("measure", a.measures, b.measures)):
        before, after = _named(list(left)), _named(list(right))
        found += [f"{label} {n} added" for n in after if n not in before]
        found += [f"{label} {n} removed" for n in before if n not in after]
        found += [f"{label} {n} changed" for n in after if n in before and before[n] != after[n]]
    skip = {"components", "measures"}
    for key in type(a).model_fields:
        if key not in skip and getattr(a, key) != getattr(b, key):
            found.append(f"{key} changed")
    return found


def diff_versions(engine: Engine, plan: str, old: int, new: int) -> VersionDiff:
    """The unified diff of two versions' documents and a short list of what changed."""
    a, b = plan_version(engine, plan, old), plan_version(engine, plan, new)
    lines = list(
        difflib.unified_diff(
            (a.document or "").splitlines(),
            (b.document or "").splitlines(),
            f"{plan} version {old}",
            f"{plan} version {new}",
            lineterm="",
        )
    )
    return VersionDiff(plan, old, new, lines, structural_changes(a.document or "", b.document or ""))


def assigned_plans(engine: Engine, payee_id: int) -> set[str]:
    """The ids of the plans a payee has ever been assigned to."""
    with Session(engine) as session:
        return set(
            session.scalars(
                select(m.Plan.external_id)
                .join(m.PlanAssignment, m.PlanAssignment.plan_id == m.Plan.id)
                .where(m.PlanAssignment.payee_id == payee_id)
            )
        )
