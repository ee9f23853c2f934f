"""`/api/v1/leaderboard`, `/api/v1/contests`, `/api/v1/badges`, `/api/v1/notifications`: gamification.

Thin over `openspm.access.gamification`. Leaderboards and contest standings are public to signed-in users with
the opt-out applied (an opted-out payee is `"(hidden)"` with no id and no value to those who may not see their
data anyway); adding and closing contests and awarding badges need the admin or comp_analyst role (and a write
token); notifications are the caller's own. Amounts and values are exact decimal strings.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from openspm.access import gamification as access
from openspm.access.principal import Principal
from openspm.web.api.endpoints import ERRORS, WRITE_ERRORS, principal
from openspm.web.security import engine_of

router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["gamification"])
ContestRef = Path(..., min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$", description="Key or id")
NotificationId = Path(..., ge=1, le=2**31 - 1, description="The notification's id")


def _name(description: str) -> Any:
    """A fresh Query per parameter (FastAPI binds a shared one to the first parameter's name)."""
    return Query(None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_. -]*$", description=description)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BoardRowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    rank: int
    payee: str | None = Field(description="The payee's id; null when hidden")
    name: str = Field(description='"(hidden)" for a payee who opted out of public ranking')
    value: Decimal | None = Field(description="The metric (attainment as a fraction: 1.0 is 100%); null when hidden")
    hidden: bool
    me: bool = Field(description="The caller's own row")
    region: str | None


class LeaderboardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    plan: str
    measure: str
    metric: str
    period: str
    scope: str
    scope_label: str
    my_rank: int | None
    rows: list[BoardRowOut]


class PreferenceIn(_In):
    public: bool = Field(description="false: hide me from public leaderboards (I still see my own rank)")


class PreferenceOut(BaseModel):
    public: bool | None = Field(description="null when the caller is not a payee")


class ContestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    key: str
    name: str
    kind: str = Field(description="contest (prizes by rank) or spif (a payout per unit)")
    plan: str
    first_month: str
    last_month: str
    status: str = Field(description="active or closed")
    description: str


class ContestIn(_In):
    yaml: str = Field(min_length=1, max_length=20_000, description="The contest file's text (docs/gamification.md)")
    replace: bool = Field(False, description="Replace an active contest with the same key")


class StandingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    rank: int
    payee: str | None
    name: str
    value: Decimal | None
    qualifies: bool = Field(description="Clears the threshold")
    award: Decimal | None = Field(description="Prize or SPIF payout, in the plan currency")


class StandingsOut(BaseModel):
    contest: ContestOut
    currency: str
    computed_at: str
    final: bool
    my_rank: int | None
    rows: list[StandingOut]
    definition: dict[str, Any]


class CloseIn(_In):
    pay_period: str | None = Field(
        None, min_length=1, max_length=32, description="Default: the contest's, or the month after"
    )
    early: bool = Field(False, description="Close before the window has ended")


class ClosedOut(BaseModel):
    contest: ContestOut
    pay_period: str
    adjustments: list[dict[str, Any]] = Field(description="The pending adjustments proposed (payee, amount, id)")


class BadgeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    payee: str
    name: str
    badge: str
    title: str
    key: str
    earned_on: str


class AwardOut(BaseModel):
    months: list[str]
    awarded: list[BadgeOut]


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    title: str
    body: str
    link: str | None
    created_at: datetime
    read: bool


class NotificationsOut(BaseModel):
    unread: int
    items: list[NotificationOut]


class MarkedOut(BaseModel):
    marked: int


@router.get("/leaderboard", response_model=LeaderboardOut)
def leaderboard(
    request: Request,
    measure: str | None = _name("A measure stored by runs, e.g. bookings (default bookings, else the first)"),
    period: str | None = Query(None, min_length=1, max_length=32, description="A month, quarter or year"),
    metric: Literal["value", "count", "attainment"] = Query("value"),
    scope: Literal["company", "team", "region"] = Query("company"),
    plan: str | None = _name("The plan of the measure, when several plans have one of that name"),
    team: str | None = Query(None, min_length=1, max_length=128, description="The manager's id (admin, analyst)"),
    region: str | None = _name("The region (scope=region; default the caller's own)"),
    me: Principal = Depends(principal),
) -> Any:
    """Payees ranked on a stored measure for a period (competition ranking: 1, 2, 2, 4)."""
    return access.leaderboard_for(
        engine_of(request),
        me,
        measure=measure,
        period=period,
        metric=metric,
        scope=scope,
        plan=plan,
        team=team,
        region=region,
    )


@router.get("/leaderboard/preference", response_model=PreferenceOut)
def preference(request: Request, me: Principal = Depends(principal)) -> Any:
    """Whether the caller appears by name on public leaderboards."""
    return PreferenceOut(public=access.ranking_public_for(engine_of(request), me))


@router.put("/leaderboard/preference", response_model=PreferenceOut)
def set_preference(body: PreferenceIn, request: Request, me: Principal = Depends(principal)) -> Any:
    """Opt out of (or back into) public leaderboards: the caller's own choice."""
    return PreferenceOut(public=access.set_ranking_public_for(engine_of(request), me, body.public))


@router.get("/contests", response_model=list[ContestOut])
def contests(
    request: Request,
    status: Literal["active", "closed"] | None = Query(None),
    me: Principal = Depends(principal),
) -> Any:
    return access.contests_for(engine_of(request), me, status)


@router.post("/contests", response_model=ContestOut, status_code=201, responses=WRITE_ERRORS)
def add_contest(body: ContestIn, request: Request, me: Principal = Depends(principal)) -> Any:
    """Add a contest or SPIF from its YAML (checked like a plan: errors name the key)."""
    return access.add_contest_for(engine_of(request), me, body.yaml, "contest", body.replace)


def _standings(view: access.StandingsView) -> StandingsOut:
    return StandingsOut(
        contest=ContestOut.model_validate(view.contest),
        currency=view.currency,
        computed_at=view.computed_at,
        final=view.final,
        my_rank=view.my_rank,
        rows=[
            StandingOut(
                rank=s.rank,
                payee=s.payee or None,
                name=s.name,
                value=None if not s.payee else s.value,
                qualifies=s.qualifies,
                award=s.award,
            )
            for s in view.rows
        ],
        definition=view.document.model_dump(mode="json", by_alias=True, exclude_none=True),
    )


@router.get("/contests/{ref}", response_model=StandingsOut)
def contest(request: Request, ref: str = ContestRef, me: Principal = Depends(principal)) -> Any:
    """A contest with its live standings (final once closed)."""
    return _standings(access.standings_for(engine_of(request), me, ref))


@router.get("/contests/{ref}/standings", response_model=StandingsOut)
def standings(
    request: Request,
    ref: str = ContestRef,
    refresh: bool = Query(False, description="Recompute now (admin, analyst)"),
    me: Principal = Depends(principal),
) -> Any:
    return _standings(access.standings_for(engine_of(request), me, ref, refresh))


@router.post("/contests/{ref}/close", response_model=ClosedOut, responses=WRITE_ERRORS)
def close(body: CloseIn, request: Request, ref: str = ContestRef, me: Principal = Depends(principal)) -> Any:
    """Final standings; each award proposed as a pending adjustment (reason spiff) in the pay month."""
    closed = access.close_contest_for(engine_of(request), me, ref, body.pay_period, body.early)
    return ClosedOut(
        contest=ContestOut.model_validate(closed.contest), pay_period=closed.pay_period, adjustments=closed.adjustments
    )


def _badge(b: Any) -> BadgeOut:
    return BadgeOut(
        payee=b.payee, name=b.name, badge=b.badge, title=b.title, key=b.key, earned_on=b.earned_on.isoformat()
    )


@router.get("/badges", response_model=list[BadgeOut])
def badges(request: Request, me: Principal = Depends(principal)) -> Any:
    """Badges the caller may see (their own; a manager's team; everyone for admin, analyst, finance)."""
    return [_badge(b) for b in access.badges_for(engine_of(request), me)]


@router.post("/badges/award", response_model=AwardOut, responses=WRITE_ERRORS)
def award(request: Request, me: Principal = Depends(principal)) -> Any:
    """Award every badge the stored results earn (idempotent)."""
    report = access.award_badges_for(engine_of(request), me)
    return AwardOut(months=report.months, awarded=[_badge(b) for b in report.awarded])


@router.get("/notifications", response_model=NotificationsOut)
def notifications(
    request: Request,
    unread: bool = Query(False, description="Only unread ones"),
    limit: int = Query(100, ge=1, le=1000),
    me: Principal = Depends(principal),
) -> Any:
    engine = engine_of(request)
    items = access.notifications_for(engine, me, unread, limit)
    return NotificationsOut(
        unread=access.unread_for(engine, me), items=[NotificationOut.model_validate(n) for n in items]
    )


@router.post("/notifications/{notification_id}/read", response_model=MarkedOut)
def read_one(request: Request, notification_id: int = NotificationId, me: Principal = Depends(principal)) -> Any:
    return MarkedOut(marked=access.mark_read_for(engine_of(request), me, notification_id))


@router.post("/notifications/read-all", response_model=MarkedOut)
def read_all(request: Request, me: Principal = Depends(principal)) -> Any:
    return MarkedOut(marked=access.mark_read_for(engine_of(request), me))
