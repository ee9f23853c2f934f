"""Finance pages: a month's accruals, its payroll file and GL journal (previews and the CLI's own files), and
the commission accounting schedule (ASC 340-40) with its journal. Admin, comp analyst and finance see them;
nothing here changes anything."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openspm.access import finance as fin
from openspm.access.principal import Principal
from openspm.core.errors import NotFound
from openspm.web.security import engine_of, page_principal
from openspm.web.templating import render

router = APIRouter(prefix="/finance")
Month = Query(None, min_length=1, max_length=32, description="A month, e.g. FY2025-M08")
MonthRequired = Query(..., min_length=1, max_length=32, description="A month, e.g. FY2025-M08")


def _month(request: Request, principal: Principal, period: str | None) -> tuple[str, list[str]]:
    months = fin.finance_months(engine_of(request), principal)
    if period:
        return period, months
    if not months:
        raise NotFound("no month has a completed run yet; run one with `openspm run --period ...`")
    return months[0], months


def _csv(data: bytes, name: str) -> Response:
    return Response(data, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("", response_class=HTMLResponse)
def finance_home(principal: Principal = Depends(page_principal)) -> Response:
    fin.require_finance(principal)
    return RedirectResponse("/finance/accruals", status_code=303)


@router.get("/accruals", response_class=HTMLResponse)
def accruals(request: Request, period: str | None = Month, principal: Principal = Depends(page_principal)) -> Response:
    """Earned, held, released, adjusted, clawed back, drawn and paid per cost center and component."""
    name, months = _month(request, principal, period)
    data = fin.accruals_for(engine_of(request), principal, name)
    return render(request, "finance_accruals.html", principal, help_anchor="finance-accruals", a=data, months=months,
                  period=name, tab="accruals")  # fmt: skip


@router.get("/accruals.csv")
def accruals_csv(request: Request, period: str = MonthRequired, principal: Principal = Depends(page_principal)
                 ) -> Response:  # fmt: skip
    return _csv(fin.accruals_csv(fin.accruals_for(engine_of(request), principal, period)), f"accruals-{period}.csv")


@router.get("/payroll", response_class=HTMLResponse)
def payroll(request: Request, period: str | None = Month, principal: Principal = Depends(page_principal)) -> Response:
    """The payroll file of a month: a preview and the download."""
    name, months = _month(request, principal, period)
    data = fin.payroll_for(engine_of(request), principal, name)
    return render(request, "finance_payroll.html", principal, help_anchor="finance-payroll-and-journal", p=data,
                  months=months, period=name, tab="payroll")  # fmt: skip


@router.get("/payroll.csv")
def payroll_csv(request: Request, period: str = MonthRequired, principal: Principal = Depends(page_principal)
                ) -> Response:  # fmt: skip
    return _csv(fin.payroll_for(engine_of(request), principal, period).data, f"payroll-{period}.csv")


@router.get("/journal", response_class=HTMLResponse)
def journal(request: Request, period: str | None = Month, principal: Principal = Depends(page_principal)) -> Response:
    """The GL accrual journal of a month: totals per account, the entries, the download."""
    name, months = _month(request, principal, period)
    data = fin.journal_for(engine_of(request), principal, name)
    return render(request, "finance_journal.html", principal, help_anchor="finance-payroll-and-journal", j=data,
                  months=months, period=name, tab="journal")  # fmt: skip


@router.get("/journal.csv")
def journal_csv(request: Request, period: str = MonthRequired, principal: Principal = Depends(page_principal)
                ) -> Response:  # fmt: skip
    return _csv(fin.journal_for(engine_of(request), principal, period).data, f"journal-{period}.csv")


@router.get("/accounting", response_class=HTMLResponse)
def accounting(
    request: Request, through: str | None = Month, principal: Principal = Depends(page_principal)
) -> Response:
    """Commission accounting through a month: by month, by treatment, the costs, and the month's journal."""
    name, months = _month(request, principal, through)
    engine = engine_of(request)
    data = fin.accounting_for(engine, principal, name)
    entries = fin.accounting_journal_for(engine, principal, data.through)
    costs = [
        {**row, **{k: Decimal(row[k]) if row[k] else None for k in ("amount", "monthly", "remaining")}}
        for row in data.rows[:200]
    ]
    return render(request, "finance_accounting.html", principal, help_anchor="finance-commission-accounting",
                  acc=data, aj=entries, costs=costs, months=months, period=data.through, tab="accounting")  # fmt: skip


@router.get("/accounting/schedule.csv")
def accounting_schedule_csv(
    request: Request, through: str = Query(..., max_length=32), principal: Principal = Depends(page_principal)
) -> Response:
    data = fin.accounting_for(engine_of(request), principal, through)
    return _csv(data.schedule_csv(), f"accounting-schedule-{data.through}.csv")


@router.get("/accounting/journal.csv")
def accounting_journal_csv(
    request: Request,
    period: str = Query(..., max_length=32),
    detail: bool = False,
    principal: Principal = Depends(page_principal),
) -> Response:
    data = fin.accounting_journal_for(engine_of(request), principal, period)
    suffix = "-detail" if detail else ""
    return _csv(data.detail if detail else data.data, f"accounting-journal-{data.period}{suffix}.csv")
