"""Validated, idempotent import of one file into the store.

Pipeline (each step a small function; issues are values):

    read_table → bind_columns → parse_rows → dedupe → resolve_references
      → check_in_periods → check_overlaps → plan_changes → write_changes

Rules a user relies on:
- Every row is either loaded or reported as rejected (file, row, column, value,
  reason); a rejected-rows CSV is written next to the summary.
- Idempotent: re-importing the same file changes nothing. A row whose key
  exists with other content updates that row, and the change (before and after)
  goes to the audit log. Free attributes merge: keys not in the file are kept.
- A file that cannot be read as a whole raises `FileFormatError` before any
  write; all writes of one import are one database transaction.
- `dry_run` does everything but write; `strict` writes nothing when any row is
  rejected.
"""

from __future__ import annotations

import bisect
import gc
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from openspm.core.dates import utc_now
from openspm.core.errors import InvalidInput
from openspm.core.issues import ISSUE_COLUMNS, Issue
from openspm.ingest import repository as repo
from openspm.ingest.kinds import KINDS, Kind, T
from openspm.ingest.kinds import kind as kind_named
from openspm.ingest.mapping import Binding, bind_columns, load_mapping
from openspm.ingest.readers import read_table, write_csv
from openspm.ingest.validate import ParsedRow, dedupe, parse_rows, text_of
from openspm.store import models as m

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as an import advances; total 0 = unknown."""


@dataclass
class ImportReport:
    """What an import did, row by row."""

    kind: str
    file: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    issues: list[Issue] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    dry_run: bool = False
    strict_refused: bool = False
    batch_id: int | None = None
    rejects_path: str | None = None
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage

    def summary(self) -> str:
        """One line with the counts, as the CLI prints it."""
        verb = "would load" if self.dry_run or self.strict_refused else "loaded"
        line = (
            f"{self.file}: {self.rows} rows {verb} into {self.kind}: {self.inserted} inserted, "
            f"{self.updated} updated, {self.unchanged} unchanged, {self.rejected} rejected"
        )
        if self.strict_refused:
            line += "; nothing written (--strict and rows were rejected)"
        elif self.dry_run:
            line += " (dry run: nothing written)"
        if self.rejects_path:
            line += f"; rejected rows in {self.rejects_path}"
        return line

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "file": self.file,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "dry_run": self.dry_run,
            "strict_refused": self.strict_refused,
            "batch_id": self.batch_id,
            "rejects_path": self.rejects_path,
            "ignored_columns": self.ignored_columns,
            "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "issues": [i.as_row() for i in self.issues],
        }


@dataclass(slots=True)
class Resolved:
    """A parsed row with references turned into ids (`values`: model attribute → value)."""

    parsed: ParsedRow
    values: dict[str, Any]
    deferred: dict[str, str]  # attribute → external id of a row in this file (usually empty)


@dataclass
class Update:
    row_id: int
    resolved: Resolved
    set_values: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass
class Changes:
    inserts: list[Resolved] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    unchanged: int = 0
    refresh_digest: list[tuple[int, str]] = field(default_factory=list)


class Lookups:
    """External key → id maps, read from the store once per import."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._maps: dict[tuple[str, str], dict[str, int]] = {}
        self._reverse: dict[tuple[str, str], dict[int, str]] = {}

    def get(self, kind_name: str, by: str) -> dict[str, int]:
        key = (kind_name, by)
        if key not in self._maps:
            try:
                self._maps[key] = repo.lookup(self.session, kind_name, by)
            except KeyError:
                raise InvalidInput(f"{kind_name} cannot be matched by {by!r}") from None
        return self._maps[key]

    def name_of(self, kind_name: str, row_id: int) -> str:
        """The external key of a referenced row, for the audit log."""
        by = KINDS[kind_name].lookup_by
        key = (kind_name, by)
        if key not in self._reverse:
            self._reverse[key] = {v: k for k, v in self.get(kind_name, by).items()}
        return self._reverse[key].get(row_id, str(row_id))


# --- stages ---------------------------------------------------------------------------


_NO_DEFERRED: dict[str, str] = {}


