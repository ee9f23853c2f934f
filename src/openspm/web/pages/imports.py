"""The data imports pages: upload a file of a kind (dry run or load, strict), see the counts and every rejected
row with its reason in the page (a page of 100 at a time, or all as CSV), and the history of import batches.

Admin and comp analyst import; finance reads the history and the reports; other roles get 403.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from openspm.access import imports as access
from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.core.errors import OpenSpmError
from openspm.web.api.imports import uploaded
from openspm.web.security import check_csrf, engine_of, page_principal
from openspm.web.templating import render

router = APIRouter(prefix="/admin/imports")
PAGE = 100
HISTORY = 25


def _reader(principal: Principal) -> None:
    if not principal.sees_all:
        raise Forbidden("the imports pages are for admin, comp_analyst and finance users")


def _imports_page(
    request: Request,
    principal: Principal,
    kind: str,
    page: int = 1,
    status_code: int = 200,
    form: dict[str, object] | None = None,
    error: str = "",
) -> Response:
    kinds = [k for k in access.kinds_for(principal) if k.web]
    chosen = next((k for k in kinds if k.name == kind), kinds[0] if kinds else None)
    batches, total = access.batches_for(
        engine_of(request), principal, limit=HISTORY, offset=(max(page, 1) - 1) * HISTORY
    )
    return render(
        request,
        "imports.html",
        principal,
        status_code=status_code,
        help_anchor="imports",
        kinds=kinds,
        kind=chosen,
        batches=batches,
        total=total,
        page=max(page, 1),
        pages=max(1, -(-total // HISTORY)),
        limit_mb=access.max_upload_bytes() // (1024 * 1024),
        form=form or {},
        error=error,
    )


@router.get("", response_class=HTMLResponse)
def imports(
    request: Request,
    kind: str = Query("transactions", max_length=64),
    page: int = Query(1, ge=1, le=1_000_000),
    principal: Principal = Depends(page_principal),
) -> Response:
    _reader(principal)
    return _imports_page(request, principal, kind, page)


@router.get("/columns", response_class=HTMLResponse)
def columns(
    request: Request, kind: str = Query("transactions", max_length=64), principal: Principal = Depends(page_principal)
) -> Response:
    """The columns of one kind (the fragment the form swaps in when the kind changes)."""
    _reader(principal)
    chosen = next((k for k in access.kinds_for(principal) if k.name == kind), None)
    return render(request, "imports_columns.html", principal, kind=chosen)


@router.post("", response_class=HTMLResponse)
def upload(
    request: Request,
    csrf_token: str = Form(""),
    kind: str = Form("", max_length=64),
    mode: str = Form("dry_run"),
    strict: str = Form(""),
    file: UploadFile = File(...),
    mapping: UploadFile | None = File(None),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    form = {"mode": mode, "strict": bool(strict)}
    try:
        access.check_import(principal, kind)
        with uploaded(file, mapping) as (path, name, mapping_path):
            kept = access.import_for(
                engine_of(request),
                principal,
                kind,
                path,
                file_name=name,
                mapping=mapping_path,
                dry_run=mode != "load",
                strict=bool(strict),
            )
    except OpenSpmError as exc:
        if isinstance(exc, Forbidden):
            raise
        return _imports_page(request, principal, kind, status_code=exc.http_status, form=form, error=str(exc))
    return RedirectResponse(f"/admin/imports/results/{kept.token}", status_code=303)


@router.get("/results/{token}", response_class=HTMLResponse)
def result(
    request: Request,
    token: str,
    page: int = Query(1, ge=1, le=1_000_000),
    principal: Principal = Depends(page_principal),
) -> Response:
    _reader(principal)
    kept = access.report_for(principal, token)
    rows, total = access.rejected_for(principal, token, (page - 1) * PAGE, PAGE)
    pages = max(1, -(-total // PAGE))
    return render(
        request,
        "imports_result.html",
        principal,
        help_anchor="import-results",
        report=kept,
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        first=(page - 1) * PAGE + 1,
        again=urlencode({"kind": kept.kind}),
    )


@router.get("/results/{token}/rejected.csv")
def result_csv(request: Request, token: str, principal: Principal = Depends(page_principal)) -> Response:
    path = access.rejected_csv_for(principal, token)
    return FileResponse(path, media_type="text/csv; charset=utf-8", filename=f"{token}.rejected.csv")
