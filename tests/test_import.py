"""The validated importer, on SQLite and PostgreSQL: every row loaded or rejected with its reason."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from openspm.core.errors import FileFormatError, InvalidInput
from openspm.ingest.service import ImportReport, import_file
from openspm.periods.service import create_calendar
from openspm.store import models as m
from tests.conftest import WriteFile


def load(engine: Engine, kind: str, path: Path, **options: Any) -> ImportReport:
    return import_file(engine, kind, path, actor="test", **options)


def reasons(report: ImportReport) -> dict[int, tuple[str, str]]:
    """row → (column, reason) of each rejected row."""
    return {i.row: (i.column, i.reason) for i in report.issues}


def count(engine: Engine, model: type[m.Base]) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def company(engine: Engine, write: WriteFile) -> Engine:
    """A calendar for 2025, three payees, two accounts and two products."""
    create_calendar(engine, "fiscal", 1, [2025], actor="test")
    for kind, body in {
        "payees": """
            id,name,email,hire_date,pay_currency,region,role
            P1,Ann Lee,ann@demo.io,2024-01-15,USD,NA,AE
            P2,Bob Roy,bob@demo.io,2024-03-01,EUR,EMEA,AE
            P3,Cy Dee,cy@demo.io,2023-01-01,USD,NA,Manager
        """,
        "accounts": """
            id,name,industry,size,potential
            A1,Acme,Tech,ENT,1000000
            A2,Globex,Retail,MM,250000.50
        """,
        "products": """
            id,name,family,list_price,currency
            SKU1,Platform seat,Platform,100.00,USD
            SKU2,Analytics add-on,Analytics,49.99,USD
        """,
    }.items():
        report = load(engine, kind, write(f"{kind}.csv", body))
        assert report.rejected == 0, report.issues
    return engine


# --- each rejection reason ---------------------------------------------------------------


def test_each_rejection_reason_is_reported_with_row_column_and_reason(company: Engine, write: WriteFile) -> None:
    path = write(
        "transactions.csv",
        """
        id,date,account,product,quantity,amount,currency,type,original
        T1,2025-01-10,A1,SKU1,2,200.00,USD,sale,
        T2,2025-01-11,A1,SKU1,1,abc,USD,sale,
        T3,2025-01-12,A9,SKU1,1,100.00,USD,sale,
        T4,2025-01-12,A1,SKU1,1,100.00,USX,sale,
        T5,2025-01-12,A1,SKU1,-1,-100.00,USD,sale,
        T6,2025-02-12,A1,SKU1,1,100.00,USD,sale,
        T6,2025-02-12,A1,SKU1,1,101.00,USD,sale,
        T7,2019-06-30,A1,SKU1,1,100.00,USD,sale,
        T8,2025-13-01,A1,SKU1,1,100.00,USD,sale,
        T9,2025-03-01,A1,SKU1,-1,-100.00,USD,return,T404
        T10,2025-03-01,A1,SKU1,-1,100.00,USD,return,T1
        T11,2025-03-01,A1,SKU1,1,,USD,sale,
        T12,2025-03-01,A1,SKU1,1,100.00,USD,refund,
        """,
    )
    report = load(company, "transactions", path)
    assert reasons(report) == {
        2: ("amount", "not a number"),
        3: ("account", "unknown account 'A9'"),
        4: ("currency", "unknown currency (expected an ISO 4217 code such as USD, EUR, GBP)"),
        5: ("quantity", "negative quantity on a sale; record it as a return referring to the original"),
        6: ("id", "duplicate id with conflicting content (also on row 7)"),
        7: ("id", "duplicate id with conflicting content (also on row 6)"),
        8: ("date", "date outside any period (periods cover 2025-01-01 to 2026-01-01)"),
        9: ("date", "not a date (expected YYYY-MM-DD)"),
        10: ("original", "unknown transaction 'T404'"),
        11: ("amount", "a return carries a negative (or zero) amount"),
        12: ("amount", "required value is empty"),
        13: ("type", "must be one of: sale, return, cancellation"),
    }
    assert (report.rows, report.inserted, report.rejected) == (13, 1, 12)
    assert count(company, m.Transaction) == 1
    # The rejected-rows CSV holds the same, one line per rejected row.
    assert report.rejects_path is not None
    with open(report.rejects_path, encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert [r["row"] for r in rows] == [str(n) for n in range(2, 14)]
    assert rows[1] == {
        "file": "transactions.csv",
        "row": "3",
        "column": "account",
        "value": "A9",
        "reason": "unknown account 'A9'",
    }


def test_payee_rows_with_bad_values_are_rejected(company: Engine, write: WriteFile) -> None:
    path = write(
        "payees2.csv",
        """
        id,name,hire_date,termination_date,pay_currency
        P10,Dee Ok,2025-01-01,,usd
        P11,,2025-01-01,,USD
        P12,Eve Late,2025-05-01,2025-04-01,USD
        P13,Flo Bad,2025-01-01,,US
        """,
    )
    report = load(company, "payees", path)
    assert reasons(report) == {
        2: ("name", "required value is empty"),
        3: ("termination_date", "termination_date 2025-04-01 is before hire_date 2025-05-01"),
        4: ("pay_currency", "unknown currency (expected an ISO 4217 code such as USD, EUR, GBP)"),
    }
    with Session(company) as session:
        assert session.scalar(select(m.Payee.pay_currency).where(m.Payee.external_id == "P10")) == "USD"


def test_overlapping_effective_dated_rows_are_rejected(company: Engine, write: WriteFile) -> None:
    first = write(
        "lines.csv",
        """
        payee,manager,effective_from,effective_to
        P1,P3,2025-01-01,
        P2,P3,2025-01-01,2025-06-01
        P2,P1,2025-05-01,
        P3,P3,2025-01-01,
        """,
    )
    report = load(company, "reporting_lines", first)
    assert reasons(report) == {
        3: ("effective_from", "overlaps the reporting line from 2025-01-01 to 2025-06-01 on row 2"),
        4: ("manager", "a payee cannot be their own manager"),
    }
    # An open line in the store blocks a new one, unless the file also closes the old one.
    clash = write("clash.csv", "payee,manager,effective_from\nP1,P2,2025-07-01\n")
    assert reasons(load(company, "reporting_lines", clash)) == {
        1: ("effective_from", "overlaps the reporting line from 2025-01-01 to open-ended already in the store")
    }
    move = write(
        "move.csv",
        """
        payee,manager,effective_from,effective_to
        P1,P3,2025-01-01,2025-07-01
        P1,P2,2025-07-01,
        """,
    )
    report = load(company, "reporting_lines", move)
    assert (report.inserted, report.updated, report.rejected) == (1, 1, 0)


def test_unknown_references_and_bad_shares_in_links(company: Engine, write: WriteFile) -> None:
    load(
        company,
        "transactions",
        write("t.csv", "id,date,account,product,amount,currency\nT1,2025-01-05,A1,SKU1,100,USD\n"),
    )
    path = write(
        "splits.csv",
        """
        transaction,payee,role,share
        T1,P1,owner,60%
        T1,P2,owner,0.4
        T1,P9,owner,0.5
        T2,P1,owner,0.5
        T1,P3,overlay,150%
        """,
    )
    report = load(company, "transaction_splits", path)
    assert reasons(report) == {
        3: ("payee", "unknown payee 'P9'"),
        4: ("transaction", "unknown transaction 'T2'"),
        5: ("share", "must be a fraction from 0 to 1 (or 0% to 100%)"),
    }
    with Session(company) as session:
        shares = sorted(session.scalars(select(m.TransactionSplit.share)))
    assert shares == [Decimal("0.4"), Decimal("0.6")]


def test_users_with_unknown_roles_are_rejected_and_roles_are_stored(company: Engine, write: WriteFile) -> None:
    path = write(
        "users.csv",
        """
        email,name,roles,payee
        ann@demo.io,Ann Lee,rep,P1
        cy@demo.io,Cy Dee,manager;rep,P3
        boss@demo.io,The Boss,emperor,
        """,
    )
    report = load(company, "users", path)
    assert reasons(report) == {
        3: ("roles", "unknown emperor; use any of: admin, comp_analyst, finance, manager, rep"),
    }
    with Session(company) as session:
        query = (
            select(m.Role.name)
            .join(m.UserRole, m.UserRole.role_id == m.Role.id)
            .join(m.User, m.User.id == m.UserRole.user_id)
            .where(m.User.email == "cy@demo.io")
        )
        assert sorted(session.scalars(query)) == ["manager", "rep"]
    # Changing the roles is an update, audited.
    load(company, "users", write("users2.csv", "email,name,roles,payee\ncy@demo.io,Cy Dee,manager,P3\n"))
    with Session(company) as session:
        entry = session.scalars(
            select(m.AuditEntry).where(m.AuditEntry.entity == "users", m.AuditEntry.action == "update")
        ).one()
    assert entry.before == {"roles": "manager;rep"} or entry.before == {"roles": ["manager", "rep"]}


# --- returns and same-file references ----------------------------------------------------


def test_returns_refer_to_originals_in_the_same_file_or_the_store(company: Engine, write: WriteFile) -> None:
    path = write(
        "t.csv",
        """
        id,date,account,product,quantity,amount,currency,type,original
        R1,2025-02-01,A1,SKU1,-1,-100.00,USD,return,S1
        S1,2025-01-10,A1,SKU1,2,200.00,USD,sale,
        S2,2025-01-10,A9,SKU1,1,100.00,USD,sale,
        R2,2025-02-01,A1,SKU1,-1,-100.00,USD,cancellation,S2
        """,
    )
    report = load(company, "transactions", path)
    assert reasons(report) == {
        3: ("account", "unknown account 'A9'"),
        4: ("original", "refers to 'S2', which was rejected in this file"),
    }
    later = write(
        "t2.csv",
        "id,date,account,product,quantity,amount,currency,type,original\nR3,2025-03-01,A1,SKU1,-1,-100,USD,return,S1\n",
    )
    assert load(company, "transactions", later).inserted == 1
    with Session(company) as session:
        by_id = {t.external_id: t for t in session.scalars(select(m.Transaction))}
    assert by_id["R1"].original_id == by_id["S1"].id
    assert by_id["R3"].original_id == by_id["S1"].id
    assert by_id["R1"].amount == Decimal("-100.00")


# --- idempotency, updates and audit ------------------------------------------------------


def _snapshot(engine: Engine) -> list[tuple[Any, ...]]:
    with Session(engine) as session:
        return [
            (t.external_id, t.date, t.amount, t.quantity, t.currency, t.attributes)
            for t in session.scalars(select(m.Transaction).order_by(m.Transaction.external_id))
        ]


def test_reimporting_the_same_file_changes_nothing(company: Engine, write: WriteFile) -> None:
    path = write(
        "t.csv",
        """
        id,date,account,product,quantity,amount,currency,attr.channel
        T1,2025-01-10,A1,SKU1,2,200.00,USD,direct
        T2,2025-01-11,A2,SKU2,1,49.99,USD,partner
        T2,2025-01-11,A2,SKU2,1,49.99,USD,partner
        """,
    )
    first = load(company, "transactions", path)
    assert (first.inserted, first.unchanged, first.rejected) == (2, 1, 0)
    before = _snapshot(company)
    audit_before = count(company, m.AuditEntry)
    second = load(company, "transactions", path)
    assert (second.inserted, second.updated, second.unchanged, second.rejected) == (0, 0, 3, 0)
    assert _snapshot(company) == before
    # Only the import itself is recorded; no row changed.
    assert count(company, m.AuditEntry) == audit_before + 1


def test_changed_rows_update_by_external_id_with_an_audit_entry(company: Engine, write: WriteFile) -> None:
    load(company, "payees", write("p.csv", "id,name,pay_currency,region,attr.level\nP20,Ann Lee,USD,NA,3\n"))
    report = load(company, "payees", write("p2.csv", "id,name,pay_currency,region\nP20,Ann Lee-Smith,USD,EMEA\n"))
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 0)
    with Session(company) as session:
        payee = session.scalars(select(m.Payee).where(m.Payee.external_id == "P20")).one()
        entry = session.scalars(
            select(m.AuditEntry).where(m.AuditEntry.entity == "payees", m.AuditEntry.action == "update")
        ).one()
    assert (payee.name, payee.region) == ("Ann Lee-Smith", "EMEA")
    assert payee.attributes == {"level": "3"}  # attributes not in the file are kept
    assert entry.entity_key == "P20"
    assert entry.actor == "test"
    assert entry.before == {"name": "Ann Lee", "region": "NA"}
    assert entry.after == {"name": "Ann Lee-Smith", "region": "EMEA"}


def test_same_values_written_differently_are_unchanged(company: Engine, write: WriteFile) -> None:
    load(
        company,
        "transactions",
        write("a.csv", "id,date,account,product,amount,currency\nT1,2025-01-10,A1,SKU1,200.00,USD\n"),
    )
    report = load(
        company,
        "transactions",
        write("b.csv", "id,date,account,product,amount,currency\nT1,2025-01-10,A1,SKU1,200,usd\n"),
    )
    assert (report.updated, report.unchanged) == (0, 1)


def test_dry_run_and_strict_write_nothing(company: Engine, write: WriteFile) -> None:
    path = write(
        "t.csv",
        """
        id,date,account,product,amount,currency
        T1,2025-01-10,A1,SKU1,200.00,USD
        T2,2025-01-10,A9,SKU1,200.00,USD
        """,
    )
    dry = load(company, "transactions", path, dry_run=True)
    assert (dry.inserted, dry.rejected, dry.batch_id) == (1, 1, None)
    assert "dry run" in dry.summary()
    strict = load(company, "transactions", path, strict=True)
    assert strict.strict_refused
    assert count(company, m.Transaction) == 0
    assert count(company, m.ImportBatch) == 3  # the company fixture's three imports only


# --- money is exact ----------------------------------------------------------------------


def test_amounts_are_stored_exactly(company: Engine, write: WriteFile) -> None:
    path = write(
        "t.csv",
        """
        id,date,account,product,quantity,amount,currency
        T1,2025-01-10,A1,SKU1,3,0.10,USD
        T2,2025-01-10,A1,SKU1,1,0.20,USD
        T3,2025-01-10,A1,SKU1,1,12345678901234567890.123456789,USD
        """,
    )
    load(company, "transactions", path)
    with Session(company) as session:
        amounts = dict(session.execute(select(m.Transaction.external_id, m.Transaction.amount)).tuples().all())
    assert amounts["T1"] + amounts["T2"] == Decimal("0.30")
    assert str(amounts["T1"]) == "0.10"
    assert amounts["T3"] == Decimal("12345678901234567890.123456789")


# --- whole-file errors -------------------------------------------------------------------


def test_malformed_files_get_one_clear_error_and_load_nothing(
    company: Engine, write: WriteFile, tmp_path: Path
) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,name,pay_currency\nP7,Jos\xe9 Mu\xf1oz,EUR\n".encode("latin-1"))
    with pytest.raises(FileFormatError, match="not UTF-8 text"):
        load(company, "payees", latin)

    missing = write("missing.csv", "id,name\nP7,Jo\n")
    with pytest.raises(FileFormatError, match="missing required column pay_currency for payees"):
        load(company, "payees", missing)

    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(FileFormatError, match="binary content, not a CSV"):
        load(company, "payees", binary)

    empty = write("empty.csv", "")
    with pytest.raises(FileFormatError, match="the file is empty"):
        load(company, "payees", empty)

    twice = write("twice.csv", "id,name,name,pay_currency\nP7,a,b,USD\n")
    with pytest.raises(FileFormatError, match="column 'name' appears twice"):
        load(company, "payees", twice)

    with pytest.raises(FileFormatError, match=r"unsupported file type \.json"):
        load(company, "payees", write("p.json", "{}"))

    with pytest.raises(InvalidInput, match="unknown kind 'payee'"):
        load(company, "payee", missing)

    assert count(company, m.Payee) == 3


def test_an_encoding_error_deep_in_the_file_loads_nothing(company: Engine, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    good = "".join(f"P{n},Name {n},USD\n" for n in range(10, 5000))
    path.write_bytes(b"id,name,pay_currency\n" + good.encode() + "P9999,Bj\xf6rn,SEK\n".encode("latin-1"))
    with pytest.raises(FileFormatError, match="not UTF-8 text"):
        load(company, "payees", path)
    assert count(company, m.Payee) == 3


# --- other formats and mappings ----------------------------------------------------------


def test_excel_and_parquet_files_load_like_csv(company: Engine, tmp_path: Path) -> None:
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["id", "date", "account", "product", "quantity", "amount", "currency"])
    sheet.append(["X1", dt.datetime(2025, 3, 1), "A1", "SKU1", 2, 0.1, "USD"])
    sheet.append(["X2", "2025-03-02", "A2", "SKU2", 1, "49.99", "USD"])
    sheet.append(["X3", "2025-03-02", "A404", "SKU2", 1, "49.99", "USD"])
    xlsx = tmp_path / "t.xlsx"
    workbook.save(xlsx)
    report = load(company, "transactions", xlsx)
    assert (report.inserted, report.rejected) == (2, 1)
    assert reasons(report) == {3: ("account", "unknown account 'A404'")}

    table = pa.table(
        {
            "id": ["Q1", "Q2"],
            "date": [dt.date(2025, 4, 1), dt.date(2025, 4, 2)],
            "account": ["A1", "A2"],
            "product": ["SKU1", "SKU1"],
            "amount": pa.array([Decimal("10.25"), Decimal("-0.50")], type=pa.decimal128(10, 2)),
            "currency": ["USD", "USD"],
        }
    )
    parquet = tmp_path / "t.parquet"
    pq.write_table(table, parquet)
    assert load(company, "transactions", parquet).inserted == 2
    with Session(company) as session:
        amounts = dict(session.execute(select(m.Transaction.external_id, m.Transaction.amount)).tuples().all())
    assert amounts["X1"] == Decimal("0.1")
    assert amounts["Q1"] == Decimal("10.25")


SALESFORCE_EXPORT = """
"Opportunity ID","Opportunity Name","Account ID","Stage","Amount","Probability (%)","Close Date","Created Date","Owner Email","Opportunity Currency","Lead Source","Type"
"0065g00000AbCdE","Acme - Platform renewal","A1","Closed Won","120,000.00","100","3/28/2025","1/15/2025","ann@demo.io","USD","Web","Renewal"
"0065g00000AbCdF","Globex - Analytics","A2","Negotiation/Review","45,500.00","75","6/30/2025","2/1/2025","BOB@demo.io","EUR","Partner","New Business"
"0065g00000AbCdG","Acme - Services","A1","Closed Lost","9,000.00","0","2/14/2025","1/20/2025","nobody@demo.io","USD","Web","New Business"
"0065g00000AbCdH","Globex - Upsell","A2","Prospecting","","10","9/30/2025","3/1/2025","cy@demo.io","USD","Web","Upsell"
"""

SALESFORCE_MAPPING = """
kind: opportunities
date_format: "%m/%d/%Y"
thousands: ","
columns:
  id: Opportunity ID
  name: Opportunity Name
  account: Account ID
  owner: {column: Owner Email, match: email}
  stage: Stage
  status: {column: Stage, values: {Closed Won: won, Closed Lost: lost}, default: open}
  probability: {column: Probability (%), percent: true}
  amount: Amount
  currency: Opportunity Currency
  close_date: Close Date
  created_date: Created Date
