"""Column mapping files: load a CRM or ERP export without editing it.

A mapping is a YAML file that says, for each openspm column, where its value
comes from in the source file:

```yaml
kind: opportunities            # optional; checked against the import kind
date_format: "%m/%d/%Y"        # optional; default ISO 8601 (YYYY-MM-DD)
thousands: ","                 # optional; a thousands separator to drop from numbers
decimal: "."                   # optional; "," for numbers written 1.234,50 (with thousands: ".")
columns:
  id: Opportunity ID           # source column name
  owner: {column: Owner Email, match: email}        # match payees by email, not by id
  status: {column: Stage, values: {Closed Won: won, Closed Lost: lost}, default: open}
                               # `default`: the value when the cell is empty, or (with
                               # `values`) when the cell is not one of the mapped values
  probability: {column: Probability (%), percent: true}  # 75 means 75%
  currency: {value: USD}       # a constant
attributes:                    # more source columns kept as free attributes
  lead_source: Lead Source
```

`bind_columns` turns a mapping (or none: columns named as in `docs/import.md`)
and a file header into a `Binding`: per field, where its text comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from openspm.core.errors import FileFormatError, InvalidInput
from openspm.ingest.kinds import Kind, T

ATTRIBUTE_PREFIX = "attr."


class ColumnSource(BaseModel):
    """Where one openspm column's value comes from."""

    model_config = ConfigDict(extra="forbid")

    column: str | None = None
    value: str | None = None
    values: dict[str, str] = {}
    default: str | None = None
    match: str | None = None
    percent: bool = False
    date_format: str | None = None


class Mapping(BaseModel):
    """A column mapping file."""

    model_config = ConfigDict(extra="forbid")

    kind: str | None = None
    date_format: str | None = None
    thousands: str = ""
    decimal: str = "."
    columns: dict[str, str | ColumnSource] = {}
    attributes: dict[str, str] = {}


def load_mapping(path: Path) -> Mapping:
    """Read and validate a mapping file; errors name the file and the key path."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"{path}: mapping file not found") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: not a valid YAML mapping file: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"{path}: a mapping file must be a YAML mapping with a `columns:` key")
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{path} @ {key}: {first['msg']}") from None


@dataclass
class FieldSource:
    """Resolved source of one field: a column index or a constant, plus its transforms."""

    index: int | None = None
    constant: str | None = None
    values: dict[str, str] = field(default_factory=dict)
    default: str | None = None
    match: str | None = None
    percent: bool = False
    date_format: str | None = None
    label: str = ""  # the source column name as the user wrote it, for reports


@dataclass
class Binding:
    """How the columns of one file map onto a kind's fields."""

    fields: dict[str, FieldSource]
    attributes: dict[str, int]
    ignored: list[str]
    thousands: str = ""
    decimal: str = "."


def bind_columns(kind: Kind, header: list[str], mapping: Mapping | None, source: str) -> Binding:
    """Match a file header to `kind`'s fields, directly or through `mapping`.

    Raises FileFormatError when a required column is missing or a mapping names
    a column the file does not have.
    """
    if mapping is not None and mapping.kind and mapping.kind != kind.name:
        raise InvalidInput(f"the mapping file is for {mapping.kind!r}, not {kind.name!r}")
    by_name = {name.lower(): i for i, name in enumerate(header)}
    known = {f.name for f in kind.fields}
    fields: dict[str, FieldSource] = {}
    attributes: dict[str, int] = {}
    used: set[int] = set()

    def column_index(column: str, purpose: str) -> int:
        index = by_name.get(column.strip().lower())
        if index is None:
            raise FileFormatError(
                f"{source}: the mapping takes {purpose} from column {column!r}, which the file does not have"
            )
        return index

    if mapping is not None:
        for target, spec in mapping.columns.items():
            if target not in known:
                raise InvalidInput(
                    f"mapping @ columns.{target}: {kind.name} has no column {target!r}; "
                    f"known columns: {', '.join(sorted(known))}"
                )
            src = ColumnSource(column=spec) if isinstance(spec, str) else spec
            if (src.column is None) == (src.value is None):
                raise InvalidInput(f"mapping @ columns.{target}: give exactly one of `column` or `value`")
            fs = FieldSource(
                constant=src.value,
                values=src.values,
                default=src.default,
                match=src.match,
                percent=src.percent,
                date_format=src.date_format or mapping.date_format,
                label=src.column or target,
            )
            if src.match and kind.field(target).type is not T.REF:
                raise InvalidInput(f"mapping @ columns.{target}: `match` applies to reference columns only")
            if src.column is not None:
                fs.index = column_index(src.column, target)
                used.add(fs.index)
            fields[target] = fs
        for attr, column in mapping.attributes.items():
            if kind.attributes is None:
                raise InvalidInput(f"mapping @ attributes: {kind.name} keeps no free attributes")
            attributes[attr] = column_index(column, f"attribute {attr}")
            used.add(attributes[attr])

    for f in kind.fields:
        if f.name in fields:
            continue
        index = by_name.get(f.name)
        if index is not None and index not in used:
            fields[f.name] = FieldSource(
                index=index, date_format=mapping.date_format if mapping else None, label=header[index]
            )
            used.add(index)

    missing = [f.name for f in kind.fields if f.required and f.name not in fields]
    if missing:
        hint = " (or map them with --mapping)" if mapping is None else ""
        raise FileFormatError(
            f"{source}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} for {kind.name}{hint}; the file has: {', '.join(header)}"
        )

    ignored: list[str] = []
    for i, name in enumerate(header):
        if i in used:
            continue
        if name.lower().startswith(ATTRIBUTE_PREFIX) and kind.attributes is not None:
            attributes[name[len(ATTRIBUTE_PREFIX) :]] = i
        else:
            ignored.append(name)
    if mapping is None:
        return Binding(fields, attributes, ignored)
    if mapping.decimal not in (".", ","):
        raise InvalidInput('mapping @ decimal: use "." or ","')
    if mapping.thousands == mapping.decimal:
        raise InvalidInput("mapping @ thousands: the thousands separator cannot be the decimal separator")
    return Binding(fields, attributes, ignored, mapping.thousands, mapping.decimal)
