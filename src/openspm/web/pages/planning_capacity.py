"""The capacity planning page: a monthly hiring plan (required vs expected productive payees, hires arriving,
requisitions to open, months left short) from targets, quota per head, attainment, ramp, attrition and lead time.

Thin over `openspm.access.planning_capacity` (admin, comp analyst, finance, managers; reps 403). It writes
nothing, so the form is a GET and the plan's address can be shared.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from openspm.access.planning_capacity import capacity_plan_for, require_capacity_reader
from openspm.access.principal import Principal
from openspm.core.dates import parse_date
from openspm.core.errors import InvalidInput, OpenSpmError
from openspm.planning.capacity import check_ramp, monthly_targets
from openspm.store import models as m
from openspm.web.security import engine_of, page_principal
from openspm.web.templating import render

router = APIRouter(prefix="/planning")
FIELDS = (
    "months",
    "target_per_month",
    "targets",
    "quota_per_head",
    "attainment",
    "ramp",
    "attrition",
    "lead_months",
    "tenures",
    "plan",
    "on",
)
DEFAULTS = {"months": "12", "attainment": "0.8", "attrition": "0", "lead_months": "0"}


def _number(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise InvalidInput(f"{what} {text!r} is not a number") from None
    if not value.is_finite():
        raise InvalidInput(f"{what} {text!r} is not a number")
    return value


def _numbers(text: str, what: str) -> tuple[Decimal, ...]:
    return tuple(_number(x, what) for x in text.split(";" if ";" in text else ",") if x.strip())


def _whole(text: str, what: str, low: int, high: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise InvalidInput(f"{what} {text!r} is not a whole number") from None
    if not low <= value <= high:
        raise InvalidInput(f"{what} must be between {low} and {high}")
    return value


def _plan(request: Request, principal: Principal, form: dict[str, str]) -> dict[str, Any]:
    """The hiring plan for the form's values: the months with their targets, the tenures used, totals."""
    targets = monthly_targets(
        _whole(form["months"] or "12", "months", 1, 120),
        _number(form["target_per_month"], "target per month") if form["target_per_month"].strip() else None,
        _numbers(form["targets"], "targets") if form["targets"].strip() else (),
    )
    ramp = _numbers(form["ramp"], "ramp")
    check_ramp(ramp)
    tenures: list[int] | None = None
    day = None
    if form["plan"].strip():
        try:
            day = parse_date(form["on"]) if form["on"].strip() else date.today()
        except ValueError:
            raise InvalidInput(f"on {form['on']!r}: not a date (expected YYYY-MM-DD)") from None
    else:
        tenures = [_whole(x, "tenure", 0, 600) for x in form["tenures"].split(",") if x.strip()]
    seats, rows = capacity_plan_for(
        engine_of(request),
        principal,
        targets,
        quota_per_head=_number(form["quota_per_head"], "quota per head"),
        expected_attainment=_number(form["attainment"] or "0.8", "attainment"),
        ramp=ramp,
        monthly_attrition=_number(form["attrition"] or "0", "monthly attrition"),
        lead_months=_whole(form["lead_months"] or "0", "lead months", 0, 36),
        in_seat=tenures,
        plan=form["plan"].strip() or None,
        on=day,
    )
    return {
        "rows": list(zip(rows, targets, strict=True)),
        "seats": seats,
        "hires": sum(r.arriving for r in rows),
        "short": [r.month for r in rows if r.short],
    }


@router.get("/capacity", response_class=HTMLResponse)
def capacity(request: Request, principal: Principal = Depends(page_principal)) -> Response:
    """The form, and the plan when a quota per head is given."""
    require_capacity_reader(principal)
    form = {k: request.query_params.get(k, DEFAULTS.get(k, "")) for k in FIELDS}
    result: dict[str, Any] | None = None
    error, status = "", 200
    if form["quota_per_head"].strip():
        try:
            result = _plan(request, principal, form)
        except OpenSpmError as exc:
            error, status = str(exc), exc.http_status
    with Session(engine_of(request)) as session:
        plans = list(session.scalars(select(m.Plan.external_id).order_by(m.Plan.external_id)))
    return render(
        request,
        "planning_capacity.html",
        principal,
        status_code=status,
        help_anchor="capacity-planning",
        form=form,
        plans=plans,
        result=result,
        error=error,
    )
