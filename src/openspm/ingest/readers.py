"""Read CSV, Excel (.xlsx) and Parquet files into rows of text.

Input: a file path. Output: a `SourceTable` with the header and an iterator of
`(row_number, values)` where every value is text ("" for empty), so that every
format goes through the same validation. Row numbers are 1-based data rows (the
header is row 0), as a spreadsheet user counts them below the header.

A file that cannot be read as a table at all raises `FileFormatError` with one
clear message: wrong encoding, binary content, an empty file, a duplicated or
blank header, or an unknown extension.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from openspm.core.errors import FileFormatError

SUPPORTED = (".csv", ".txt", ".xlsx", ".parquet")
_SNIFF_BYTES = 64 * 1024


@dataclass
class SourceTable:
    """A table read from a file: header and text rows."""

    name: str
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    size_hint: int  # an estimate of the number of rows, for progress bars


def read_table(path: Path, sheet: str | None = None) -> SourceTable:
    """Open `path` by its extension (CSV, XLSX or Parquet); `sheet` picks an Excel sheet by name."""
    if not path.exists():
        raise FileFormatError(f"{path}: no such file")
    if path.is_dir():
        raise FileFormatError(f"{path}: is a folder, not a file")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return _read_csv(path)
    if sheet is not None and suffix != ".xlsx":
        raise FileFormatError(f"{path}: --sheet applies to .xlsx files only")
    if suffix == ".xlsx":
        return _read_xlsx(path, sheet)
    if suffix == ".parquet":
        return _read_parquet(path)
    raise FileFormatError(f"{path}: unsupported file type {suffix or '(none)'}; use one of {', '.join(SUPPORTED)}")


def _check_header(path: Path, header: list[str]) -> list[str]:
    cleaned = [h.strip() for h in header]
    if not any(cleaned):
        raise FileFormatError(f"{path}: the first row is empty; expected a header row with column names")
    seen: set[str] = set()
    for position, name in enumerate(cleaned, start=1):
        if not name:
            raise FileFormatError(f"{path}: column {position} of the header has no name")
        if name in seen:
            raise FileFormatError(f"{path}: column {name!r} appears twice in the header")
        seen.add(name)
    return cleaned


def _read_csv(path: Path) -> SourceTable:
    head = path.open("rb").read(_SNIFF_BYTES)
    if not head.strip():
        raise FileFormatError(f"{path}: the file is empty")
    if head.startswith(b"PK\x03\x04"):
        raise FileFormatError(f"{path}: this is a zip or Excel file, not a CSV; save it as .xlsx or export CSV")
    if b"\x00" in head:
        raise FileFormatError(f"{path}: binary content, not a CSV text file (or UTF-16; save it as UTF-8)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not merely a multi-byte character cut by the sniff window
            raise FileFormatError(
                f"{path}: not UTF-8 text (byte {exc.start + 1} is invalid); save the file as UTF-8"
            ) from None
    try:
        dialect: Any = csv.Sniffer().sniff(head.decode("utf-8", "ignore").split("\n", 1)[0], ",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    size_hint = max(1, path.stat().st_size * head.count(b"\n") // max(1, len(head)))
    stream = path.open("r", encoding="utf-8-sig", newline="")
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, UnicodeDecodeError, csv.Error) as exc:
        stream.close()
        raise FileFormatError(f"{path}: cannot read a header row ({exc})") from None
    header = _check_header(path, header)

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = 0
        try:
            for values in reader:
                number += 1
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue  # blank line
                yield number, values
        except UnicodeDecodeError:
            raise FileFormatError(f"{path}: not UTF-8 text (after data row {number}); save the file as UTF-8") from None
        except csv.Error as exc:
            raise FileFormatError(f"{path}: malformed CSV after data row {number}: {exc}") from None
        finally:
            stream.close()

    return SourceTable(path.name, header, rows(), size_hint)


def _cell_text(value: Any) -> str:
    """Text of a spreadsheet or Parquet cell, exact for numbers and dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Spreadsheets store numbers as binary floats; repr gives the shortest text
        # that round-trips, so 0.1 stays "0.1" (never 0.1000000000000000055...).
        text = repr(value)
        if text.endswith(".0"):
            text = text[:-2]
        return format(Decimal(text), "f") if "e" in text else text
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _read_xlsx(path: Path, sheet_name: str | None) -> SourceTable:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileFormatError(f"{path}: not a readable .xlsx workbook ({exc})") from None
    if sheet_name is None:
        sheet = workbook.worksheets[0]
    elif sheet_name in workbook.sheetnames:
        sheet = workbook[sheet_name]
    else:
        names = ", ".join(workbook.sheetnames)
        workbook.close()
        raise FileFormatError(f"{path}: no sheet named {sheet_name!r}; the workbook has: {names}")
    cells = sheet.iter_rows(values_only=True)
    try:
        first = next(cells)
    except StopIteration:
        workbook.close()
        raise FileFormatError(f"{path}: the first sheet is empty") from None
    header = [_cell_text(v) for v in first]
    while header and not header[-1]:
        header.pop()
    header = _check_header(path, header)
    width = len(header)

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, values in enumerate(cells, start=1):
                texts = [_cell_text(v) for v in values[:width]]
                if not any(texts):
                    continue
                yield number, texts
        finally:
            workbook.close()

    return SourceTable(path.name, header, rows(), max(1, (sheet.max_row or 1) - 1))


def _read_parquet(path: Path) -> SourceTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileFormatError(f"{path}: not a readable Parquet file ({exc})") from None
    header = _check_header(path, list(parquet.schema_arrow.names))

    def rows() -> Iterator[tuple[int, list[str]]]:
        number = 0
        for batch in parquet.iter_batches(batch_size=65_536):
            columns = [_column_texts(batch.column(i)) for i in range(batch.num_columns)]
            for values in zip(*columns, strict=True):
                number += 1
                yield number, list(values)

    return SourceTable(path.name, header, rows(), parquet.metadata.num_rows)


def _column_texts(column: Any) -> list[str]:
    """Exact text of each value of an Arrow column (decimals stay exact)."""
    import pyarrow as pa

    if pa.types.is_floating(column.type):
        return [_cell_text(v) for v in column.to_pylist()]
    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        return [_cell_text(v) for v in column.to_pylist()]
    return ["" if v is None else (format(v, "f") if isinstance(v, Decimal) else str(v)) for v in column.to_pylist()]


def write_csv(path: Path, header: list[str] | tuple[str, ...], rows: list[dict[str, str]]) -> None:
    """Write dict rows as UTF-8 CSV (used for rejected-rows reports)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(header), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
