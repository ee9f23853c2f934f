"""Dispute pages: raise one from a statement line, the list (a rep's "My disputes", a manager's team, the
analysts' inbox with counts per state, oldest first), and a dispute with its thread, history and outcome.

Every form carries the session's CSRF token; every change goes through `openspm.access.disputes` (which checks
the role and audits as the user). A refusal the state causes (409) or bad input (422) shows the page again
with the reason; a role that may not (403) or a dispute outside the scope (404) is the error page.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openspm.access import disputes as access
from openspm.access.errors import Forbidden
from openspm.access.principal import WRITERS, Principal
from openspm.close.adjustments import REASON_CODES
from openspm.core.errors import InvalidInput, NotFound, OpenSpmError
from openspm.core.text import optional_decimal
from openspm.disputes.schemas import ACTIVE, CATEGORIES, LINE_KINDS, STATE_LABELS, STATES, StatementLine
from openspm.web.forms import act
from openspm.web.security import check_csrf, engine_of, page_principal
from openspm.web.templating import render

router = APIRouter()
PAGE = 50
DisputeId = Path(..., ge=1, le=2**31 - 1)
TABS = ("active", *STATES, "all")


# --- the list ----------------------------------------------------------------------------------------------


@router.get("/disputes", response_class=HTMLResponse)
def disputes_page(
    request: Request,
    state: str | None = Query(None, max_length=32),
    period: str | None = Query(None, max_length=32),
    payee: str | None = Query(None, max_length=128),
    assignee: str | None = Query(None, max_length=254),
    offset: int = Query(0, ge=0, le=10_000_000),
    principal: Principal = Depends(page_principal),
) -> Response:
    """The inbox (admin, comp analyst, finance: active first, oldest first) or my / my team's disputes."""
    inbox = principal.sees_all
    tab = state or ("active" if inbox else "all")
    if tab not in TABS:
        raise InvalidInput(f"unknown state {tab!r}; use one of: {', '.join(TABS)}")
    states = list(ACTIVE) if tab == "active" else None if tab == "all" else [tab]
    who = {"me": principal.email, "-": ""}.get(assignee or "", assignee or None)
    engine = engine_of(request)
    page = access.disputes_for(
        engine,
        principal,
        states=states,
        period=period or None,
        payee=payee or None,
        assignee=who,
        oldest_first=inbox,
        limit=PAGE,
        offset=offset,
    )
    counts = access.dispute_counts_for(engine, principal, period=period or None, payee=payee or None)
    counts = {"active": sum(counts[s] for s in ACTIVE), **counts, "all": sum(counts.values())}
    filters = {k: v for k, v in {"period": period, "payee": payee, "assignee": assignee}.items() if v}
    if inbox:
        title = "Disputes inbox"
    elif principal.is_manager:
        title = "Team disputes"
    else:
        title = "My disputes"
    return render(
        request,
        "disputes.html",
        principal,
        help_anchor="disputes",
        title=title,
        inbox=inbox,
        page=page,
        tab=tab,
        tabs=TABS,
        labels={"active": "Active", "all": "All", **STATE_LABELS},
        counts=counts,
        filters=filters,
        period=period or "",
        payee=payee or "",
        assignee=assignee or "",
        query=lambda **changes: urlencode({**filters, "state": tab, **changes}),
        page_size=PAGE,
        done=request.query_params.get("done", ""),
    )


@router.get("/disputes/on-statement/{period}/{payee}", response_class=HTMLResponse)
def on_statement(request: Request, period: str, payee: str, principal: Principal = Depends(page_principal)) -> Response:
    """The disputes about one statement (a fragment the statement page loads)."""
    page = access.disputes_for(engine_of(request), principal, period=period, payee=payee, limit=100)
    return render(request, "_disputes_on_statement.html", principal, rows=page.items)


# --- raising -----------------------------------------------------------------------------------------------


