"""Who sees and does what in gamification: leaderboards, contests, badges, notifications.

- Leaderboards and contest standings are public to every signed-in user, with the opt-out applied: a payee who
  opted out of public ranking is shown as "(hidden)" (rank kept, name and value withheld) to everyone who may
  not see their data anyway. They see their own row; their manager (for their team) and admin, comp analyst and
  finance (who see every payee) see the name. Ranks of the others stay true because the row stays.
- Scope: `company` (everyone), `team` (a manager's team as of the period: a manager's own, a rep's manager's;
  admin/analyst/finance name any manager), `region` (a payee region; default the viewer's own).
- The opt-out is the payee's own setting (`/settings`), changed only by them.
- Contests: everyone reads them; admin and comp analyst add and close them. The close proposes each award as a
  pending adjustment through `openspm.close.adjustments` (someone else approves it, like any adjustment).
- Badges: a rep sees their own, a manager their team's, admin/analyst/finance everyone's; awarding on demand
  is a write. Notifications: each user their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.access.principal import Principal
from openspm.access.visibility import visible_payee_ids
from openspm.close.adjustments import add_adjustment
from openspm.core.errors import InvalidInput, NotFound
from openspm.gamification import badges as badge_service
from openspm.gamification import contests as contest_service
from openspm.gamification import leaderboard as lb
from openspm.gamification import notifications as note_service
from openspm.store import models as m

HIDDEN = "(hidden)"


@dataclass(frozen=True)
class BoardRow:
    rank: int
    payee: str | None  # None when hidden
    name: str
    value: Decimal | None  # None when hidden
    hidden: bool
    me: bool
    region: str | None = None


@dataclass(frozen=True)
class LeaderboardView:
    plan: str
    measure: str
    metric: str
    period: str
    scope: str
    scope_label: str
    rows: list[BoardRow] = field(default_factory=list)
    my_rank: int | None = None
    measures: list[tuple[str, str]] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)


def _redactor(session: Session, principal: Principal, period: str | None) -> tuple[set[int], set[int] | None]:
    """(payees who opted out, payees the principal may see anyway or None for all)."""
    return lb.hidden_payees(session), visible_payee_ids(session, principal, period)


def _shown(payee_id: int, principal: Principal, hidden: set[int], visible: set[int] | None) -> bool:
    return payee_id not in hidden or payee_id == principal.payee_id or visible is None or payee_id in visible


def leaderboard_for(
    engine: Engine,
    principal: Principal,
    *,
    measure: str | None = None,
    period: str | None = None,
    metric: str = "value",
    scope: str = "company",
    plan: str | None = None,
    team: str | None = None,
    region: str | None = None,
) -> LeaderboardView:
    """A leaderboard as `principal` may see it (see the module docstring for scope and the opt-out)."""
    if scope not in lb.SCOPES:
        raise InvalidInput(f"unknown scope {scope!r}; use one of: {', '.join(lb.SCOPES)}")
    with Session(engine) as session:
        measures = lb.stored_measures(session)
        if not measures:
            raise NotFound("no stored measures yet: run a month first")
        chosen_measure = measure or ("bookings" if any(x == "bookings" for _, x in measures) else measures[0][1])
        chosen_period = period or lb.current_period(session, "quarter")
        row = lb.period_row(session, chosen_period)
        members: set[int] | None = None
        label = "Company"
        chosen_region: str | None = None
        me = session.get(m.Payee, principal.payee_id) if principal.payee_id is not None else None
        if scope == "team":
            manager = _team_manager(session, principal, team, row)
            members = lb.team_of(session, manager.id, row.start_date, row.end_date)
            label = f"Team of {manager.name}"
        elif scope == "region":
            chosen_region = region or (me.region if me is not None else None)
            if not chosen_region:
                raise InvalidInput("name a region (you have none of your own)")
            label = f"Region {chosen_region}"
        board = lb.build_board(
            session,
            measure=chosen_measure,
            period=chosen_period,
            metric=metric,
            plan=plan,
            payee_ids=members,
            region=chosen_region,
        )
        hidden, visible = _redactor(session, principal, chosen_period)
        regions = sorted({r for r in session.scalars(select(m.Payee.region).distinct()) if r})
    rows: list[BoardRow] = []
    my_rank = None
    for e in board.entries:
        mine = e.payee_id == principal.payee_id
        if mine:
            my_rank = e.rank
        if _shown(e.payee_id, principal, hidden, visible):
            rows.append(BoardRow(e.rank, e.payee, e.name, e.value, False, mine, e.region))
        else:
            rows.append(BoardRow(e.rank, None, HIDDEN, None, True, False, None))
    return LeaderboardView(
        board.plan, board.measure, board.metric, board.period, scope, label, rows, my_rank, measures, regions
    )


def _team_manager(session: Session, principal: Principal, team: str | None, period: m.Period) -> m.Payee:
    if team is not None and principal.sees_all:
        found = session.scalars(select(m.Payee).where(m.Payee.external_id == team)).first()
        if found is None:
            raise NotFound(f"unknown payee {team!r}")
        return found
    if principal.payee_id is None:
        raise InvalidInput("name the team's manager (team=ID)")
    if principal.is_manager:
        manager_id: int | None = principal.payee_id
    else:
        manager_id = lb.manager_of(session, principal.payee_id, period.start_date, period.end_date)
    if manager_id is None:
        raise NotFound(f"you have no team in {period.name}")
    found = session.get(m.Payee, manager_id)
    assert found is not None
    return found


# --- the opt-out -----------------------------------------------------------------------------------------------


def ranking_public_for(engine: Engine, principal: Principal) -> bool | None:
    """The principal's own setting (None: not a payee)."""
    if principal.payee_id is None:
        return None
    with Session(engine) as session:
        return lb.is_public(session, principal.payee_id)


