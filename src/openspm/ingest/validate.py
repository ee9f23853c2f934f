"""Turn text rows into typed records, or into rejected-row issues.

Input: a `SourceTable` and its `Binding`. Output: `ParsedRow`s (field → typed
value, references still as the text the user wrote) and an `Issue` for every
row that cannot be used, naming the row, the column and the reason.

Parsing rules per column type (see `kinds.T`):
- text: trimmed; empty is "no value".
- integer / decimal: exact (`Decimal` from text, never float); a mapping may
  declare a thousands separator and a decimal comma.
- share: a fraction in [0, 1]; "60%" means 0.6.
- date: ISO 8601 `YYYY-MM-DD`, or the mapping's `date_format`.
- currency: an ISO 4217 code, any case.
- choice / list: one (or several ";"-separated) of the allowed words.
- reference: the id of a row of another kind, resolved against the store later.
- file: a path relative to the imported file, whose text is stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from openspm.core.dates import parse_date
from openspm.core.issues import Issue
from openspm.core.money import normalize_currency, parse_decimal
from openspm.ingest.kinds import Field, Kind, Record, T
from openspm.ingest.mapping import Binding, FieldSource

Parser = Callable[[str], Any]

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


@dataclass(slots=True)
class ParsedRow:
    """One valid-looking row: typed values by field name, free attributes, content digest."""

    row: int
    record: Record
    attributes: dict[str, str] = field(default_factory=dict)
    digest: str = ""

    def key(self, kind: Kind) -> tuple[Any, ...]:
        return tuple(self.record[k] for k in kind.key)


def _parser(f: Field, src: FieldSource, thousands: str, decimal: str, base_dir: Path) -> Parser:
    """Build the parsing function of one field: text → value, or ValueError(reason)."""
    if f.type is T.TEXT or f.type is T.REF:
        return str.strip
    if f.type is T.INT:

        def parse_int(text: str) -> int:
            cleaned = text.strip().replace(thousands, "") if thousands else text.strip()
            try:
                value = int(cleaned)
            except ValueError:
                raise ValueError("not a whole number") from None
            if f.nonnegative and value < 0:
                raise ValueError("must not be negative")
            return value

        return parse_int
    if f.type is T.DECIMAL:

        def parse_dec(text: str) -> Decimal:
            value = parse_decimal(text, thousands=thousands, decimal=decimal)
            if f.nonnegative and value < 0:
                raise ValueError("must not be negative")
            return value

        return parse_dec
    if f.type is T.SHARE:

        def parse_share(text: str) -> Decimal:
            value = parse_decimal(text, thousands=thousands, percent=True, decimal=decimal)
            if src.percent and not text.strip().endswith("%"):
                value = value / 100
            if not Decimal(0) <= value <= Decimal(1):
                raise ValueError("must be a fraction from 0 to 1 (or 0% to 100%)")
            return value

        return parse_share
    if f.type is T.DATE:
        fmt = src.date_format
        if fmt:
            return lambda text: parse_date(text, fmt)
        fromisoformat = date.fromisoformat

        def parse_iso(text: str) -> date:
            try:
                return fromisoformat(text)
            except ValueError:
                return parse_date(text)

        return parse_iso
    if f.type is T.CURRENCY:
        return normalize_currency
    if f.type is T.BOOL:

        def parse_bool(text: str) -> bool:
            word = text.strip().lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
            raise ValueError("not a yes/no value (use true or false)")

        return parse_bool
    if f.type is T.CHOICE:
        allowed = set(f.choices)

        def parse_choice(text: str) -> str:
            word = text.strip().lower()
            if word not in allowed:
                raise ValueError(f"must be one of: {', '.join(f.choices)}")
            return word

        return parse_choice
    if f.type is T.LIST:
        allowed_items = set(f.choices)

        def parse_list(text: str) -> tuple[str, ...]:
            items = tuple(sorted({w.strip().lower() for w in text.split(";") if w.strip()}))
            unknown = [w for w in items if allowed_items and w not in allowed_items]
            if unknown:
                raise ValueError(f"unknown {', '.join(unknown)}; use any of: {', '.join(f.choices)}")
            return items

        return parse_list
    if f.type is T.FILE:

        def read_file(text: str) -> str:
            path = (base_dir / text.strip()).resolve()
            try:
                return path.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise ValueError(f"file not found: {path}") from None
            except (OSError, UnicodeDecodeError) as exc:
                raise ValueError(f"cannot read {path}: {exc}") from None

        return read_file
    raise AssertionError(f"no parser for {f.type}")  # pragma: no cover


@dataclass
class _Column:
    field: Field
    source: FieldSource
    parse: Parser
    default: Any


def _columns(kind: Kind, binding: Binding, base_dir: Path, source: str) -> list[_Column]:
    columns: list[_Column] = []
    for f in kind.fields:
        src = binding.fields.get(f.name, FieldSource(label=f.name))
        parse = _parser(f, src, binding.thousands, binding.decimal, base_dir)
        default_text = src.default if src.default is not None else f.default
        default = None
        if default_text is not None and src.constant is None:
            default = parse(default_text)
        if src.constant is not None:
            try:
                src.constant = str(src.constant)
                default = parse(src.constant)
            except ValueError as exc:
                raise ValueError(f"mapping constant for {f.name}: {exc}") from None
        columns.append(_Column(f, src, parse, default))
    return columns


def digest(record: Record, attributes: dict[str, str]) -> str:
    """A 128-bit digest of a row's parsed content (used where a row reads files).

    Digests are a fast path only: equal digests mean "unchanged"; different
    digests lead to a value-by-value comparison (so `200` and `200.00` stay
    unchanged). Any write outside the importer clears `row_hash`.
    """
    text = repr((tuple(record.values()), sorted(attributes.items()) if attributes else ()))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _binding_seed(kind: Kind, binding: Binding) -> bytes:
    """What, besides a row's text, decides its parsed content: the kind and the mapping."""
    parts = [kind.name, binding.thousands, binding.decimal, repr(sorted(binding.attributes.items()))]
    for name, src in sorted(binding.fields.items()):
        parts.append(
            repr(
                (
                    name,
                    src.index,
                    src.constant,
                    sorted(src.values.items()),
                    src.default,
                    src.match,
                    src.percent,
                    src.date_format,
                )
            )
        )
    return "\x1e".join(parts).encode()