def resolve_references(
    kind: Kind, binding: Binding, rows: list[ParsedRow], lookups: Lookups, source: str, issues: list[Issue]
) -> list[Resolved]:
    """Replace referenced external ids with store ids; reject rows with unknown references.

    A reference to a row of the same kind that is new in this file (a return of a
    sale in the same file) is deferred and resolved after that row is inserted.
    """
    plain = [(f.name, f.attribute) for f in kind.fields if f.type is not T.REF and f.type is not T.LIST]
    refs = []
    for f in kind.fields:
        if f.type is not T.REF:
            continue
        assert f.ref is not None
        src = binding.fields.get(f.name)
        by = (src.match if src is not None else None) or KINDS[f.ref].lookup_by
        label = src.label if src is not None else f.name
        refs.append((f.name, f.attribute, f.ref, by, label, lookups.get(f.ref, by)))
    own_keys = {str(r.record[kind.key[0]]) for r in rows} if kind.key == ("id",) else set()
    resolved: list[Resolved] = []
    for row in rows:
        record = row.record
        values = {attribute: record[name] for name, attribute in plain}
        deferred = _NO_DEFERRED
        problem: Issue | None = None
        for name, attribute, ref, by, label, ids in refs:
            text = record[name]
            if text is None:
                values[attribute] = None
                continue
            found = ids.get(text.lower() if by == "email" else text)
            if found is None and ref == kind.name and text in own_keys:
                deferred = {**deferred, attribute: text}
                continue
            if found is None:
                what = ref.removesuffix("s").replace("_", " ")
                reason = (
                    f"unknown {what} {text!r}"
                    if by in ("external_id", "name")
                    else f"unknown {what} with {by} {text!r}"
                )
                problem = Issue(source, row.row, label, text, reason)
                break
            if found == repo.AMBIGUOUS:
                problem = Issue(source, row.row, label, text, f"{text!r} matches several {ref}; use their ids")
                break
            values[attribute] = found
        if problem is not None:
            issues.append(problem)
        else:
            resolved.append(Resolved(row, values, deferred))
    return _drop_orphans(kind, resolved, source, issues)


def _drop_orphans(kind: Kind, rows: list[Resolved], source: str, issues: list[Issue]) -> list[Resolved]:
    """Reject rows whose same-file reference points at a row that was itself rejected."""
    if not any(r.deferred for r in rows):
        return rows
    while True:
        present = {str(r.parsed.record[kind.key[0]]) for r in rows}
        orphans = [r for r in rows if any(t not in present for t in r.deferred.values())]
        if not orphans:
            return rows
        for r in orphans:
            attribute, target = next((a, t) for a, t in r.deferred.items() if t not in present)
            column = next(f.name for f in kind.fields if f.attribute == attribute)
            issues.append(
                Issue(source, r.parsed.row, column, target, f"refers to {target!r}, which was rejected in this file")
            )
        dropped = {id(r) for r in orphans}
        rows = [r for r in rows if id(r) not in dropped]


def check_in_periods(
    kind: Kind, rows: list[Resolved], periods: list[tuple[date, date]], source: str, issues: list[Issue]
) -> list[Resolved]:
    """Reject rows whose `kind.in_period` date falls outside every period of the store."""
    if kind.in_period is None:
        return rows
    merged: list[list[date]] = []
    for start, end in periods:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    starts = [s for s, _ in merged]
    kept: list[Resolved] = []
    attribute = kind.field(kind.in_period).attribute
    for r in rows:
        day: date = r.values[attribute]
        i = bisect.bisect_right(starts, day) - 1
        if i >= 0 and day < merged[i][1]:
            kept.append(r)
        else:
            hint = (
                "no periods exist yet; run `openspm calendar create`"
                if not merged
                else (f"periods cover {merged[0][0]} to {merged[-1][1]}")
            )
            issues.append(
                Issue(source, r.parsed.row, kind.in_period, day.isoformat(), f"date outside any period ({hint})")
            )
    return kept


@dataclass
class _Span:
    """An effective range `[start, end)` of one row; `row` is None for a row already in the store."""

    group: tuple[Any, ...]
    start: date
    end: date | None
    row: Resolved | None

    def reaches(self, day: date) -> bool:
        return self.end is None or self.end > day

    def outlasts(self, other: _Span) -> bool:
        return other.end is not None and (self.end is None or self.end > other.end)


