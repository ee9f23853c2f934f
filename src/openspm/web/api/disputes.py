"""`/api/v1/disputes`: raise, read, comment, assign, resolve (adjust | reject), withdraw, reopen.

Thin over `openspm.access.disputes`. A dispute outside what you may see answers 404 like one that does not
exist; a change your role may not make 403; a change the dispute's state forbids (commenting on a rejected
dispute, resolving it twice) 409; bad input 422. Amounts are exact decimal strings.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from openspm.access import disputes as access
from openspm.access.principal import Principal
from openspm.core.errors import InvalidInput
from openspm.disputes.schemas import CATEGORIES, LINE_KINDS, STATES
from openspm.web.api.endpoints import ERRORS, WRITE_ERRORS, Limit, Offset, principal
from openspm.web.api.schemas import NoteIn, StrictIn
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["disputes"])
DisputeId = Path(..., ge=1, le=2**31 - 1, description="The dispute's id")
CONFLICT = {**WRITE_ERRORS, 409: {**WRITE_ERRORS[409], "description": "The dispute's state forbids it"}}


class LinkedAdjustmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    period: str = Field(description="The month it is paid in")
    plan: str
    amount: Decimal = Field(description="Plan currency")
    currency: str
    reason_code: str
    status: str = Field(description="pending (waits for someone else's approval), approved or rejected")


class DisputeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    payee: str
    payee_name: str
    period: str = Field(description="The statement's month")
    line_kind: str = Field(description=", ".join(LINE_KINDS))
    line_ref: str | None
    line_label: str = Field(description="The line as the statement showed it when the dispute was raised")
    line_amount: Decimal | None
    line_currency: str | None
    plan: str | None
    category: str
    description: str
    amount_claimed: Decimal | None
    currency: str | None
    state: str = Field(description=", ".join(STATES))
    state_label: str
    raised_by: str
    assignee: str | None
    assigned_at: datetime | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None = Field(description="The rejection's reason, or the resolution's note")
    adjustment: LinkedAdjustmentOut | None
    age_days: int


class CommentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    dispute_id: int
    author: str
    author_name: str | None
    body: str
    internal: bool = Field(description="An analysts' note, never shown to the payee or their manager")
    created_at: datetime


class HistoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    at: datetime
    actor: str
    action: str
    state: str | None
    note: str | None


class DisputeDetailOut(DisputeOut):
    comments: list[CommentOut]
    history: list[HistoryOut]


class DisputePageOut(BaseModel):
    items: list[DisputeOut]
    total: int
    limit: int
    offset: int
    counts: dict[str, int] = Field(description="How many of your disputes (with the same month and payee) per state")


class DisputeIn(StrictIn):
    payee: str | None = Field(None, min_length=1, max_length=128, description="Default: your own payee")
    period: str = Field(min_length=1, max_length=32, examples=["FY2026-M01"])
    line_kind: Literal["earning", "payment", "credit", "transaction", "other"]
    line_ref: str | None = Field(
        None, max_length=256, examples=["ae-commission/commission"], description="; ".join(LINE_KINDS.values())
    )
    category: Literal["missing_credit", "wrong_amount", "wrong_rate", "quota", "split", "payment", "other"] = Field(
        description="; ".join(f"{k}: {v}" for k, v in CATEGORIES.items())
    )
    description: str = Field(min_length=1, max_length=4000)
    amount_claimed: Decimal | None = Field(None, allow_inf_nan=False, max_digits=24, decimal_places=12)
    currency: str | None = Field(None, pattern="^[A-Z]{3}$")


class CommentIn(StrictIn):
    body: str = Field(min_length=1, max_length=4000)
    internal: bool = Field(False, description="An analysts' note (admin, comp analyst only)")


class AssignIn(StrictIn):
    assignee: str | None = Field(None, max_length=254, description="An admin or comp analyst's email; default: you")


class ResolveIn(StrictIn):
    outcome: Literal["adjust", "reject"]
    amount: Decimal | None = Field(
        None, allow_inf_nan=False, max_digits=24, decimal_places=12, description="adjust: plan currency, not 0"
    )
    plan: str | None = Field(None, max_length=128, description="adjust: default the disputed line's plan")
    period: str | None = Field(
        None, max_length=32, description="adjust: default the dispute's month while open, else the next open month"
    )
    reason_code: str = Field("dispute", max_length=32)
    needs_approval: bool = Field(False, description="adjust: the adjustment waits for someone else's approval")
    note: str | None = Field(None, max_length=4000, description="adjust: a note; reject: the reason (required)")


class ReasonIn(StrictIn):
    reason: str = Field(min_length=1, max_length=4000)


def _detail(request: Request, who: Principal, dispute_id: int) -> dict[str, Any]:
    found = access.dispute_for(engine_of(request), who, dispute_id)
    out = DisputeOut.model_validate(found.dispute).model_dump()
    return {**out, "comments": found.comments, "history": found.history}


@router.get("/disputes", response_model=DisputePageOut)
def list_disputes(
    request: Request,
    state: list[str] | None = Query(None, description="Only these states (repeat the parameter for several)"),
    period: str | None = Query(None, max_length=32, description="Only this statement month"),
    payee: str | None = Query(None, min_length=1, max_length=128, description="Only this payee"),
    assignee: str | None = Query(None, max_length=254, description="Only this analyst's; `-` for unassigned"),
    order: Literal["newest", "oldest"] = Query("newest", description="oldest: the inbox order"),
    limit: int = Limit,
    offset: int = Offset,
    who: Principal = Depends(principal),
) -> dict[str, Any]:
    """Disputes you may see: your own (rep), your team's (manager), all (admin, comp analyst, finance)."""
    engine = engine_of(request)
    page = access.disputes_for(
        engine,
        who,
        states=state,
        period=period,
        payee=payee,
        assignee="" if assignee == "-" else assignee,
        oldest_first=order == "oldest",
        limit=limit,
        offset=offset,
    )
    counts = access.dispute_counts_for(engine, who, period=period, payee=payee)
    return {"items": page.items, "total": page.total, "limit": limit, "offset": offset, "counts": counts}