def parse_rows(
    kind: Kind,
    binding: Binding,
    rows: Iterator[tuple[int, list[str]]],
    source: str,
    base_dir: Path,
    issues: list[Issue],
    on_row: Callable[[int], None] | None = None,
) -> list[ParsedRow]:
    """Parse every row; a row with any bad value becomes one issue (its first problem)."""
    plan = [
        (
            c.field.name,
            c.source.index,
            c.source.values,
            c.source.default,
            c.parse,
            c.default,
            c.field.required,
            c.source.label,
        )
        for c in _columns(kind, binding, base_dir, source)
    ]
    checks = kind.checks
    attribute_columns = list(binding.attributes.items())
    reads_files = any(f.type is T.FILE for f in kind.fields)
    seed = _binding_seed(kind, binding)
    blake2b = hashlib.blake2b
    parsed: list[ParsedRow] = []
    for number, values in rows:
        if on_row is not None and number % 10_000 == 0:
            on_row(number)
        record: Record = {}
        problem: Issue | None = None
        width = len(values)
        for name, index, value_map, map_default, parse, default, required, label in plan:
            value = default
            if index is not None:
                text = values[index] if index < width else ""
                if value_map:
                    mapped = value_map.get(text.strip())
                    text = mapped if mapped is not None else (map_default or text) if text.strip() else text
                if text and not text.isspace():
                    try:
                        value = parse(text)
                    except ValueError as exc:
                        problem = Issue(source, number, label, text.strip(), str(exc))
                        break
            if value is None and required:
                problem = Issue(source, number, label, "", "required value is empty")
                break
            record[name] = value
        if problem is None:
            for check in checks:
                found = check(record)
                if found is not None:
                    column, reason = found
                    column_label = binding.fields[column].label if column in binding.fields else column
                    problem = Issue(source, number, column_label, _text(record.get(column)), reason)
                    break
        if problem is not None:
            issues.append(problem)
            continue
        attributes = (
            {name: values[i].strip() for name, i in attribute_columns if i < width and values[i].strip()}
            if attribute_columns
            else {}
        )
        if reads_files:
            row_digest = digest(record, attributes)
        else:
            row_digest = blake2b(seed + "\x1f".join(values).encode(), digest_size=16).hexdigest()
        parsed.append(ParsedRow(number, record, attributes, row_digest))
    return parsed


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return ";".join(str(v) for v in value)
    return str(value)


def dedupe(kind: Kind, rows: list[ParsedRow], source: str, issues: list[Issue]) -> tuple[list[ParsedRow], int]:
    """Drop exact repeats of a key; reject every row of a key that repeats with different content.

    Output: the rows to keep (first occurrence), and how many exact repeats were dropped.
    """
    groups: dict[tuple[Any, ...], list[ParsedRow]] = {}
    for row in rows:
        groups.setdefault(row.key(kind), []).append(row)
    if len(groups) == len(rows):
        return rows, 0
    key_label = ", ".join(kind.key)
    kept: list[ParsedRow] = []
    repeats = 0
    for key, group in groups.items():
        if all(r.record == group[0].record and r.attributes == group[0].attributes for r in group[1:]):
            kept.append(group[0])
            repeats += len(group) - 1
            continue
        numbers = [r.row for r in group]
        for r in group:
            others = ", ".join(str(n) for n in numbers if n != r.row)
            issues.append(
                Issue(
                    source,
                    r.row,
                    key_label,
                    " / ".join(_text(k) for k in key),
                    f"duplicate {key_label} with conflicting content (also on row {others})",
                )
            )
    kept.sort(key=lambda r: r.row)
    return kept, repeats


def text_of(value: Any) -> str:
    """Text of a value as shown in reports and the audit log."""
    return _text(value)
