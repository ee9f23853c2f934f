"""Who is in seat for capacity planning: the tenures, in whole months, of a plan's payees on a day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from openspm.core.errors import NotFound
from openspm.store import models as m


def in_seat_tenures(engine: Engine, plan: str, on: date) -> list[int]:
    """Tenure in whole months on `on` of each payee assigned to `plan` that day and employed then, sorted.

    Tenure counts calendar months from the hire month (a hire in the month of `on` is 0, like the ramp's month 0);
    a payee without a hire date counts as fully tenured (120 months).
    """
    with Session(engine) as session:
        plan_id = session.scalars(select(m.Plan.id).where(m.Plan.external_id == plan)).first()
        if plan_id is None:
            raise NotFound(f"unknown plan {plan!r}")
        assigned = select(m.PlanAssignment.payee_id).where(
            m.PlanAssignment.plan_id == plan_id,
            m.PlanAssignment.effective_from <= on,
            or_(m.PlanAssignment.effective_to.is_(None), m.PlanAssignment.effective_to > on),
        )
        payees = session.scalars(
            select(m.Payee).where(
                m.Payee.id.in_(assigned),
                or_(m.Payee.hire_date.is_(None), m.Payee.hire_date <= on),
                or_(m.Payee.termination_date.is_(None), m.Payee.termination_date > on),
            )
        )
        return sorted(
            120 if p.hire_date is None else (on.year - p.hire_date.year) * 12 + on.month - p.hire_date.month
            for p in payees
        )
