"""CSV import of companies, contacts and deals (adapters/crm/csv_import.py and `import-crm`)."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from adapters.crm.base import DealFilter
from adapters.crm.csv_import import CsvFormatError, ImportReport, import_csv
from adapters.crm.local.adapter import LocalCrm
from bot import cli

COMPANIES = """\
external_id,name,domain,industry,employees,country,phone,owner
C-1,Acme GmbH,acme.example,Manufacturing,250,DE,+49 30 1234567,U01ALICE
C-2,Globex,globex.example,Energy,,US,,
,Initech,,Software,40,,,
"""

CONTACTS = """\
external_id,first_name,last_name,email,phone,title,company,aliases,lifecycle_stage,lead_source,owner
P-1,Ada,Lovelace,Ada@Acme.example,+49 30 7654321,CTO,C-1,Countess; Ada L.,customer,referral,U01ALICE
P-2,Grace,Hopper,grace@globex.example,,Engineer,GLOBEX.EXAMPLE,,,,
,Alan,Turing,alan@initech.example,,,initech,,prospect,,
"""

DEALS = """\
external_id,name,company,contact_email,stage,amount,currency,close_date,owner
D-1,Acme renewal,C-1,ada@acme.example,proposal,12000.50,usd,2030-03-31,U01ALICE
,Globex pilot,Globex,,,900,,,
"""


def write(tmp_path: Path, content: str, name: str = "in.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode(encoding))
    return path


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def load_all(crm: LocalCrm, tmp_path: Path) -> None:
    for kind, content in (("companies", COMPANIES), ("contacts", CONTACTS), ("deals", DEALS)):
        report = import_csv(crm, write(tmp_path, content, f"{kind}.csv"), kind)
        assert report.errors == () and report.updated == report.unchanged == 0


def test_import_companies_stores_every_column(engine: Engine, tmp_path: Path) -> None:
    crm = LocalCrm(engine)
    report = import_csv(crm, write(tmp_path, COMPANIES), "companies")
    assert report == ImportReport(created=3, updated=0, unchanged=0, errors=())
    acme = crm.find("company", "external_id", "C-1")
    assert acme is not None
    assert (acme.name, acme.domain, acme.industry, acme.employees, acme.country, acme.phone, acme.owner) == (
        "Acme GmbH", "acme.example", "Manufacturing", 250, "DE", "+49 30 1234567", "U01ALICE"
    )
    globex = crm.find("company", "name", "globex")
    assert globex is not None and globex.employees is None and globex.phone is None
    initech = crm.find("company", "name", "Initech")
    assert initech is not None and initech.external_id is None and initech.employees == 40
    assert count(engine, "crm_company") == 3


def test_import_contacts_links_companies_by_external_id_domain_or_name(engine: Engine, tmp_path: Path) -> None:
    crm = LocalCrm(engine)
    import_csv(crm, write(tmp_path, COMPANIES, "c.csv"), "companies")
    report = import_csv(crm, write(tmp_path, CONTACTS), "contacts")
    assert report == ImportReport(created=3, updated=0, unchanged=0, errors=())
    ada = crm.find("contact", "external_id", "P-1")
    assert ada is not None
    assert ada.company_id == crm.find("company", "external_id", "C-1").id  # type: ignore[union-attr]
    assert (ada.email, ada.phone, ada.title, ada.aliases, ada.lifecycle_stage, ada.lead_source, ada.owner) == (
        "ada@acme.example", "+49 30 7654321", "CTO", ("Countess", "Ada L."), "customer", "referral", "U01ALICE"
    )
    grace = crm.find("contact", "email", "grace@globex.example")
    assert grace is not None and grace.company_id == crm.find("company", "name", "Globex").id  # type: ignore[union-attr]
    assert grace.lifecycle_stage == "lead" and grace.aliases == ()
    alan = crm.find("contact", "email", "alan@initech.example")
    assert alan is not None and alan.company_id == crm.find("company", "name", "Initech").id  # type: ignore[union-attr]
    assert alan.lifecycle_stage == "prospect"
    assert [hit.id for hit in crm.search_contacts("Countess")] == [ada.id]


def test_import_deals_resolves_company_and_contact(engine: Engine, tmp_path: Path) -> None:
    crm = LocalCrm(engine)
    load_all(crm, tmp_path)
    deal = crm.find("deal", "external_id", "D-1")
    assert deal is not None
    assert deal.company_id == crm.find("company", "external_id", "C-1").id  # type: ignore[union-attr]
    assert deal.contact_id == crm.find("contact", "external_id", "P-1").id  # type: ignore[union-attr]
    assert (deal.name, deal.stage, deal.amount, deal.currency, deal.close_date, deal.owner) == (
        "Acme renewal", "proposal", Decimal("12000.50"), "USD", date(2030, 3, 31), "U01ALICE"
    )
    pilot = crm.find("deal", "name", "globex pilot")
    assert pilot is not None
    assert (pilot.stage, pilot.amount, pilot.currency, pilot.close_date, pilot.contact_id) == (
        "lead", Decimal("900.00"), "EUR", None, None
    )
    assert count(engine, "crm_deal") == 2


def test_bad_contact_rows_are_reported_by_line_and_good_rows_imported(engine: Engine, tmp_path: Path) -> None:
    crm = LocalCrm(engine)
    import_csv(crm, write(tmp_path, COMPANIES, "c.csv"), "companies")
    path = write(tmp_path, (
        "first_name,last_name,email,company,lifecycle_stage\n"   # 1
        "Ada,Lovelace,ada@acme.example,C-1,\n"                    # 2 good
        "Bob,Builder,bob@,C-1,\n"                                 # 3 bad e-mail
        "Carol,,carol@acme.example,,\n"                           # 4 no last name
        "Dan,Brown,dan@acme.example,Umbrella,\n"                  # 5 unknown company
        "Eve,Smith,eve@acme.example,,vip\n"                       # 6 unknown lifecycle stage
        "Frank,Castle,frank@acme.example,acme.example,customer\n" # 7 good
    ))
    report = import_csv(crm, path, "contacts")
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert report.errors == (
        (3, 'email: expected an e-mail address like name@example.com, got "bob@"'),
        (4, "last_name: required, but the cell is empty"),
        (5, 'company: no company matches "Umbrella" (by external_id, domain or name)'),
        (6, "lifecycle_stage: Input should be 'lead', 'prospect', 'customer' or 'churned', got \"vip\""),
    )
    assert crm.find("contact", "email", "frank@acme.example") is not None
    assert count(engine, "crm_contact") == 2


def test_bad_deal_rows_are_reported_by_line_and_good_rows_imported(engine: Engine, tmp_path: Path) -> None:
    crm = LocalCrm(engine)
    load_all(crm, tmp_path)
    path = write(tmp_path, (
        "name,company,contact_email,stage,amount,close_date\n"  # 1
        "Good one,C-2,,qualified,100,2031-01-01\n"              # 2 good
        "Bad stage,C-2,,won,100,\n"                             # 3
        "Bad amount,C-2,,,12;5,\n"                              # 4
        "Negative,C-2,,,-3,\n"                                  # 5
        "Bad date,C-2,,,100,31/01/2031\n"                       # 6
        "No such date,C-2,,,100,2031-02-30\n"                   # 7
        "No company,Umbrella,,,100,\n"                          # 8
        "No contact,C-2,nobody@x.example,,100,\n"               # 9
        "No amount,C-2,,,,\n"                                   # 10
    ))
    report = import_csv(crm, path, "deals")
    assert (report.created, report.updated, report.unchanged) == (1, 0, 0)
    reasons = dict(report.errors)
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert reasons[3].startswith("stage: Input should be 'lead', 'qualified'") and reasons[3].endswith('got "won"')
    assert reasons[4] == 'amount: expected an amount of 0 or more like 1234.50 (dot for decimals, at most 2), got "12;5"'
    assert reasons[5].startswith("amount: ") and reasons[5].endswith('got "-3"')
    assert reasons[6] == 'close_date: expected a date YYYY-MM-DD, got "31/01/2031"'
    assert reasons[7] == 'close_date: expected a date YYYY-MM-DD, got "2031-02-30"'
    assert reasons[8].startswith('company: no company matches "Umbrella"')
    assert reasons[9] == 'contact_email: no contact has email "nobody@x.example"'
    assert reasons[10] == "amount: required, but the cell is empty"
    good = crm.find("deal", "name", "Good one")
    assert good is not None and good.stage == "qualified" and good.close_date == date(2031, 1, 1)
    assert count(engine, "crm_deal") == 3


def test_rerun_of_the_same_files_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    crm = LocalCrm(engine)
    load_all(crm, tmp_path)
    before = {t: count(engine, t) for t in ("crm_company", "crm_contact", "crm_deal", "crm_idempotency")}
    for kind, rows in (("companies", 3), ("contacts", 3), ("deals", 2)):
        report = import_csv(crm, tmp_path / f"{kind}.csv", kind)
        assert report == ImportReport(created=0, updated=0, unchanged=rows, errors=())
    assert {t: count(engine, t) for t in before} == before
    assert crm.find("deal", "external_id", "D-1").version == 1  # type: ignore[union-attr]


def test_changed_row_updates_only_that_record(engine: Engine, tmp_path: Path) -> None:
    crm = LocalCrm(engine)
    load_all(crm, tmp_path)
    changed = CONTACTS.replace(",CTO,", ",Chief Engineer,").replace(
        "alan@initech.example,,,", "alan@initech.example,,Mathematician,"
    )
    report = import_csv(crm, write(tmp_path, changed), "contacts")
    assert report == ImportReport(created=0, updated=2, unchanged=1, errors=())
    ada = crm.find("contact", "external_id", "P-1")
    alan = crm.find("contact", "email", "alan@initech.example")
    grace = crm.find("contact", "external_id", "P-2")
    assert ada is not None and ada.title == "Chief Engineer" and ada.version == 2
    assert alan is not None and alan.title == "Mathematician" and alan.version == 2
    assert grace is not None and grace.version == 1
    assert count(engine, "crm_contact") == 3
    # an empty cell means "not given": it does not clear what is stored
    report = import_csv(crm, write(tmp_path, "external_id,first_name,last_name,title\nP-1,Ada,Lovelace,\n"), "contacts")
    assert report == ImportReport(created=0, updated=0, unchanged=1, errors=())
    assert crm.find("contact", "external_id", "P-1").title == "Chief Engineer"  # type: ignore[union-attr]


def test_deal_stage_change_on_rerun_matches_the_deal_within_its_company(engine: Engine, tmp_path: Path) -> None:
    crm = LocalCrm(engine)
    load_all(crm, tmp_path)
    renewals = "name,company,stage,amount\nRenewal,C-1,lead,100\nRenewal,C-2,lead,200\n"
    assert import_csv(crm, write(tmp_path, renewals), "deals").created == 2
    moved = renewals.replace("Renewal,C-2,lead", "Renewal,C-2,negotiation")
    report = import_csv(crm, write(tmp_path, moved), "deals")
    assert report == ImportReport(created=0, updated=1, unchanged=1, errors=())
    globex = crm.find("company", "external_id", "C-2")
    assert globex is not None
    deals = [d for d in crm.list_deals(DealFilter(company_id=globex.id)) if d.name == "Renewal"]
    assert [(d.stage, d.version) for d in deals] == [("negotiation", 2)]
    assert count(engine, "crm_deal") == 4


def test_weaker_key_does_not_merge_records_with_different_external_ids(engine: Engine, tmp_path: Path) -> None:
    crm = LocalCrm(engine)
    crm.create("company", {"name": "Acme", "external_id": "X-1"}, idempotency_key="t1")
    crm.create("company", {"name": "Umbrella", "domain": "umbrella.example"}, idempotency_key="t2")
    path = write(tmp_path, "external_id,name,domain\nX-2,Acme,\nU-1,Umbrella Corp,umbrella.example\n")
    report = import_csv(crm, path, "companies")
    assert report == ImportReport(created=1, updated=1, unchanged=0, errors=())
    umbrella = crm.find("company", "domain", "umbrella.example")
    assert umbrella is not None and (umbrella.external_id, umbrella.name, umbrella.version) == ("U-1", "Umbrella Corp", 2)
    assert count(engine, "crm_company") == 3


def test_contact_without_natural_key_is_not_created_twice(engine: Engine, tmp_path: Path) -> None:
    crm = LocalCrm(engine)
    path = write(tmp_path, "first_name,last_name,title\nNo,Email,Buyer\n")
    assert import_csv(crm, path, "contacts") == ImportReport(1, 0, 0, ())
    assert import_csv(crm, path, "contacts") == ImportReport(0, 0, 1, ())
    assert count(engine, "crm_contact") == 1


def test_duplicate_natural_key_in_one_file_is_an_error(engine: Engine, tmp_path: Path) -> None:
    crm = LocalCrm(engine)
    contacts = write(tmp_path, (
        "first_name,last_name,email\n"
        "Ada,Lovelace,ada@acme.example\n"
        "Grace,Hopper,grace@globex.example\n"
        "Ada,King,ADA@acme.example\n"
    ))
    report = import_csv(crm, contacts, "contacts")
    assert report == ImportReport(created=2, updated=0, unchanged=0, errors=((4, "duplicate of line 2"),))
    assert crm.find("contact", "email", "ada@acme.example").last_name == "Lovelace"  # type: ignore[union-attr]
    # different keys in the file, but both rows resolve to the same company
    companies = write(tmp_path, "name,domain\nAcme,\nACME,acme.example\n", "c.csv")
    report = import_csv(crm, companies, "companies")
    assert report.created == 1 and report.errors == ((3, "duplicate of line 2 (same company)"),)
    assert count(engine, "crm_company") == 1


def test_multi_line_quoted_fields_keep_line_numbers(engine: Engine, tmp_path: Path) -> None:
    crm = LocalCrm(engine)
    path = write(tmp_path, (
        "first_name,last_name,email,title\r\n"                      # 1
        'Ada,Lovelace,ada@acme.example,"Head of\r\nEngineering"\r\n'  # 2-3
        "Bob,Builder,bob@,Foreman\r\n"                               # 4
        '"Carol\nAnn",Smith,carol@,"a\n\nb"\n'                       # 5-8, reported at its first line
        "Dan,Brown,not-an-email,\n"                                  # 9
    ))
    report = import_csv(crm, path, "contacts")
    assert report.created == 1
    assert [line for line, _ in report.errors] == [4, 5, 9]
    assert all(reason.startswith("email: ") for _, reason in report.errors)
    assert crm.find("contact", "email", "ada@acme.example").title == "Head of\r\nEngineering"  # type: ignore[union-attr]


def test_bom_upper_case_headers_and_blank_rows(engine: Engine, tmp_path: Path) -> None:
    crm = LocalCrm(engine)
    content = " NAME , Domain ,EMPLOYEES\n\nAcme,acme.example,12\n,,\n  ,\t,\nGlobex,,\n"
    path = write(tmp_path, content, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    report = import_csv(crm, path, "companies")
    assert report == ImportReport(created=2, updated=0, unchanged=0, errors=())
    acme = crm.find("company", "domain", "acme.example")
    assert acme is not None and acme.name == "Acme" and acme.employees == 12


def test_value_under_an_unnamed_column_is_a_row_error(engine: Engine, tmp_path: Path) -> None:
    crm = LocalCrm(engine)
    path = write(tmp_path, "name,domain,\nAcme,acme.example,\nGlobex,,oops\nInitech\n")
    report = import_csv(crm, path, "companies")
    assert (report.created, report.errors) == (
        2, ((3, 'cell 3 ("oops") is not under a named column; remove it or name the column'),)
    )


@pytest.mark.parametrize(
    ("content", "kind", "message"),
    [
        ("first_name,last_name,emial\nAda,Lovelace,a@b.example\n", "contacts",
         'unknown column "emial" (expected some of: external_id, first_name, last_name, email, phone, '
         "title, company, aliases, lifecycle_stage, lead_source, owner)"),
        ("first_name,email\nAda,a@b.example\n", "contacts",
         'missing required column "last_name" (required: first_name, last_name)'),
        ("name,company\nBig deal,Acme\n", "deals", 'missing required column "amount" (required: name, company, amount)'),
        ("name;domain\nAcme;acme.example\n", "companies",
         'unknown column "name;domain" (expected some of: external_id, name, domain, industry, employees, '
         "country, phone, owner); columns must be separated by commas"),
        ("name,Name\nAcme,Acme\n", "companies", 'column "name" appears more than once in the header'),
        ("", "companies", "the file is empty; expected a header row naming the columns (expected some of: "
         "external_id, name, domain, industry, employees, country, phone, owner)"),
        ("\ufeff \n\n", "companies", "the file is empty; expected a header row naming the columns (expected some of: "
         "external_id, name, domain, industry, employees, country, phone, owner)"),
        (",,\n", "companies", "no header row; expected a first line naming the columns (expected some of: "
         "external_id, name, domain, industry, employees, country, phone, owner)"),
        ('name,domain\nAcme,acme.example\n"Globex,globex.example\nInitech,\n', "companies",
         "line 3: cannot parse the CSV (unexpected end of data); check the quotes"),
    ],
)
def test_file_level_problems_raise_csv_format_error(
    engine: Engine, tmp_path: Path, content: str, kind: str, message: str
) -> None:
    crm = LocalCrm(engine)
    with pytest.raises(CsvFormatError) as excinfo:
        import_csv(crm, write(tmp_path, content), kind)
    assert str(excinfo.value) == message
    assert count(engine, "crm_company") == 0  # nothing is written when the file is rejected


def test_non_utf8_and_missing_files_raise_csv_format_error(engine: Engine, tmp_path: Path) -> None:
    crm = LocalCrm(engine)
    path = write(tmp_path, "first_name,last_name\nJürgen,Müller\n", encoding="latin-1")
    with pytest.raises(CsvFormatError, match=r"^not UTF-8 text \(byte 0xfc on line 2\); save it as CSV UTF-8$"):
        import_csv(crm, path, "contacts")
    with pytest.raises(CsvFormatError, match=r"^cannot read the file \(No such file or directory\)$"):
        import_csv(crm, tmp_path / "missing.csv", "contacts")
    assert count(engine, "crm_contact") == 0


def test_cli_import_reports_rejected_rows(engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    for var in list(os.environ):
        if var == "DATABASE_URL" or var.startswith("BOT_"):
            monkeypatch.delenv(var)
    config = tmp_path / "app.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n\n[kb]\npath = "{tmp_path}"\n', encoding="utf-8")
    argv = ["--config", str(config), "import-crm"]
    companies = write(tmp_path, COMPANIES, "companies.csv")
    assert cli.main([*argv, str(companies), "--kind", "companies"]) == 0
    contacts = write(tmp_path, (
        "first_name,last_name,email,company\n"
        "Ada,Lovelace,ada@acme.example,C-1\n"
        "Bob,Builder,bob@,C-1\n"
        "Cy,Young,cy@x.example,Nope\n"
    ))
    capsys.readouterr()
    assert cli.main([*argv, str(contacts), "--kind", "contacts"]) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f'{contacts}:3: email: expected an e-mail address like name@example.com, got "bob@"',
        f'{contacts}:4: company: no company matches "Nope" (by external_id, domain or name)',
    ]
    assert out == f"{contacts}: 1 created, 0 updated, 0 unchanged, 2 rejected\n"
    good = write(tmp_path, "first_name,last_name,email\nAda,Lovelace,ada@acme.example\n", "good.csv")
    assert cli.main([*argv, str(good), "--kind", "contacts"]) == 0
    out, err = capsys.readouterr()
    assert (out, err) == (f"{good}: 0 created, 0 updated, 1 unchanged, 0 rejected\n", "")
    bad = write(tmp_path, "first_name,emial\n", "bad.csv")
    assert cli.main([*argv, str(bad), "--kind", "contacts"]) == 2
    assert capsys.readouterr().err.startswith(f'error: {bad}: unknown column "emial" (expected some of: ')
    assert (count(engine, "crm_company"), count(engine, "crm_contact")) == (3, 1)


class RacingCrm(LocalCrm):
    """A CRM where someone else edits the record between the importer's read and its write."""

    def update(self, kind, record_id, changes, *, expected_version, idempotency_key):  # type: ignore[no-untyped-def]
        if kind == "company" and changes.get("industry") == "Lost race":
            super().update(kind, record_id, {"owner": "U09OTHER"}, expected_version=expected_version,
                           idempotency_key=f"other-{record_id}")
        return super().update(kind, record_id, changes, expected_version=expected_version,
                              idempotency_key=idempotency_key)


def test_concurrent_edit_is_a_row_error_and_later_rows_still_import(engine: Engine, tmp_path: Path) -> None:
    crm = RacingCrm(engine)
    import_csv(crm, write(tmp_path, COMPANIES, "c.csv"), "companies")
    path = write(tmp_path, "external_id,name,industry\nC-1,Acme GmbH,Lost race\nC-2,Globex,Utilities\n")
    report = import_csv(crm, path, "companies")
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    assert len(report.errors) == 1 and report.errors[0][0] == 2
    assert report.errors[0][1].endswith("is at version 2, not 1; it changed during the import, run it again")
    acme = crm.find("company", "external_id", "C-1")
    assert acme is not None and (acme.industry, acme.owner) == ("Manufacturing", "U09OTHER")
    assert import_csv(crm, write(tmp_path, "external_id,name,industry\nC-1,Acme GmbH,Retail\n"), "companies").updated == 1