@router.post("/disputes", response_model=DisputeOut, status_code=201, responses=CONFLICT)
def raise_dispute(request: Request, body: DisputeIn, who: Principal = Depends(principal)) -> Any:
    """Raise a dispute about a line of your statement (an analyst: of anyone's)."""
    return access.raise_dispute_for(engine_of(request), who, **body.model_dump())


@router.get("/disputes/{dispute_id}", response_model=DisputeDetailOut)
def get_dispute(request: Request, dispute_id: int = DisputeId, who: Principal = Depends(principal)) -> Any:
    """A dispute with its comments (internal notes for staff only) and the history of its states."""
    return _detail(request, who, dispute_id)


@router.post("/disputes/{dispute_id}/comments", response_model=CommentOut, status_code=201, responses=CONFLICT)
def comment(request: Request, body: CommentIn, dispute_id: int = DisputeId, who: Principal = Depends(principal)) -> Any:
    """Comment on an open or in-review dispute (the payee, their manager, an analyst)."""
    return access.comment_for(engine_of(request), who, dispute_id, body.body, body.internal)


@router.post("/disputes/{dispute_id}/assign", response_model=DisputeOut, responses=CONFLICT)
def assign(
    request: Request, body: AssignIn | None = None, dispute_id: int = DisputeId, who: Principal = Depends(principal)
) -> Any:
    """Assign the dispute to an analyst (default: take it yourself); an open dispute goes in review."""
    return access.assign_for(engine_of(request), who, dispute_id, body.assignee if body else None)


@router.post("/disputes/{dispute_id}/resolve", response_model=DisputeOut, responses=CONFLICT)
def resolve(request: Request, body: ResolveIn, dispute_id: int = DisputeId, who: Principal = Depends(principal)) -> Any:
    """Resolve by an adjustment (`{"outcome": "adjust", "amount": "250.00"}`, linked to the dispute) or reject
    with a reason (`{"outcome": "reject", "note": "..."}`)."""
    engine = engine_of(request)
    if body.outcome == "reject":
        return access.reject_for(engine, who, dispute_id, body.note or "")
    if body.amount is None:
        raise InvalidInput("an adjustment needs an amount (plan currency), e.g. 250.00")
    return access.resolve_for(
        engine,
        who,
        dispute_id,
        amount=body.amount,
        plan=body.plan,
        period=body.period,
        reason_code=body.reason_code,
        note=body.note,
        needs_approval=body.needs_approval,
    )


@router.post("/disputes/{dispute_id}/withdraw", response_model=DisputeOut, responses=CONFLICT)
def withdraw(
    request: Request, body: NoteIn | None = None, dispute_id: int = DisputeId, who: Principal = Depends(principal)
) -> Any:
    """Withdraw the dispute (the payee it is about, or an analyst)."""
    return access.withdraw_for(engine_of(request), who, dispute_id, body.note if body else None)


@router.post("/disputes/{dispute_id}/reopen", response_model=DisputeOut, responses=CONFLICT)
def reopen(request: Request, body: ReasonIn, dispute_id: int = DisputeId, who: Principal = Depends(principal)) -> Any:
    """Reopen a rejected or withdrawn dispute, or a resolved one whose adjustment was rejected (analysts)."""
    return access.reopen_for(engine_of(request), who, dispute_id, body.reason)