def set_ranking_public_for(engine: Engine, principal: Principal, public: bool) -> bool:
    """Change the principal's own setting (their choice: nobody else's)."""
    if principal.payee_id is None:
        raise InvalidInput("only a payee appears on leaderboards; this user is not linked to one")
    return lb.set_public(engine, principal.payee_id, public, principal.actor)


# --- contests --------------------------------------------------------------------------------------------------


def contests_for(
    engine: Engine, principal: Principal, status: str | None = None
) -> list[contest_service.ContestSummary]:
    return contest_service.list_contests(engine, status)


def add_contest_for(
    engine: Engine, principal: Principal, text: str, source: str = "contest.yaml", replace_active: bool = False
) -> contest_service.ContestSummary:
    principal.require_write("adding a contest")
    return contest_service.add_contest(engine, text, principal.actor, source, replace_active)


@dataclass(frozen=True)
class StandingsView:
    contest: contest_service.ContestSummary
    document: contest_service.ContestDocument
    currency: str
    rows: list[contest_service.Standing]
    computed_at: str
    final: bool
    my_rank: int | None
    adjustments: list[dict[str, str]] = field(default_factory=list)


def standings_for(engine: Engine, principal: Principal, ref: str | int, refresh: bool = False) -> StandingsView:
    """A contest's standings with the opt-out applied (hidden rows keep their rank)."""
    if refresh:
        principal.require_write("recomputing contest standings")
    standings = contest_service.contest_standings(engine, ref, refresh)
    _, document = contest_service.get_contest(engine, ref)
    with Session(engine) as session:
        hidden, visible = _redactor(session, principal, None)
        row = session.get(m.Contest, standings.contest.id)
        adjustments = list((row.results or {}).get("adjustments", [])) if row is not None and principal.sees_all else []
    rows: list[contest_service.Standing] = []
    my_rank = None
    for s in standings.rows:
        if s.payee_id == principal.payee_id:
            my_rank = s.rank
        if _shown(s.payee_id, principal, hidden, visible):
            rows.append(s)
        else:
            rows.append(contest_service.Standing(s.rank, 0, "", HIDDEN, Decimal(0), s.qualifies, None))
    return StandingsView(
        standings.contest,
        document,
        standings.currency,
        rows,
        standings.computed_at,
        standings.final,
        my_rank,
        adjustments,
    )


def close_contest_for(
    engine: Engine, principal: Principal, ref: str | int, pay_period: str | None = None, early: bool = False
) -> contest_service.ClosedContest:
    principal.require_write("closing a contest")
    return contest_service.close_contest(engine, ref, principal.actor, add_adjustment, pay_period, early)


# --- badges and notifications ----------------------------------------------------------------------------------


def badges_for(engine: Engine, principal: Principal) -> list[badge_service.BadgeView]:
    with Session(engine) as session:
        visible = visible_payee_ids(session, principal, None)
    return badge_service.badges_of(engine, visible)


def award_badges_for(engine: Engine, principal: Principal, today: date | None = None) -> badge_service.AwardReport:
    principal.require_write("awarding badges")
    return badge_service.award_badges(engine, today)


def notifications_for(
    engine: Engine, principal: Principal, unread_only: bool = False, limit: int = 100
) -> list[note_service.NotificationView]:
    return note_service.notifications_of(engine, principal.user_id, unread_only, limit)


def unread_for(engine: Engine, principal: Principal) -> int:
    return note_service.unread_count(engine, principal.user_id)


def mark_read_for(engine: Engine, principal: Principal, notification_id: int | None = None) -> int:
    return note_service.mark_read(engine, principal.user_id, notification_id)


def leaderboard_periods(engine: Engine) -> list[tuple[str, str]]:
    """(name, kind) of the calendar's periods with stored measures, newest first, for the period picker."""
    with Session(engine) as session:
        months = set(session.scalars(select(m.PayeeMeasure.month).distinct()))
        rows = session.scalars(select(m.Period).order_by(m.Period.start_date.desc(), m.Period.end_date.desc())).all()
        spans = [(p.start_date, p.end_date) for p in rows if p.name in months]
        return [
            (p.name, p.kind) for p in rows if any(start >= p.start_date and end <= p.end_date for start, end in spans)
        ]
