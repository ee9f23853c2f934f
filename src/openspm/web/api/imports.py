"""`/api/v1/kinds` and `/api/v1/imports`: what can be imported, uploading a file, the history of imports.

An upload is copied to a temporary folder (refused with 413 past `OPENSPM_MAX_UPLOAD_MB`), imported with the
service `openspm import` uses, and its report kept so the rejected rows can be paged and downloaded.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path as FilePath
from typing import Any, BinaryIO

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from openspm.access import imports as access
from openspm.access.principal import Principal
from openspm.core.errors import InvalidInput
from openspm.web.api.endpoints import ERRORS, WRITE_ERRORS, Limit, Offset, _page, principal
from openspm.web.api.schemas import ErrorOut, PageOut
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1", responses=ERRORS)
Token = Path(..., min_length=1, max_length=80, description="The report's token, from the import's answer")
MAX_MAPPING = 1024 * 1024
UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    **WRITE_ERRORS,
    413: {"model": ErrorOut, "description": "The file is over the upload size limit"},
}


class ColumnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    type: str
    required: bool
    doc: str
    refers_to: str | None
    choices: list[str]


class KindOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    doc: str
    key: list[str] = Field(description="The columns that identify a row (re-importing it updates it)")
    columns: list[ColumnOut]
    web: bool = Field(description="False: import it with the CLI (`openspm import`)")
    admin_only: bool


class ReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    token: str = Field(description="Names the kept report: its rejected rows are at /imports/results/{token}")
    kind: str
    file: str
    actor: str
    at: datetime
    rows: int = Field(description="Data rows read; rows = inserted + updated + unchanged + rejected")
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    dry_run: bool
    strict: bool
    strict_refused: bool = Field(description="Strict and some rows were rejected: nothing was written")
    batch_id: int | None = Field(description="The import batch, when something was written")
    ignored_columns: list[str]


class RejectedOut(BaseModel):
    file: str
    row: int = Field(description="1-based data row (the header is row 0)")
    column: str
    value: str
    reason: str


class BatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
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
    report: str | None = Field(description="The kept report's token (imports made through the web)")


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str | None, default: str) -> str:
    """The base name of an uploaded file, with only letters, digits, `.`, `_` and `-`."""
    base = _SAFE.sub("_", FilePath((name or "").replace("\\", "/")).name).strip("._") or default
    return base[-120:]


def copy_limited(source: BinaryIO, target: FilePath, limit: int, what: str) -> int:
    """Copy an upload to `target`, refusing it (413) past `limit` bytes; answers the size."""
    size = 0
    with target.open("wb") as out:
        while block := source.read(1 << 20):
            size += len(block)
            if size > limit:
                raise access.UploadTooLarge(
                    f"{what} is over the upload limit of {limit // (1024 * 1024)} MB; split it, or import it with "
                    "`openspm import` on the server"
                )
            out.write(block)
    return size


@contextmanager
def uploaded(file: UploadFile, mapping: UploadFile | None) -> Iterator[tuple[FilePath, str, FilePath | None]]:
    """The upload (and its mapping) in a temporary folder, removed afterwards: (path, file name, mapping path)."""
    folder = FilePath(tempfile.mkdtemp(prefix="openspm-upload-"))
    try:
        name = safe_name(file.filename, "upload.csv")
        if name.endswith(".rejected.csv") or name == "rejected.csv":
            name = "upload-" + name
        path = folder / name
        size = copy_limited(file.file, path, access.max_upload_bytes(), name)
        if size == 0:
            raise InvalidInput(f"{name}: the file is empty (choose a file to upload)")
        mapping_path = None
        if mapping is not None and mapping.filename:
            mapping_path = folder / f"mapping-{safe_name(mapping.filename, 'mapping.yaml')}"
            copy_limited(mapping.file, mapping_path, MAX_MAPPING, "the mapping file")
        yield path, name, mapping_path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@router.get("/kinds", response_model=PageOut[KindOut], tags=["imports"])
def kinds(limit: int = Limit, offset: int = Offset, who: Principal = Depends(principal)) -> Any:
    """What can be imported: each kind's columns (type, required, meaning) and key."""
    return _page(access.kinds_for(who), limit, offset)


@router.post("/imports/{kind}", response_model=ReportOut, tags=["imports"], responses=UPLOAD_ERRORS)
def import_upload(
    request: Request,
    kind: str = Path(..., min_length=1, max_length=64, description="What the file holds, e.g. transactions"),
    file: UploadFile = File(..., description="A .csv, .xlsx or .parquet file"),
    mapping: UploadFile | None = File(None, description="A column mapping (YAML), for CRM exports"),
    dry_run: bool = Form(False, description="Check and count, write nothing"),
    strict: bool = Form(False, description="Write nothing when any row is rejected"),
    who: Principal = Depends(principal),
) -> Any:
    """Import a file (admin, comp analyst; `users` admin only): every row is loaded or reported as rejected.

    The answer has the counts and the report's token; its rejected rows are at
    `/imports/results/{token}/rejected` (JSON, paged) and `.../rejected.csv`. A file that cannot be read as a
    whole (not UTF-8, a missing column) answers 422 with one message; nothing is written."""
    access.check_import(who, kind)
    with uploaded(file, mapping) as (path, name, mapping_path):
        return access.import_for(
            engine_of(request), who, kind, path, file_name=name, mapping=mapping_path, dry_run=dry_run, strict=strict
        )


@router.get("/imports", response_model=PageOut[BatchOut], tags=["imports"])
def batches(
    request: Request,
    kind: str | None = Query(None, max_length=64, description="Only imports of this kind"),
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> Any:
    """Import batches, newest first: who, when, which file (and its SHA-256), the row counts."""
    items, total = access.batches_for(engine_of(request), who, kind, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/imports/results/{token}", response_model=ReportOut, tags=["imports"])
def report(token: str = Token, who: Principal = Depends(principal)) -> Any:
    """The counts of a kept import report."""
    return access.report_for(who, token)


@router.get("/imports/results/{token}/rejected", response_model=PageOut[RejectedOut], tags=["imports"])
def rejected(token: str = Token, limit: int = Limit, offset: int = Offset, who: Principal = Depends(principal)) -> Any:
    """The rejected rows of an import (row, column, value, reason), a page at a time."""
    items, total = access.rejected_for(who, token, offset, limit)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get(
    "/imports/results/{token}/rejected.csv",
    response_class=FileResponse,
    tags=["imports"],
    responses={200: {"content": {"text/csv": {}}, "description": "file,row,column,value,reason"}},
)
def rejected_csv(token: str = Token, who: Principal = Depends(principal)) -> Response:
    """Every rejected row of an import as CSV."""
    path = access.rejected_csv_for(who, token)
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=f"{token}.rejected.csv")
