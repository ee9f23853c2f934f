"""Held earnings: what is held now, for whom, since when and until what; a manual release of one.

`held(engine)` reads each payee's balance after the newest month in which their plan paid them (the month's
period run: the close's snapshot, else its newest completed run), as the next run would carry it forward; a
hold already released by hand into an open month says so (`released_in`) until that month runs.
`release(...)` releases one `until: manual` hold (the others release themselves when their condition is met).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.close.adjustments import release_hold
from openspm.core.errors import Conflict, NotFound
from openspm.runs.pay import month_run
from openspm.store import models as m


@dataclass(frozen=True)
class HeldView:
    plan: str
    payee: str
    payee_name: str
    component: str
    earned_in: str  # the month it was earned (its period of origin)
    amount: Decimal  # plan currency
    currency: str
    until: str  # payment_received | plan_accepted | manual
    as_of: str  # the month whose payments carry it
    run_id: int
    released_in: str | None  # released by hand into this month, paid when it runs
    released_by: str | None


def held(engine: Engine, payee: str | None = None) -> list[HeldView]:
    """Every earning held now (of one payee), by payee, plan, component and month earned."""
    with Session(engine) as session:
        months = session.scalars(
            select(m.Period.name).where(m.Period.kind == "month").order_by(m.Period.start_date.desc())
        )
        names = dict(session.execute(select(m.Payee.external_id, m.Payee.name)).tuples().all())
        ids = dict(session.execute(select(m.Payee.id, m.Payee.external_id)).tuples().all())
        releases = {
            (r.plan, ids.get(r.payee_id, ""), r.component, r.origin_period): r
            for r in session.scalars(select(m.HoldRelease))
        }
        seen: set[tuple[str, str]] = set()
        found: list[HeldView] = []
        for month in list(months):
            run = month_run(session, month)
            if run is None:
                continue
            query = select(m.Payment).where(m.Payment.run_id == run.id)
            if payee is not None:
                query = query.where(m.Payment.payee == payee)
            for row in session.scalars(query):
                if (row.plan, row.payee) in seen:
                    continue
                seen.add((row.plan, row.payee))
                for h in (row.balance or {}).get("held", []):
                    released = releases.get((h["plan"], h["payee"], h["component"], h["period"]))
                    found.append(
                        HeldView(
                            h["plan"],
                            h["payee"],
                            names.get(h["payee"], h["payee"]),
                            h["component"],
                            h["period"],
                            Decimal(h["amount"]),
                            row.currency,
                            h["until"],
                            month,
                            run.id,
                            released.released_in if released else None,
                            released.actor if released else None,
                        )
                    )
    return sorted(found, key=lambda h: (h.payee, h.plan, h.component, h.earned_in))


def release(
    engine: Engine, *, plan: str, payee: str, component: str, earned_in: str, into: str, actor: str, note: str | None
) -> HeldView:
    """Release a held `until: manual` earning into the open month `into` (paid when that month runs next)."""
    match = [h for h in held(engine, payee) if (h.plan, h.component, h.earned_in) == (plan, component, earned_in)]
    if not match:
        raise NotFound(f"nothing of {payee}'s {component} under {plan} earned in {earned_in} is held")
    hold = match[0]
    if hold.until != "manual":
        raise Conflict(
            f"{payee}'s {component} of {earned_in} waits until {hold.until}: it is released when that happens, "
            "not by hand"
        )
    release_hold(
        engine, plan=plan, payee=payee, component=component, origin=earned_in, into=into, actor=actor, note=note
    )
    return held_one(engine, hold)


def held_one(engine: Engine, hold: HeldView) -> HeldView:
    """A hold read again (after a release)."""
    for h in held(engine, hold.payee):
        if (h.plan, h.component, h.earned_in) == (hold.plan, hold.component, hold.earned_in):
            return h
    return hold