def check_overlaps(
    kind: Kind,
    rows: list[Resolved],
    stored: list[tuple[tuple[Any, ...], tuple[Any, ...], date, date | None]],
    source: str,
    issues: list[Issue],
) -> list[Resolved]:
    """Reject rows whose effective range overlaps another range of the same group.

    Rows in the file replace stored rows with the same key, so closing an old
    range and opening a new one in the same file is accepted.
    """
    ex = kind.exclusive
    if ex is None:
        return rows
    key_attrs = [kind.field(k).attribute for k in kind.key]
    group_attrs = [kind.field(g).attribute for g in ex.group]
    start_attr, end_attr = kind.field(ex.start).attribute, kind.field(ex.end).attribute
    spans: dict[tuple[Any, ...], _Span] = {key: _Span(group, start, end, None) for key, group, start, end in stored}
    for r in rows:
        key = tuple(r.values[a] for a in key_attrs)
        spans[key] = _Span(tuple(r.values[a] for a in group_attrs), r.values[start_attr], r.values[end_attr], r)
    by_group: dict[tuple[Any, ...], list[_Span]] = {}
    for span in spans.values():
        by_group.setdefault(span.group, []).append(span)
    rejected: set[int] = set()
    for group_spans in by_group.values():
        if len(group_spans) < 2:
            continue
        group_spans.sort(key=lambda s: (s.start, s.row is not None))
        latest = group_spans[0]
        for span in group_spans[1:]:
            if not latest.reaches(span.start):
                latest = span if span.outlasts(latest) else latest
                continue
            loser, winner = (span, latest) if span.row is not None else (latest, span)
            if loser.row is None:  # two stored rows overlap: not this import's doing
                latest = span if span.outlasts(latest) else latest
                continue
            rejected.add(id(loser.row))
            where = "already in the store" if winner.row is None else f"on row {winner.row.parsed.row}"
            until = winner.end.isoformat() if winner.end else "open-ended"
            issues.append(
                Issue(
                    source,
                    loser.row.parsed.row,
                    ex.start,
                    loser.start.isoformat(),
                    f"overlaps the {ex.what} from {winner.start} to {until} {where}",
                )
            )
            latest = winner
    return [r for r in rows if id(r) not in rejected]


def _audit_value(kind: Kind, attribute: str, value: Any, lookups: Lookups) -> Any:
    ref = next((f.ref for f in kind.fields if f.attribute == attribute and f.type is T.REF), None)
    if ref is not None and isinstance(value, int):
        return lookups.name_of(ref, value)
    if isinstance(value, dict):
        return {k: text_of(v) for k, v in value.items()}
    return text_of(value) if value is not None else None


def _field_name(kind: Kind, attribute: str) -> str:
    return next((f.name for f in kind.fields if f.attribute == attribute), attribute)


def plan_changes(session: Session, kind: Kind, rows: list[Resolved], lookups: Lookups) -> Changes:
    """Sort rows into inserts, updates (with before/after) and unchanged, against the store."""
    changes = Changes()
    current = repo.existing(session, kind)
    key_attrs = [kind.field(k).attribute for k in kind.key]
    candidates: list[tuple[int, Resolved]] = []
    for r in rows:
        found = current.get(tuple(r.values[a] for a in key_attrs))
        if found is None:
            changes.inserts.append(r)
        elif found[1] == r.parsed.digest:
            changes.unchanged += 1
        else:
            candidates.append((found[0], r))
    if not candidates:
        return changes
    attributes = list(candidates[0][1].values)
    columns = attributes + ([kind.attributes] if kind.attributes else [])
    stored = repo.fetch_rows(session, kind, [c[0] for c in candidates], columns)
    roles = repo.user_roles(session, [c[0] for c in candidates]) if kind.name == "users" else {}
    for row_id, r in candidates:
        old = stored[row_id]
        new = dict(r.values)
        if kind.attributes:
            new[kind.attributes] = {**(old[kind.attributes] or {}), **r.parsed.attributes}
        changed = {a: v for a, v in new.items() if a not in r.deferred and old.get(a) != v}
        old_roles, new_roles = roles.get(row_id), r.parsed.record.get("roles")
        if kind.name == "users" and old_roles != new_roles:
            changed["roles"] = new_roles
            old = {**old, "roles": old_roles}
        if not changed:
            changes.unchanged += 1
            changes.refresh_digest.append((row_id, r.parsed.digest))
            continue
        before = {_field_name(kind, a): _audit_value(kind, a, old.get(a), lookups) for a in changed}
        after = {_field_name(kind, a): _audit_value(kind, a, v, lookups) for a, v in changed.items()}
        set_values = {a: v for a, v in changed.items() if a != "roles"}
        changes.updates.append(Update(row_id, r, set_values, before, after))
    return changes


