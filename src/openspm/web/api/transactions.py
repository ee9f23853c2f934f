"""`/api/v1/transactions`: post one transaction or a batch (validated like the importer, recomputed live), list
the month's transactions you may see, and read one with its credits.

POST answers per row `inserted | updated | unchanged | rejected` (with the importer's reasons), the payees the
posting touched and their new live earnings for the live month. One object that is rejected answers 422 (409
when its month is closed); in a list a rejected row never blocks the good ones unless `?atomic=true`, which
writes nothing when any row is rejected (422, or 409 when a row's month is closed).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from openspm.access import service as access
from openspm.access.principal import Principal
from openspm.access.transactions import post_transactions_for, transactions_for
from openspm.core.errors import InvalidInput
from openspm.realtime.service import FIELDS, MAX_BATCH, PostResult, RowOutcome
from openspm.web.api.endpoints import ERRORS, WRITE_ERRORS, Limit, Offset, principal
from openspm.web.api.schemas import plain
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1", responses=ERRORS)

_ONE = {
    "type": "object",
    "required": ["id", "date", "account", "product", "amount", "currency"],
    "properties": {
        **{name: {"type": "string"} for name in FIELDS},
        "attributes": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"oneOf": [_ONE, {"type": "array", "items": _ONE, "minItems": 1, "maxItems": MAX_BATCH}]},
                "example": {
                    "id": "SO-1001-1",
                    "date": "2025-02-12",
                    "account": "ACC-0017",
                    "product": "SKU-3",
                    "amount": "42000.00",
                    "currency": "USD",
                },
            }
        },
    }
}


def _problems(row: RowOutcome) -> list[dict[str, Any]]:
    return [{"index": i.row, "column": i.column, "value": i.value, "reason": i.reason} for i in row.problems]


def _answer(result: PostResult, atomic: bool) -> dict[str, Any]:
    return {
        "written": result.written,
        "atomic": atomic,
        "inserted": result.count("inserted"),
        "updated": result.count("updated"),
        "unchanged": result.count("unchanged"),
        "rejected": result.count("rejected"),
        "live_month": result.live_month,
        "full_run": result.full_run,
        "seconds": round(result.seconds, 3),
        "rows": [
            {"index": r.index, "id": r.id, "status": r.status, "month": r.month, "problems": _problems(r)}
            for r in result.rows
        ],
        "payees": plain(result.payees),
    }


def _refusal(result: PostResult, single: bool) -> JSONResponse:
    rejected = result.rejected
    if any(r.closed for r in rejected):
        closed = next(r for r in rejected if r.closed)
        detail: Any = closed.problems[0].reason if single else [p for r in rejected for p in _problems(r)]
        return JSONResponse({"error": "conflict", "detail": detail}, status_code=409)
    return JSONResponse({"error": "invalid_input", "detail": [p for r in rejected for p in _problems(r)]}, 422)


@router.post(
    "/transactions",
    tags=["transactions"],
    responses={
        **WRITE_ERRORS,
        200: {"description": "What happened to each row, and the touched payees' live earnings"},
    },
    openapi_extra=_BODY,
)
async def post_transactions(
    request: Request,
    atomic: bool = Query(False, description="Write nothing when any row is rejected"),
    who: Principal = Depends(principal),
) -> Response:
    """Add or update transactions (one object or a list of up to 1,000), idempotent by `id`; the payees they
    touch are recomputed at once (admin, comp analyst; a token needs the write scope)."""
    raw = await request.body()
    try:
        body = json.loads(raw or b"null", parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the body is not JSON: send one transaction object or a list of them") from None
    single = isinstance(body, dict)
    if not single and not isinstance(body, list):
        raise InvalidInput("send one transaction object or a list of them")
    objects = [body] if single else body
    result = await run_in_threadpool(post_transactions_for, engine_of(request), who, objects, atomic=atomic or single)
    if result.rejected and (single or atomic):
        return _refusal(result, single)
    return JSONResponse(_answer(result, atomic))


@router.get("/transactions", tags=["transactions"])
def list_transactions(
    request: Request,
    period: str | None = Query(None, max_length=32, description="A month (default: the newest with earnings)"),
    payee: str | None = Query(None, min_length=1, max_length=128, description="Only those credited to this payee"),
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> JSONResponse:
    """The month's transactions you may see, newest first: every one (admin, comp analyst, finance), or those
    the month's run credited to a payee you may see (manager, rep)."""
    page = transactions_for(engine_of(request), who, period, payee, limit=limit, offset=offset)
    return JSONResponse({"items": plain(page.items), "total": page.total, "limit": limit, "offset": offset})


@router.get("/transactions/{external_id}", tags=["transactions"])
def get_transaction(request: Request, external_id: str, who: Principal = Depends(principal)) -> JSONResponse:
    """One transaction and the credits its month's run made to payees you may see (404 when none)."""
    return JSONResponse(plain(access.transaction_for(engine_of(request), who, external_id)))
