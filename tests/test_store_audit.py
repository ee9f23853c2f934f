"""`openspm.store.audit.add_audited`: a new row added, flushed and audited under its id."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.store import models as m
from openspm.store.audit import add_audited


def test_add_audited_keys_the_entry_by_the_new_id(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        row = m.Payee(external_id="p1", name="P One", pay_currency="USD")
        add_audited(session, row, actor="a@x", action="insert", entity="payees", after={"name": "P One"}, note="n")
        assert row.id is not None
        entry = session.scalars(select(m.AuditEntry).where(m.AuditEntry.entity == "payees")).one()
        assert (entry.entity_key, entry.action, entry.actor, entry.after, entry.note, entry.before) == (
            str(row.id),
            "insert",
            "a@x",
            {"name": "P One"},
            "n",
            None,
        )
