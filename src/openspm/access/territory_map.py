"""The territory map: every located account as a point coloured by its territory on a day, each territory's
totals, and the coverage gaps (accounts nobody owns, territories nobody covers).

Admin, comp analyst and finance see the whole map; a manager sees the territories their team (as of the day)
is assigned to; reps have no planning pages (403).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from openspm.access.errors import Forbidden
from openspm.access.principal import Principal
from openspm.access.visibility import subtree
from openspm.core.dates import utc_now
from openspm.store import models as m


@dataclass(frozen=True)
class TerritoryTotal:
    territory: str
    name: str
    accounts: int
    potential: Decimal
    payees: list[str]


@dataclass(frozen=True)
class TerritoryMap:
    on: date
    points: dict[str, list[list[Any]]]  # territory → [[longitude, latitude, account, potential], ...] as text
    totals: list[TerritoryTotal]
    unowned: list[str]  # accounts with neither a territory nor a named owner that day
    uncovered: list[str]  # territories with no payee that day (a parent territory is covered by its children)
    unlocated: int  # accounts without coordinates (not drawn)


def _in_effect(model: Any, day: date) -> Any:
    return (model.effective_from <= day) & or_(model.effective_to.is_(None), model.effective_to > day)


def territory_map_for(engine: Engine, principal: Principal, on: date | None = None) -> TerritoryMap:
    """The map as of `on` (default today); see the module docstring for who sees what."""
    if not (principal.sees_all or principal.is_manager):
        raise Forbidden("the territory map is for admin, comp_analyst, finance and manager users")
    day = on or utc_now().date()
    with Session(engine) as session:
        territories = {t.id: t for t in session.scalars(select(m.Territory))}
        covering: dict[int, list[str]] = {}
        for territory_id, payee in session.execute(
            select(m.TerritoryAssignment.territory_id, m.Payee.external_id)
            .join(m.Payee, m.Payee.id == m.TerritoryAssignment.payee_id)
            .where(_in_effect(m.TerritoryAssignment, day))
            .order_by(m.Payee.external_id)
        ):
            covering.setdefault(territory_id, []).append(payee)
        shown = set(territories)
        if not principal.sees_all:
            team = (
                subtree(session, principal.payee_id, day, date.fromordinal(day.toordinal() + 1))
                if principal.payee_id
                else set()
            )
            mine = {
                t
                for t, payee_id in session.execute(
                    select(m.TerritoryAssignment.territory_id, m.TerritoryAssignment.payee_id).where(
                        _in_effect(m.TerritoryAssignment, day)
                    )
                )
                if payee_id in team
            }
            shown = mine
        placed = dict(
            session.execute(
                select(m.AccountTerritory.account_id, m.AccountTerritory.territory_id).where(
                    _in_effect(m.AccountTerritory, day)
                )
            )
            .tuples()
            .all()
        )
        owned = set(session.scalars(select(m.AccountAssignment.account_id).where(_in_effect(m.AccountAssignment, day))))
        points: dict[str, list[list[Any]]] = {}
        counts: dict[int, tuple[int, Decimal]] = {}
        unowned: list[str] = []
        unlocated = 0
        for account in session.scalars(select(m.Account).order_by(m.Account.external_id)):
            territory_id = placed.get(account.id)
            if territory_id is None and account.id not in owned and principal.sees_all:
                unowned.append(account.external_id)
            if territory_id is None or territory_id not in shown:
                continue
            n, total = counts.get(territory_id, (0, Decimal(0)))
            counts[territory_id] = (n + 1, total + (account.potential or Decimal(0)))
            if account.latitude is None or account.longitude is None:
                unlocated += 1
                continue
            points.setdefault(territories[territory_id].external_id, []).append(
                [str(account.longitude), str(account.latitude), account.external_id, str(account.potential or 0)]
            )
        totals = [
            TerritoryTotal(
                territories[t].external_id,
                territories[t].name,
                counts.get(t, (0, Decimal(0)))[0],
                counts.get(t, (0, Decimal(0)))[1],
                covering.get(t, []),
            )
            for t in sorted(shown, key=lambda t: territories[t].external_id)
        ]
        parents = {
            territories[t].external_id for t in territories if any(x.parent_id == t for x in territories.values())
        }
        uncovered = [
            t.territory for t in totals if not t.payees and t.territory not in parents
        ]  # a parent: its children
        return TerritoryMap(day, points, totals, unowned, uncovered, unlocated)