def _new_page(
    request: Request,
    principal: Principal,
    period: str,
    payee: str,
    kind: str = "",
    ref: str = "",
    inline: bool = False,
    status_code: int = 200,
    form: dict[str, str] | None = None,
    **flash: str,
) -> Response:
    lines: list[StatementLine] = access.statement_lines_for(engine_of(request), principal, period, payee)
    chosen = next((line for line in lines if line.kind == kind and line.ref == ref), None)
    if inline and chosen is None:
        raise NotFound(f"{payee}'s statement for {period} has no {kind} line {ref!r}")
    return render(
        request,
        "_dispute_form.html" if inline else "dispute_new.html",
        principal,
        status_code=status_code,
        help_anchor="disputes",
        period=period,
        payee=payee,
        lines=lines,
        chosen=chosen,
        kind=kind,
        ref=ref,
        categories=CATEGORIES,
        kinds=LINE_KINDS,
        form=form or {},
        **flash,
    )


@router.get("/disputes/new", response_class=HTMLResponse)
def new_dispute(
    request: Request,
    period: str = Query(..., min_length=1, max_length=32),
    payee: str | None = Query(None, max_length=128),
    kind: str = Query("", max_length=16),
    ref: str = Query("", max_length=256),
    inline: bool = False,
    principal: Principal = Depends(page_principal),
) -> Response:
    """The form to dispute a statement line (`inline`: the small form the statement page shows)."""
    target = payee or principal.payee
    if target is None:
        raise InvalidInput("say whose statement: ?payee=EMP-1072")
    if not access.may_raise_for(principal, target):
        access.statement_lines_for(engine_of(request), principal, period, target)  # 404 outside the scope
        raise Forbidden(f"only {target} or an admin or comp_analyst may raise a dispute about {target}'s statement")
    return _new_page(request, principal, period, target, kind, ref, inline)