attributes:
  lead_source: Lead Source
  opportunity_type: Type
"""


def test_a_salesforce_opportunity_export_loads_through_a_mapping_file(company: Engine, write: WriteFile) -> None:
    export = write("Opportunities.csv", SALESFORCE_EXPORT)
    mapping = write("salesforce-opportunities.yaml", SALESFORCE_MAPPING)
    report = load(company, "opportunities", export, mapping_path=mapping)
    assert reasons(report) == {
        3: ("Owner Email", "unknown payee with email 'nobody@demo.io'"),
        4: ("Amount", "required value is empty"),
    }
    with Session(company) as session:
        won = session.scalars(select(m.Opportunity).where(m.Opportunity.external_id == "0065g00000AbCdE")).one()
        open_ = session.scalars(select(m.Opportunity).where(m.Opportunity.external_id == "0065g00000AbCdF")).one()
        bob = session.scalars(select(m.Payee).where(m.Payee.external_id == "P2")).one()
    assert (won.status, won.amount, won.probability, str(won.close_date)) == (
        "won",
        Decimal("120000.00"),
        Decimal("1"),
        "2025-03-28",
    )
    assert (open_.status, open_.stage, open_.probability, open_.owner_id) == (
        "open",
        "Negotiation/Review",
        Decimal("0.75"),
        bob.id,
    )
    assert open_.attributes == {"lead_source": "Partner", "opportunity_type": "New Business"}
    again = load(company, "opportunities", export, mapping_path=mapping)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)


def test_mapping_mistakes_name_the_key(company: Engine, write: WriteFile) -> None:
    export = write("Opportunities.csv", SALESFORCE_EXPORT)
    bad_target = write("m1.yaml", "columns:\n  identifier: Opportunity ID\n")
    with pytest.raises(InvalidInput, match=r"columns\.identifier: opportunities has no column 'identifier'"):
        load(company, "opportunities", export, mapping_path=bad_target)
    bad_source = write("m2.yaml", SALESFORCE_MAPPING.replace("Opportunity Name", "Opp Name"))
    with pytest.raises(FileFormatError, match="takes name from column 'Opp Name', which the file does not have"):
        load(company, "opportunities", export, mapping_path=bad_source)
    bad_key = write("m3.yaml", "colums:\n  id: x\n")
    with pytest.raises(InvalidInput, match=r"m3\.yaml @ colums: Extra inputs are not permitted"):
        load(company, "opportunities", export, mapping_path=bad_key)
    wrong_kind = write("m4.yaml", "kind: accounts\ncolumns: {}\n")
    with pytest.raises(InvalidInput, match="the mapping file is for 'accounts', not 'opportunities'"):
        load(company, "opportunities", export, mapping_path=wrong_kind)


# --- other kinds -------------------------------------------------------------------------


def test_every_kind_loads(company: Engine, write: WriteFile, tmp_path: Path) -> None:
    (tmp_path / "ae_plan.yaml").write_text("version: 1\nname: AE plan\n", encoding="utf-8")
    files = {
        "fx_rates": "from_currency,to_currency,effective_date,rate\nEUR,USD,2025-01-01,1.0850\n",
        "positions": "id,name,role,parent,payee,effective_from\nPOS1,VP Sales,VP,,P3,2025-01-01\nPOS2,AE,AE,POS1,P1,2025-01-01\n",
        "reporting_lines": "payee,manager,effective_from\nP1,P3,2025-01-01\n",
        "territories": "id,name,parent,region\nT-NA,North America,,NA\nT-NA-W,NA West,T-NA,NA\n",
        "account_territories": "account,territory,effective_from\nA1,T-NA-W,2025-01-01\n",
        "territory_assignments": "territory,payee,role,share,effective_from\nT-NA-W,P1,owner,100%,2025-01-01\n",
        "account_assignments": "account,payee,role,effective_from\nA2,P2,owner,2025-01-01\n",
        "plans": "id,name,currency\nAE,AE commission plan,USD\n",
        "plan_versions": "plan,version,effective_from,document\nAE,1,2025-01-01,ae_plan.yaml\n",
        "plan_assignments": "payee,plan,effective_from,target_incentive,currency,attr.rate_override\nP1,AE,2025-01-01,60000,USD,0.11\n",
        "quotas": "payee,measure,period,amount,currency\nP1,bookings,FY2025-Q1,250000,USD\nP1,bookings,FY2099-Q1,1,USD\n",
        "opportunities": "id,name,stage,amount,currency,close_date\nO1,Big deal,Proposal,50000,USD,2025-09-30\n",
        "calendars": "name,fiscal_year_start_month\nretail,2\n",
    }
    for kind, body in files.items():
        report = load(company, kind, write(f"{kind}.csv", body))
        expected = {2: ("period", "unknown period 'FY2099-Q1'")} if kind == "quotas" else {}
        assert reasons(report) == expected, kind
        assert report.inserted >= 1, kind
    with Session(company) as session:
        version = session.scalars(select(m.PlanVersion)).one()
        assignment = session.scalars(select(m.PlanAssignment)).one()
        territory = session.scalars(select(m.Territory).where(m.Territory.external_id == "T-NA-W")).one()
        parent = session.scalars(select(m.Territory).where(m.Territory.external_id == "T-NA")).one()
    assert version.document == "version: 1\nname: AE plan\n"
    assert assignment.parameters == {"rate_override": "0.11"}
    assert territory.parent_id == parent.id


def test_an_insert_is_audited_for_master_data(company: Engine) -> None:
    with Session(company) as session:
        entry = session.scalars(
            select(m.AuditEntry).where(m.AuditEntry.entity == "payees", m.AuditEntry.entity_key == "P2")
        ).one()
    assert entry.action == "insert"
    assert entry.after is not None and entry.after["pay_currency"] == "EUR"


def test_european_number_format_through_a_mapping(company: Engine, write: WriteFile) -> None:
    export = write(
        "umsatz.csv",
        """
        Beleg;Datum;Kunde;Artikel;Menge;Betrag;Währung
        B1;15.01.2025;A1;SKU1;2;1.234,50;EUR
        B2;16.01.2025;A2;SKU2;1;99,95;EUR
        """,
    )
    mapping = write(
        "datev.yaml",
        """
        kind: transactions
        date_format: "%d.%m.%Y"
        thousands: "."
        decimal: ","
        columns: {id: Beleg, date: Datum, account: Kunde, product: Artikel, quantity: Menge, amount: Betrag, currency: Währung}
        """,
    )
    report = load(company, "transactions", export, mapping_path=mapping)
    assert (report.inserted, report.rejected) == (2, 0)
    with Session(company) as session:
        amounts = dict(session.execute(select(m.Transaction.external_id, m.Transaction.amount)).tuples().all())
    assert amounts == {"B1": Decimal("1234.50"), "B2": Decimal("99.95")}


def test_an_excel_sheet_can_be_chosen_by_name(company: Engine, tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    cover = workbook.active
    assert cover is not None
    cover.title = "Read me"
    cover.append(["This workbook holds payees on the next sheet"])
    data = workbook.create_sheet("Payees")
    data.append(["id", "name", "pay_currency"])
    data.append(["P30", "Zoe Park", "GBP"])
    path = tmp_path / "people.xlsx"
    workbook.save(path)
    assert load(company, "payees", path, sheet="Payees").inserted == 1
    with pytest.raises(FileFormatError, match="no sheet named 'People'; the workbook has: Read me, Payees"):
        load(company, "payees", path, sheet="People")
