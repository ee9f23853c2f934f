"""Account segmentation by rules and potential scoring (SQLite and PostgreSQL): first matching rule wins and is
kept on the account; potential is at least what the account already buys, larger for larger peers, explained."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from openspm.core.errors import InvalidInput
from openspm.ingest.service import import_file
from openspm.periods.service import create_calendar
from openspm.planning.segmentation import parse_segment_rules, score_potential, segment_accounts
from openspm.store import models as m
from tests.conftest import WriteFile

RULES = {
    "segments": [
        {"name": "Strategic", "when": "attributes.tier == 'A'"},
        {"name": "Enterprise", "when": "employees >= 1000 or size == 'ENT'"},
        {"name": "Mid-Market", "when": "employees >= 100"},
        {"name": "SMB"},
    ]
}


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    create_calendar(engine, "fiscal", 1, [2025], actor="test")
    accounts = ["id,name,industry,size,employees,annual_revenue,region,attr.tier"]
    sales = ["id,date,account,product,amount,currency"]
    for i in range(40):
        size, employees = [("SMB", 20 + i), ("MM", 300 + 10 * i), ("ENT", 3000 + 100 * i)][i % 3]
        tier = "A" if i == 39 else ""
        accounts.append(
            f"C{i:02},Co {i},{['Retail', 'Finance'][i % 2]},{size},{employees},{employees * 100000},NA,{tier}"
        )
        if i < 36:  # four accounts bought nothing
            base = {"SMB": 1000, "MM": 10000, "ENT": 100000}[size]
            currency = "EUR" if i == 5 else "USD"
            sales.append(f"S{i:02},2025-03-{1 + i % 28:02},C{i:02},P1,{base + 37 * i},{currency}")
    files = {
        "accounts": "\n".join(accounts) + "\n",
        "products": "id,name,family\nP1,Seat,Platform\n",
        "fx_rates": "from_currency,to_currency,effective_date,rate\nEUR,USD,2025-01-01,1.10\n",
        "transactions": "\n".join(sales) + "\n",
    }
    for kind, body in files.items():
        report = import_file(engine, kind, write(f"{kind}.csv", body), actor="test")
        assert report.rejected == 0, report.issues
    return engine


def _accounts(engine: Engine) -> dict[str, m.Account]:
    with Session(engine) as session:
        return {a.external_id: a for a in session.scalars(select(m.Account))}


def test_the_first_matching_rule_gives_the_segment_and_says_so(company: Engine) -> None:
    rules = parse_segment_rules(RULES)
    preview = segment_accounts(company, rules, "analyst@x.io", dry_run=True)
    assert preview.counts == {"Enterprise": 13, "Mid-Market": 13, "SMB": 13, "Strategic": 1} and preview.changed == 40
    assert all(a.segment is None for a in _accounts(company).values())  # a dry run writes nothing
    report = segment_accounts(company, rules, "analyst@x.io")
    accounts = _accounts(company)
    assert accounts["C39"].segment == "Strategic"  # an ENT-sized account, but rule 1 comes first
    assert accounts["C01"].segment == "Mid-Market"
    assert accounts["C01"].attributes["segment_rule"] == "rule 3, Mid-Market: employees >= 100"
    assert report.changed == 40 and segment_accounts(company, rules, "analyst@x.io").changed == 0
    with Session(company) as session:
        entry = session.scalars(
            select(m.AuditEntry).where(
                m.AuditEntry.entity == "accounts", m.AuditEntry.entity_key == "C00", m.AuditEntry.action == "update"
            )
        ).one()
        assert (entry.actor, entry.before) == ("analyst@x.io", {"segment": None})
        assert entry.after is not None and entry.after["segment"] == "SMB"


def test_bad_rules_name_the_key_path() -> None:
    for data, message in (
        ({}, "segments @ segments: a non-empty list"),
        ({"segments": [{"when": "employees > 1"}]}, r"segments\[0\]\.name"),
        ({"segments": [{"name": "A", "when": "employees >"}]}, r"segments\[0\]\.when"),
        ({"segments": [{"name": "A", "if": "x"}]}, "unknown key 'if'"),
    ):
        with pytest.raises(InvalidInput, match=message):
            parse_segment_rules(data)


def test_potential_is_at_least_history_larger_for_larger_peers_and_explained(company: Engine) -> None:
    preview = score_potential(company, "analyst@x.io", as_of=date(2026, 1, 1), dry_run=True)
    assert preview.fitted_on == 36 and preview.accounts == 40 and preview.r2_log is not None
    assert all(a.potential is None for a in _accounts(company).values())
    report = score_potential(company, "analyst@x.io", as_of=date(2026, 1, 1))
    assert report.changed == 40
    accounts = _accounts(company)
    for i in range(36):
        own = Decimal(accounts[f"C{i:02}"].attributes["potential_explained"]["history"])
        assert accounts[f"C{i:02}"].potential >= own.quantize(Decimal(1))  # type: ignore[operator]
    # C05 bought 100,185 EUR: 110,203.50 USD at 1.10
    assert accounts["C05"].attributes["potential_explained"]["history"] == "110203.50"
    # accounts that bought nothing get what their peers buy: an ENT one far more than an SMB one
    assert accounts["C38"].potential > 10 * accounts["C36"].potential  # type: ignore[operator]
    explained = accounts["C38"].attributes["potential_explained"]
    assert explained["basis"] == "model" and explained["factors"][0]["feature"].startswith(("size=ENT", "log "))
    assert all(
        "=" not in f["feature"] or f["feature"].split("=")[1] in ("ENT", "Retail", "Finance", "NA")
        for f in explained["factors"]
    )
    with pytest.raises(InvalidInput, match="too few to fit"):
        score_potential(company, "analyst@x.io", as_of=date(2025, 1, 1))