@router.post("/disputes", response_class=HTMLResponse)
def create_dispute(
    request: Request,
    csrf_token: str = Form(""),
    period: str = Form(""),
    payee: str = Form(""),
    line: str = Form("", description="kind|ref of a statement line, or transaction| / other|"),
    line_ref: str = Form(""),
    category: str = Form(""),
    description: str = Form(""),
    amount_claimed: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    kind, _, ref = line.partition("|")
    if kind in ("transaction", "other"):
        ref = line_ref
    form = {"line": line, "line_ref": line_ref, "category": category, "description": description}
    form["amount_claimed"] = amount_claimed
    try:
        view = access.raise_dispute_for(
            engine_of(request),
            principal,
            payee=payee.strip() or None,
            period=period.strip(),
            line_kind=kind,
            line_ref=ref.strip() or None,
            category=category,
            description=description,
            amount_claimed=optional_decimal(amount_claimed, "amount claimed"),
        )
    except OpenSpmError as exc:
        if isinstance(exc, Forbidden) or exc.http_status == 404:
            raise
        target = payee.strip() or principal.payee or ""
        return _new_page(
            request, principal, period, target, kind, ref, status_code=exc.http_status, form=form, error=str(exc)
        )
    return RedirectResponse(f"/disputes/{view.id}?" + urlencode({"done": f"dispute {view.id} raised"}), 303)


# --- one dispute ---------------------------------------------------------------------------------------------


def _detail_page(
    request: Request, principal: Principal, dispute_id: int, status_code: int = 200, **flash: str
) -> Response:
    engine = engine_of(request)
    found = access.dispute_for(engine, principal, dispute_id)
    d = found.dispute
    writer = bool(principal.roles & WRITERS) and principal.may_write
    own = principal.payee == d.payee
    month = ""
    if writer and d.active:
        try:
            month = access.default_adjustment_month_for(engine, principal, dispute_id)
        except OpenSpmError:
            month = ""
    return render(
        request,
        "dispute.html",
        principal,
        status_code=status_code,
        help_anchor="disputes",
        d=d,
        comments=found.comments,
        history=found.history,
        writer=writer,
        may_comment=d.active and (writer or own or (principal.is_manager and not principal.sees_all)),
        may_withdraw=d.active and (writer or own),
        adjustment_month=month,
        reasons=REASON_CODES,
        categories=CATEGORIES,
        labels=STATE_LABELS,
        **flash,
    )


@router.get("/disputes/{dispute_id}", response_class=HTMLResponse)
def dispute_page(
    request: Request, dispute_id: int = DisputeId, principal: Principal = Depends(page_principal)
) -> Response:
    return _detail_page(request, principal, dispute_id, done=request.query_params.get("done", ""))


def _act(request: Request, principal: Principal, dispute_id: int, done: str, action: Callable[[], object]) -> Response:
    """Run a change; 409/422 show the dispute again with the reason, 403/404 are the error page."""
    return act(
        action,
        lambda status, error: _detail_page(request, principal, dispute_id, status_code=status, error=error),
        f"/disputes/{dispute_id}",
        done,
    )


@router.post("/disputes/{dispute_id}/comment", response_class=HTMLResponse)
def comment(
    request: Request,
    dispute_id: int = DisputeId,
    csrf_token: str = Form(""),
    body: str = Form(""),
    internal: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    engine = engine_of(request)
    return _act(
        request,
        principal,
        dispute_id,
        "internal note added" if internal else "comment added",
        lambda: access.comment_for(engine, principal, dispute_id, body, bool(internal)),
    )


@router.post("/disputes/{dispute_id}/assign", response_class=HTMLResponse)
def assign(
    request: Request,
    dispute_id: int = DisputeId,
    csrf_token: str = Form(""),
    assignee: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    engine = engine_of(request)
    chosen = assignee.strip() or principal.email
    return _act(
        request,
        principal,
        dispute_id,
        f"assigned to {chosen}",
        lambda: access.assign_for(engine, principal, dispute_id, chosen),
    )


@router.post("/disputes/{dispute_id}/resolve", response_class=HTMLResponse)
def resolve(
    request: Request,
    dispute_id: int = DisputeId,
    csrf_token: str = Form(""),
    outcome: str = Form(""),
    amount: str = Form(""),
    plan: str = Form(""),
    period: str = Form(""),
    reason_code: str = Form("dispute"),
    needs_approval: str = Form(""),
    note: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    engine = engine_of(request)
    if outcome == "reject":
        return _act(
            request, principal, dispute_id, "rejected", lambda: access.reject_for(engine, principal, dispute_id, note)
        )
    if outcome != "adjust":
        raise InvalidInput(f"unknown outcome {outcome!r}; use adjust or reject")

    def adjust() -> None:
        value = optional_decimal(amount, "amount")
        if value is None:
            raise InvalidInput("an adjustment needs an amount (plan currency), e.g. 250.00")
        access.resolve_for(
            engine,
            principal,
            dispute_id,
            amount=value,
            plan=plan.strip() or None,
            period=period.strip() or None,
            reason_code=reason_code.strip() or "dispute",
            note=note.strip() or None,
            needs_approval=bool(needs_approval),
        )

    return _act(request, principal, dispute_id, "resolved with an adjustment", adjust)


@router.post("/disputes/{dispute_id}/withdraw", response_class=HTMLResponse)
def withdraw(
    request: Request,
    dispute_id: int = DisputeId,
    csrf_token: str = Form(""),
    note: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    engine = engine_of(request)
    return _act(
        request,
        principal,
        dispute_id,
        "withdrawn",
        lambda: access.withdraw_for(engine, principal, dispute_id, note.strip() or None),
    )


@router.post("/disputes/{dispute_id}/reopen", response_class=HTMLResponse)
def reopen(
    request: Request,
    dispute_id: int = DisputeId,
    csrf_token: str = Form(""),
    reason: str = Form(""),
    principal: Principal = Depends(page_principal),
) -> Response:
    check_csrf(request, csrf_token)
    engine = engine_of(request)
    return _act(
        request, principal, dispute_id, "reopened", lambda: access.reopen_for(engine, principal, dispute_id, reason)
    )
