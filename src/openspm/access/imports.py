"""Data imports for the web and API: what may be imported, by whom, and the kept reports.

- Importing (`import_for`) needs the write right (admin, comp analyst; a token with the write scope). The
  `users` kind grants roles, so it is for admins only; kinds whose column names a server file (plan versions'
  `document`) are refused here: plans are published on the plans pages instead.
- The history of import batches and the kept reports are read by admin, comp analyst and finance.
- An uploaded file is handled under a temporary folder; messages name the uploaded file, never that folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.core.errors import InvalidInput, OpenSpmError
from openspm.ingest import results
from openspm.ingest.kinds import KINDS, Kind, T
from openspm.ingest.service import import_file
from openspm.store import models as m
from openspm.store.db import data_dir

DEFAULT_MAX_UPLOAD_MB = 200


class UploadTooLarge(OpenSpmError):
    """An uploaded file over the size limit (`OPENSPM_MAX_UPLOAD_MB`)."""

    http_status = 413
    exit_code = 2


def max_upload_bytes() -> int:
    """The upload size limit: `OPENSPM_MAX_UPLOAD_MB` (default 200) megabytes."""
    text = os.environ.get("OPENSPM_MAX_UPLOAD_MB", "")
    try:
        megabytes = float(text) if text else DEFAULT_MAX_UPLOAD_MB
    except ValueError:
        megabytes = DEFAULT_MAX_UPLOAD_MB
    return int(megabytes * 1024 * 1024)


def results_dir() -> Path:
    """Where the web's import reports are kept: `<data dir>/imports`."""
    return data_dir() / "imports"


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    required: bool
    doc: str
    refers_to: str | None
    choices: list[str]


@dataclass(frozen=True)
class KindInfo:
    name: str
    doc: str
    key: list[str]
    columns: list[ColumnInfo]
    web: bool  # False: import it with the CLI (`openspm import`)
    admin_only: bool


def _over_web(kind: Kind) -> bool:
    return not any(f.type is T.FILE for f in kind.fields)


def kinds_for(principal: Principal) -> list[KindInfo]:
    """What can be imported and the columns of each kind (every signed-in user may read the formats)."""
    return [
        KindInfo(
            k.name,
            k.doc,
            list(k.key),
            [ColumnInfo(f.name, f.type.value, f.required, f.doc, f.ref, list(f.choices)) for f in k.fields],
            _over_web(k),
            k.name == "users",
        )
        for k in KINDS.values()
    ]


def check_import(principal: Principal, kind_name: str) -> Kind:
    """The kind, when the principal may import it over the web (Forbidden, or InvalidInput for an unknown or
    CLI-only kind)."""
    principal.require_write("importing data")
    kind = KINDS.get(kind_name)
    if kind is None:
        raise InvalidInput(f"unknown kind {kind_name!r}; use one of: {', '.join(KINDS)}")
    if not _over_web(kind):
        raise InvalidInput(
            f"{kind_name} name files on the server; publish plan versions on the plans pages, or use "
            f"`openspm import {kind_name}`"
        )
    if kind.name == "users" and "admin" not in principal.roles:
        raise Forbidden(f"importing users (and their roles) needs the admin role; {principal.email} is not an admin")
    return kind


def _without_folder(exc: OpenSpmError, folder: Path) -> OpenSpmError:
    for prefix in (f"{folder}/", str(folder)):
        exc.message = exc.message.replace(prefix, "")
    exc.args = (exc.message,)
    return exc


def import_for(
    engine: Engine,
    principal: Principal,
    kind_name: str,
    upload: Path,
    *,
    file_name: str,
    mapping: Path | None = None,
    dry_run: bool = False,
    strict: bool = False,
    keep: Path | None = None,
) -> results.KeptReport:
    """Import an uploaded file (at `upload`, in a temporary folder) and keep its report under `keep`
    (default `results_dir()`). A whole-file problem raises one `FileFormatError`/`InvalidInput` naming the
    uploaded file; row problems are in the report."""
    kind = check_import(principal, kind_name)
    try:
        report = import_file(
            engine,
            kind.name,
            upload,
            mapping_path=mapping,
            dry_run=dry_run,
            strict=strict,
            actor=principal.actor,
            rejects_path=upload.with_name("rejected.csv"),
            file_name=file_name,
        )
    except OpenSpmError as exc:
        raise _without_folder(exc, upload.parent) from None
    directory = keep or results_dir()
    token = results.save(directory, report, file_name=file_name, actor=principal.actor, strict=strict)
    return results.summary(directory, token)


def _reader(principal: Principal) -> None:
    if not principal.sees_all:
        raise Forbidden("import history is for admin, comp_analyst and finance users")


def report_for(principal: Principal, token: str, keep: Path | None = None) -> results.KeptReport:
    _reader(principal)
    return results.summary(keep or results_dir(), token)


def rejected_for(
    principal: Principal, token: str, offset: int, limit: int, keep: Path | None = None
) -> tuple[list[dict[str, str]], int]:
    _reader(principal)
    return results.rejected(keep or results_dir(), token, offset, limit)


def rejected_csv_for(principal: Principal, token: str, keep: Path | None = None) -> Path:
    _reader(principal)
    return results.rejected_csv(keep or results_dir(), token)


@dataclass(frozen=True)
class BatchRow:
    id: int
    kind: str
    file_name: str
    sha256: str
    actor: str
    started_at: datetime
    finished_at: datetime | None
    rows: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    report: str | None  # the kept report's token, when the import came through the web


def batches_for(
    engine: Engine,
    principal: Principal,
    kind: str | None = None,
    *,
    limit: int = 50,
    offset: int = 0,
    keep: Path | None = None,
) -> tuple[list[BatchRow], int]:
    """Import batches, newest first (admin, comp analyst, finance), and how many there are."""
    _reader(principal)
    directory = keep or results_dir()
    query = select(m.ImportBatch).order_by(m.ImportBatch.id.desc())
    count = select(func.count()).select_from(m.ImportBatch)
    if kind:
        query = query.where(m.ImportBatch.kind == kind)
        count = count.where(m.ImportBatch.kind == kind)
    with Session(engine) as session:
        rows = list(session.scalars(query.limit(limit).offset(offset)))
        total = session.scalar(count) or 0
    return [
        BatchRow(
            b.id,
            b.kind,
            b.file_name,
            b.file_sha256,
            b.actor,
            b.started_at,
            b.finished_at,
            b.rows,
            b.inserted,
            b.updated,
            b.unchanged,
            b.rejected,
            f"batch-{b.id}" if (directory / f"batch-{b.id}" / "report.json").exists() else None,
        )
        for b in rows
    ], total
