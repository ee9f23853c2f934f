"""What the API sends and accepts. Amounts are exact decimal strings (`"1234.50"`), never floats."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

T = TypeVar("T")


class StrictIn(BaseModel):
    """A request body: no unknown fields, no NUL characters in any text."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not hold a NUL character")
        return value


class NoteIn(StrictIn):
    """An optional note with a change (close, reopen, withdraw)."""

    note: str | None = Field(None, max_length=4000)


class ErrorOut(BaseModel):
    error: str = Field(description="A short code: unauthorized, forbidden, not_found, conflict, invalid_input ...")
    detail: Any = Field(description="What went wrong: a sentence, or a list of fields and what is wrong with each")


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="How many there are in all")
    limit: int
    offset: int


class MeOut(BaseModel):
    email: str
    name: str
    roles: list[str]
    payee: str | None
    scopes: list[str]
    via_token: bool
    may_write: bool


class PayeeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    email: str | None
    role: str | None
    region: str | None
    pay_currency: str


class PeriodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    name: str
    kind: str
    start: date
    end: date = Field(description="Exclusive")
    status: str = Field(description="open, calculated, approved or closed")
    run_id: int | None
    closed_by: str | None
    closed_at: datetime | None


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    period: str
    status: str
    engine: str
    actor: str
    started_at: datetime
    finished_at: datetime | None
    plans: dict[str, int]
    error: str | None


class EarningOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    run_id: int
    payee: str
    plan: str
    period: str
    component: str
    measure_period: str
    base: Decimal | None
    quota: Decimal | None
    attainment: Decimal | None = Field(description="A fraction: 1 = 100%")
    rate: Decimal | None
    amount: Decimal
    cut: Decimal = Field(description="What a cap cut")
    currency: str


class PaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    run_id: int
    payee: str
    plan: str
    period: str
    currency: str
    earned: Decimal
    amount: Decimal
    pay_currency: str
    rate: Decimal
    pay_amount: Decimal
    lines: list[dict[str, Any]]


class AdjustmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    payee: str
    plan: str
    period: str
    amount: Decimal
    currency: str
    reason_code: str
    note: str | None
    status: str
    created_by: str
    decided_by: str | None


class AdjustmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    payee: str = Field(min_length=1, max_length=128)
    plan: str = Field(min_length=1, max_length=128)
    period: str = Field(min_length=1, max_length=32, examples=["FY2026-M01"])
    amount: Decimal = Field(
        allow_inf_nan=False, max_digits=24, decimal_places=12, description="Plan currency; negative takes money back"
    )
    reason_code: str = Field(min_length=1, max_length=32, examples=["correction"])
    note: str | None = Field(None, max_length=2000)
    component: str | None = Field(None, max_length=64)
    needs_approval: bool = False

    @field_validator("payee", "plan", "period", "reason_code", "note", "component")
    @classmethod
    def no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("must not hold a NUL character")
        return value


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=2000)


class MonthStatusOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    period: str
    status: str
    run_id: int | None
    closed_by: str | None = None
    closed_at: datetime | None = None
    documents: int = 0


def plain(value: Any) -> Any:
    """A dataclass tree as JSON-ready values: Decimal → exact string, dates → ISO, tuples → lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value
