"""Generate `docs/import.md`'s column reference from the import specs.

`python -m openspm.ingest.docs > docs/import.md` (or `make docs`); a test fails
when the checked-in file and the code disagree.
"""

from __future__ import annotations

import sys

from openspm.ingest.kinds import KINDS, Field, T

HEADER = """# Importing data

`openspm import KIND FILE` loads a CSV (UTF-8, comma, semicolon, tab or pipe separated), Excel (`.xlsx`, first
sheet) or Parquet file. Every row is either loaded or reported as rejected, with file, row, column, value and
reason, in a rejected-rows CSV (`FILE.rejected.csv` next to the input, or `--rejects PATH`) and a summary line:

```
$ openspm import transactions transactions.csv
  rejected transactions.csv:3 [account] 'A9': unknown account 'A9'
transactions.csv: 1000 rows loaded into transactions: 997 inserted, 2 updated, 0 unchanged, 1 rejected; ...
```

Rules:

- **Idempotent.** Re-importing the same file changes nothing. A row whose key (below) already exists with
  different content is updated, and the change (who, when, before, after) goes to the audit log
  (`openspm audit`). Numbers compare by value: `200` and `200.00` are the same amount.
- **Row numbers** count data rows: the first row under the header is row 1.
- **Types.** Amounts, rates and quantities are exact decimals (`1234.50`; no thousands separators unless a
  mapping declares them). Dates are `YYYY-MM-DD` unless a mapping gives a `date_format`. Shares and
  probabilities are fractions (`0.6`) or percentages (`60%`). Currencies are ISO 4217 codes in any case.
- **References** (type `reference → kind`) name the id of a row of another kind that must already be in the
  store, or, for a return's `original`, earlier or later in the same file.
- **Effective dates** are half-open: `effective_from` inclusive, `effective_to` exclusive, empty = open-ended.
  Rows of the same group must not overlap; to change a manager, close the old line and open the new one
  (both can be in the same file).
- **Free attributes.** Columns named `attr.NAME` are kept as attributes (plan parameters for
  `plan_assignments`); an update merges them into the stored ones. Other unknown columns are ignored and
  listed.
- **Whole-file errors** (not UTF-8, binary, empty, a header with a duplicate or blank name, a missing required
  column) stop the import with one message and load nothing. One import is one database transaction.
- `--dry-run` validates and counts without writing; `--strict` writes nothing if any row is rejected;
  `--json` prints the report, rejected rows included.
- Transactions need their periods: `openspm calendar create 2025 2026 [--start-month 2]` first. High-volume
  kinds (transactions, splits, opportunities) record inserts in the import batch, not one audit entry each.

## Column mappings for CRM and ERP exports

`--mapping FILE.yaml` loads an export without editing it: say where each openspm column comes from.

```yaml
kind: opportunities
date_format: "%m/%d/%Y"          # Salesforce report dates
thousands: ","                   # "120,000.00"
columns:
  id: Opportunity ID
  name: Opportunity Name
  account: Account ID
  owner: {column: Owner Email, match: email}   # match payees by email instead of id
  stage: Stage
  status: {column: Stage, values: {Closed Won: won, Closed Lost: lost}, default: open}
  probability: {column: Probability (%), percent: true}   # 75 means 75%
  amount: Amount
  currency: Opportunity Currency
  close_date: Close Date
attributes:
  lead_source: Lead Source
```

European exports: `thousands: "."` and `decimal: ","` read `1.234,50`; `date_format: "%d.%m.%Y"` reads
`15.01.2025`. Excel workbooks: `--sheet NAME` picks a sheet (default: the first). `openspm imports` lists past
imports with their counts and the file's SHA-256.

A column source is a column name, or `{column: ..., values: {...}, default: ..., match: ..., percent: ...,
date_format: ...}`, or a constant `{value: USD}`. `default` is used when the cell is empty, or, with `values`,
when the cell is not one of the mapped values. Ready-made mappings: `examples/mappings/`.

## Kinds and columns

Load them in this order (each refers to the ones before):
"""


def _type(f: Field) -> str:
    text = f.type.value
    if f.type is T.REF:
        text += f" → {f.ref}"
    if f.choices:
        text += f": {', '.join(f.choices)}"
    return text


def render() -> str:
    """The whole of docs/import.md."""
    lines = [HEADER.rstrip(), "", " → ".join(f"`{k}`" for k in KINDS), ""]
    for kind in KINDS.values():
        lines += [f"### {kind.name}", "", kind.doc, "", f"Key: {', '.join(kind.key)}.", ""]
        lines += ["| column | type | required | default | meaning |", "|---|---|---|---|---|"]
        for f in kind.fields:
            required = "yes" if f.required else ""
            default = f"`{f.default}`" if f.default is not None else ""
            lines.append(f"| `{f.name}` | {_type(f)} | {required} | {default} | {f.doc} |")
        if kind.attributes:
            lines += ["", f"`attr.*` columns are kept in `{kind.attributes}`."]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