def _key_text(kind: Kind, r: Resolved) -> str:
    return " / ".join(text_of(r.parsed.record[k]) for k in kind.key)


def write_changes(
    session: Session,
    kind: Kind,
    changes: Changes,
    batch: m.ImportBatch,
    actor: str,
    lookups: Lookups,
    progress: Progress | None,
) -> None:
    """Insert and update in bulk, set user roles, and append the audit trail."""
    now = utc_now()
    pending = changes.inserts
    total = len(pending)
    done = 0
    chunk = 50_000
    while pending:
        ready = [r for r in pending if not r.deferred]
        waiting = [r for r in pending if r.deferred]
        if not ready:  # cannot happen: _drop_orphans leaves only resolvable chains
            raise InvalidInput("circular references between rows of the file")
        attributes = list(ready[0].values) if ready else []
        for start in range(0, len(ready), chunk):
            part = ready[start : start + chunk]
            columns: dict[str, list[Any]] = {a: [r.values[a] for r in part] for a in attributes}
            columns["row_hash"] = [r.parsed.digest for r in part]
            if kind.attributes:
                columns[kind.attributes] = [r.parsed.attributes for r in part]
            if kind.name == "transactions":
                columns["import_batch_id"] = [batch.id] * len(part)
                columns["source_row"] = [r.parsed.row for r in part]
            repo.insert_rows(session, kind, columns)
            done += len(part)
            if progress is not None:
                progress("writing", done, total)
        if waiting:
            targets = sorted({t for r in waiting for t in r.deferred.values()})
            ids = repo.ids_by_key(session, kind, kind.field(kind.key[0]).attribute, targets)
            for r in waiting:
                for attribute, target in list(r.deferred.items()):
                    if target in ids:
                        r.values[attribute] = ids[target]
                        del r.deferred[attribute]
        pending = waiting

    updates = [{"b_id": u.row_id, **u.set_values, "row_hash": u.resolved.parsed.digest} for u in changes.updates]
    updates += [{"b_id": row_id, "row_hash": d} for row_id, d in changes.refresh_digest]
    repo.update_rows(session, kind, updates)

    if kind.name == "users":
        inserted_ids = repo.ids_by_key(session, kind, "email", [r.values["email"] for r in changes.inserts])
        roles = {inserted_ids[r.values["email"]]: r.parsed.record["roles"] for r in changes.inserts}
        roles.update({u.row_id: u.resolved.parsed.record["roles"] for u in changes.updates if "roles" in u.after})
        repo.set_user_roles(session, roles)

    audit: list[dict[str, Any]] = []
    base = {"actor": actor, "entity": kind.name, "at": now, "note": f"import batch {batch.id}"}
    if kind.audit_inserts:
        for r in changes.inserts:
            after = {
                f.name: _audit_value(kind, f.attribute, r.values.get(f.attribute), lookups)
                for f in kind.fields
                if f.type is not T.LIST
            }
            if kind.name == "users":
                after["roles"] = ";".join(r.parsed.record["roles"])
            if r.parsed.attributes:
                after[kind.attributes or "attributes"] = dict(r.parsed.attributes)
            audit.append({**base, "action": "insert", "entity_key": _key_text(kind, r), "before": None, "after": after})
    for u in changes.updates:
        audit.append(
            {
                **base,
                "action": "update",
                "entity_key": _key_text(kind, u.resolved),
                "before": u.before,
                "after": u.after,
            }
        )
    audit.append(
        {
            **base,
            "action": "import",
            "entity_key": batch.file_name,
            "before": None,
            "after": {
                "inserted": len(changes.inserts),
                "updated": len(changes.updates),
                "unchanged": changes.unchanged,
                "rejected": batch.rejected,
                "sha256": batch.file_sha256,
            },
        }
    )
    repo.add_audit(session, audit)


