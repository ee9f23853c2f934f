"""Every store query the importer makes.

Lookups map external keys to internal ids; `existing` reads what a kind already
holds (key → id and content digest); the writers insert and update in bulk and
record the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from openspm.ingest.kinds import KINDS, Kind, T
from openspm.store import models as m
from openspm.store.bulk import insert_columns

AMBIGUOUS = -1
_CHUNK = 900  # stays under SQLite's bound-parameter limits


def table_of(kind: Kind) -> Table:
    table = kind.model.__table__
    assert isinstance(table, Table)
    return table


def lookup(session: Session, kind_name: str, by: str) -> dict[str, int]:
    """External key → id for a kind, matched on column `by`; AMBIGUOUS where several rows share a key."""
    table = table_of(KINDS[kind_name])
    if by not in table.c:
        raise KeyError(by)
    result: dict[str, int] = {}
    for key, row_id in session.execute(select(table.c[by], table.c.id)):
        if key is None:
            continue
        text = str(key).strip()
        if by == "email":
            text = text.lower()
        result[text] = AMBIGUOUS if text in result and result[text] != row_id else row_id
    return result


def ids_by_key(session: Session, kind: Kind, column: str, keys: Sequence[str]) -> dict[str, int]:
    """Ids of rows whose `column` is one of `keys` (for rows just inserted)."""
    table = table_of(kind)
    found: dict[str, int] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        for key, row_id in session.execute(select(table.c[column], table.c.id).where(table.c[column].in_(chunk))):
            found[key] = row_id
    return found


def key_columns(kind: Kind) -> list[str]:
    return [kind.field(k).attribute for k in kind.key]


def existing(session: Session, kind: Kind) -> dict[tuple[Any, ...], tuple[int, str | None]]:
    """Key (as stored: ids for references) → (id, row digest) of every row of a kind."""
    table = table_of(kind)
    cols = [table.c[c] for c in key_columns(kind)]
    width = len(cols)
    return {
        tuple(row[:width]): (row[width], row[width + 1])
        for row in session.execute(select(*cols, table.c.id, table.c.row_hash)).tuples()
    }


def fetch_rows(
    session: Session, kind: Kind, ids: Sequence[int], attributes: Sequence[str]
) -> dict[int, dict[str, Any]]:
    """Current values of `attributes` for rows `ids`."""
    table = table_of(kind)
    cols = [table.c[a] for a in attributes]
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for row in session.execute(select(table.c.id, *cols).where(table.c.id.in_(chunk))).tuples():
            found[row[0]] = dict(zip(attributes, row[1:], strict=True))
    return found


def period_ranges(session: Session) -> list[tuple[date, date]]:
    """[start, end) of every period in the store, sorted."""
    return sorted(session.execute(select(m.Period.start_date, m.Period.end_date)).tuples())


def dated_rows(session: Session, kind: Kind) -> list[tuple[tuple[Any, ...], tuple[Any, ...], date, date | None]]:
    """(key, group, start, end) of every row of an effective-dated kind."""
    assert kind.exclusive is not None
    table = table_of(kind)
    key_cols = [table.c[c] for c in key_columns(kind)]
    group_cols = [table.c[kind.field(g).attribute] for g in kind.exclusive.group]
    start = table.c[kind.field(kind.exclusive.start).attribute]
    end = table.c[kind.field(kind.exclusive.end).attribute]
    nk, ng = len(key_cols), len(group_cols)
    return [
        (tuple(r[:nk]), tuple(r[nk : nk + ng]), r[nk + ng], r[nk + ng + 1])
        for r in session.execute(select(*key_cols, *group_cols, start, end)).tuples()
    ]


def insert_rows(session: Session, kind: Kind, columns: dict[str, list[Any]]) -> None:
    """Insert rows given column by column (column → values, all the same length); see `insert_columns`."""
    insert_columns(session, table_of(kind), columns)


def update_rows(session: Session, kind: Kind, rows: list[dict[str, Any]]) -> None:
    """Update rows by id; each dict holds `b_id` and the attributes to set (same keys in every dict)."""
    if not rows:
        return
    table = table_of(kind)
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_columns.setdefault(tuple(sorted(k for k in row if k != "b_id")), []).append(row)
    for columns, group in by_columns.items():
        statement = update(table).where(table.c.id == bindparam("b_id")).values({c: bindparam(c) for c in columns})
        session.execute(statement, group)


def user_roles(session: Session, user_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
    """Role names of each user."""
    ids = list(user_ids)
    found: dict[int, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        query = (
            select(m.UserRole.user_id, m.Role.name)
            .join(m.Role, m.Role.id == m.UserRole.role_id)
            .where(m.UserRole.user_id.in_(chunk))
        )
        for user_id, name in session.execute(query).tuples():
            found[user_id].append(name)
    return {k: tuple(sorted(v)) for k, v in found.items()}


def set_user_roles(session: Session, roles: dict[int, tuple[str, ...]]) -> None:
    """Replace the roles of the given users."""
    if not roles:
        return
    role_ids = {str(name): int(role_id) for name, role_id in session.execute(select(m.Role.name, m.Role.id))}
    ids = list(roles)
    for start in range(0, len(ids), _CHUNK):
        session.execute(delete(m.UserRole).where(m.UserRole.user_id.in_(ids[start : start + _CHUNK])))
    links = [{"user_id": u, "role_id": role_ids[r]} for u, names in roles.items() for r in names]
    if links:
        session.execute(insert(m.UserRole), links)


def add_audit(session: Session, entries: list[dict[str, Any]]) -> None:
    """Append audit entries (actor, action, entity, entity_key, before, after, note, at)."""
    if entries:
        session.execute(insert(m.AuditEntry), entries)


def reference_fields(kind: Kind) -> list[str]:
    return [f.name for f in kind.fields if f.type is T.REF]
