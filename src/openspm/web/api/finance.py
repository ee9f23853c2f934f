"""`/api/v1/finance`: a month's accruals, payroll file and GL journal, and the commission accounting schedule and
journal, as JSON and as the CLI's own CSV files. Admin, comp analyst and finance (403 for other roles)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from openspm.access import finance as fin
from openspm.access.principal import Principal
from openspm.web.api.endpoints import ERRORS, PeriodQuery, principal
from openspm.web.api.schemas import plain
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1/finance", responses=ERRORS, tags=["finance"])
CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}, "description": "The CSV file"}}
Through = Query(..., min_length=1, max_length=32, description="The last month (or a quarter or year), e.g. FY2025-M12")


def _csv(data: bytes, name: str) -> Response:
    return Response(data, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/accruals")
def accruals(request: Request, period: str = PeriodQuery, who: Principal = Depends(principal)) -> Any:
    """Earned, held, released, adjustments, clawbacks, draws, paid and outstanding (accrued, not yet paid) per
    cost center, plan and component; subtotals per cost center; totals per currency."""
    return plain(fin.accruals_for(engine_of(request), who, period))


@router.get("/accruals.csv", response_class=Response, responses=CSV)
def accruals_csv(request: Request, period: str = PeriodQuery, who: Principal = Depends(principal)) -> Response:
    """The accruals' rows as CSV."""
    return _csv(fin.accruals_csv(fin.accruals_for(engine_of(request), who, period)), f"accruals-{period}.csv")


@router.get("/payroll")
def payroll(request: Request, period: str = PeriodQuery, who: Principal = Depends(principal)) -> Any:
    """The payroll file's header and rows (the default configuration)."""
    data = fin.payroll_for(engine_of(request), who, period)
    return {"period": data.period, "header": data.header, "rows": data.rows}


@router.get("/payroll.csv", response_class=Response, responses=CSV)
def payroll_csv(request: Request, period: str = PeriodQuery, who: Principal = Depends(principal)) -> Response:
    """The payroll file: the same bytes as `openspm export payroll`."""
    return _csv(fin.payroll_for(engine_of(request), who, period).data, f"payroll-{period}.csv")


@router.get("/journal")
def journal(request: Request, period: str = PeriodQuery, who: Principal = Depends(principal)) -> Any:
    """The GL accrual journal: its lines, debits and credits per account and cost center, and whether it balances."""
    data = fin.journal_for(engine_of(request), who, period)
    return {
        "period": data.period,
        "balanced": data.balanced,
        "debits": plain(data.debits),
        "credits": plain(data.credits),
        "totals": plain(data.totals),
        "lines": plain(data.lines),
    }


@router.get("/journal.csv", response_class=Response, responses=CSV)
def journal_csv(request: Request, period: str = PeriodQuery, who: Principal = Depends(principal)) -> Response:
    """The GL accrual journal: the same bytes as `openspm export journal`."""
    return _csv(fin.journal_for(engine_of(request), who, period).data, f"journal-{period}.csv")


@router.get("/accounting/schedule")
def accounting_schedule(request: Request, through: str = Through, who: Principal = Depends(principal)) -> Any:
    """Commission accounting through a month (default policy): per month and currency capitalized, amortized,
    impaired, expensed, reversed and the asset remaining; counts and totals per treatment; every cost."""
    data = fin.accounting_for(engine_of(request), who, through)
    return {
        "through": data.through,
        "months": plain(data.months),
        "treatments": [{"treatment": t, "count": n, "totals": plain(s)} for t, n, s in data.treatments],
        "missing": data.missing,
        "issues": data.issues,
        "costs": data.rows,
    }


@router.get("/accounting/schedule.csv", response_class=Response, responses=CSV)
def accounting_schedule_csv(request: Request, through: str = Through, who: Principal = Depends(principal)) -> Response:
    """Every cost's schedule line: the same bytes as `openspm accounting schedule --csv`."""
    data = fin.accounting_for(engine_of(request), who, through)
    return _csv(data.schedule_csv(), f"accounting-schedule-{data.through}.csv")


@router.get("/accounting/journal")
def accounting_journal(request: Request, period: str = PeriodQuery, who: Principal = Depends(principal)) -> Any:
    """A month's commission accounting entries by kind, account and cost center."""
    data = fin.accounting_journal_for(engine_of(request), who, period)
    return {"period": data.period, "entries": data.entries, "balanced": data.balanced, "lines": plain(data.lines)}


@router.get("/accounting/journal.csv", response_class=Response, responses=CSV)
def accounting_journal_csv(
    request: Request,
    period: str = PeriodQuery,
    detail: bool = Query(False, description="Every line of every entry, with memos"),
    who: Principal = Depends(principal),
) -> Response:
    """The month's accounting journal: the same bytes as `openspm accounting journal --csv [--detail]`."""
    data = fin.accounting_journal_for(engine_of(request), who, period)
    suffix = "-detail" if detail else ""
    return _csv(data.detail if detail else data.data, f"accounting-journal-{data.period}{suffix}.csv")