# --- the whole import -------------------------------------------------------------------


class _Clock:
    """Records the seconds since the previous lap under a stage name."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - self.last
        self.last = now


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_file(
    engine: Engine,
    kind_name: str,
    path: Path,
    **options: Any,
) -> ImportReport:
    """Import one file of `kind_name` and report what happened to every row.

    Options: mapping_path, sheet, dry_run, strict, actor, rejects_path, progress, file_name (the name the
    import batch records; default the path) (see `_import`).
    The cyclic garbage collector is paused meanwhile: an import allocates millions of
    small acyclic objects, and collecting them mid-way costs a third of the time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _import(engine, kind_name, path, **options)
    finally:
        if enabled:
            gc.enable()


def _import(
    engine: Engine,
    kind_name: str,
    path: Path,
    *,
    mapping_path: Path | None = None,
    sheet: str | None = None,
    dry_run: bool = False,
    strict: bool = False,
    actor: str = "cli",
    rejects_path: Path | None = None,
    progress: Progress | None = None,
    file_name: str | None = None,
) -> ImportReport:
    started = time.perf_counter()
    try:
        kind = kind_named(kind_name)
    except KeyError as exc:
        raise InvalidInput(str(exc.args[0])) from None
    mapping = load_mapping(mapping_path) if mapping_path else None
    table = read_table(path, sheet)
    source = table.name
    binding = bind_columns(kind, table.header, mapping, source)
    for name, src in binding.fields.items():
        ref = kind.field(name).ref
        if src.match and ref is not None and src.match not in repo.table_of(KINDS[ref]).c:
            raise InvalidInput(f"mapping @ columns.{name}.match: {ref} have no column {src.match!r}")
    report = ImportReport(kind.name, source, dry_run=dry_run, ignored_columns=binding.ignored)
    issues = report.issues

    def on_row(n: int) -> None:
        if progress is not None:
            progress("reading", n, table.size_hint)

    clock = _Clock(report.timings)
    parsed = parse_rows(kind, binding, table.rows, source, path.parent, issues, on_row)
    report.rows = len(parsed) + len(issues)
    clock.lap("read and parse")
    rows, repeats = dedupe(kind, parsed, source, issues)
    clock.lap("dedupe")

    with Session(engine, expire_on_commit=False) as session:
        lookups = Lookups(session)
        resolved = resolve_references(kind, binding, rows, lookups, source, issues)
        clock.lap("resolve references")
        if kind.in_period:
            resolved = check_in_periods(kind, resolved, repo.period_ranges(session), source, issues)
        if kind.exclusive:
            resolved = check_overlaps(kind, resolved, repo.dated_rows(session, kind), source, issues)
        clock.lap("check periods and overlaps")
        changes = plan_changes(session, kind, resolved, lookups)
        clock.lap("compare with store")
        report.inserted, report.updated = len(changes.inserts), len(changes.updates)
        report.unchanged = changes.unchanged + repeats
        report.rejected = len(issues)
        report.strict_refused = strict and bool(issues)
        if not dry_run and not report.strict_refused:
            batch = m.ImportBatch(
                kind=kind.name,
                file_name=file_name or str(path),
                file_sha256=_sha256(path),
                actor=actor,
                rows=report.rows,
                inserted=report.inserted,
                updated=report.updated,
                unchanged=report.unchanged,
                rejected=report.rejected,
            )
            session.add(batch)
            session.flush()
            write_changes(session, kind, changes, batch, actor, lookups, progress)
            batch.finished_at = utc_now()
            session.commit()
            clock.lap("write")
            report.batch_id = batch.id
        else:
            session.rollback()

    issues.sort(key=lambda i: i.row)
    if issues:
        target = rejects_path or path.with_name(f"{path.stem}.rejected.csv")
        try:
            write_csv(target, ISSUE_COLUMNS, [i.as_row() for i in issues])
            report.rejects_path = str(target)
        except OSError:
            report.rejects_path = None
    report.seconds = time.perf_counter() - started
    return report
