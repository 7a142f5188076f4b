"""LocalCrm on SQLite and PostgreSQL: search, related records, filters, versioned idempotent writes."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from adapters.crm.base import (
    ActivityFilter,
    ConflictError,
    CrmError,
    DealFilter,
    NotFoundError,
    TicketFilter,
    ValidationFailed,
)
from adapters.crm.fields import FIELD_MODELS, validate_fields
from adapters.crm.local.adapter import LocalCrm

NOW = datetime.now(timezone.utc)


@pytest.fixture
def crm(engine) -> LocalCrm:  # type: ignore[no-untyped-def]
    crm = LocalCrm(engine)
    acme = crm.create("company", {"name": "Acme Logistics GmbH", "domain": "acme-logistics.de",
                                  "country": "Germany", "owner": "U01ALICE"}, idempotency_key="c1").record
    globex = crm.create("company", {"name": "Globex Retail", "domain": "globex.com"}, idempotency_key="c2").record
    crm.create("contact", {"first_name": "Zoë", "last_name": "Müller", "email": "zoe.muller@acme-logistics.de",
                           "phone": "+44 20 7946 0958", "company_id": acme.id, "title": "Head of Support",
                           "aliases": ["Zoe Mueller"]}, idempotency_key="p1")
    crm.create("contact", {"first_name": "Robert", "last_name": "Miller", "email": "bob@globex.com",
                           "phone": "+1 415 555 0100", "company_id": globex.id, "aliases": ["Bob Miller"]},
               idempotency_key="p2")
    crm.create("contact", {"first_name": "Roberta", "last_name": "Stone", "company_id": globex.id},
               idempotency_key="p3")
    return crm


def ids(hits) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.title for h in hits]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Zoë Müller", ["Zoë Müller"]),
        ("zoe muller", ["Zoë Müller"]),        # accents folded
        ("Zoe Mueller", ["Zoë Müller"]),       # alias
        ("bob", ["Robert Miller"]),            # alias prefix
        ("rob", ["Robert Miller", "Roberta Stone"]),
        ("robert miller", ["Robert Miller"]),  # all words must match
        ("zoe.muller@acme-logistics.de", ["Zoë Müller"]),
        ("+44 20 7946 0958", ["Zoë Müller"]),
        ("020 7946 0958", ["Zoë Müller"]),     # national form with trunk prefix
        ("0044 20 7946 0958", ["Zoë Müller"]),  # international prefix
        ("79460958", ["Zoë Müller"]),
        ("acme", ["Zoë Müller"]),              # company name is searchable on the contact
        ("nobody here", []),
        ("", []),
        ('"; DROP TABLE crm_contact; --', []),  # query syntax is never passed through
    ],
)
def test_search_contacts(crm: LocalCrm, query: str, expected: list[str]) -> None:
    assert sorted(ids(crm.search_contacts(query))) == sorted(expected)


def test_search_ranks_name_matches_first(crm: LocalCrm) -> None:
    globex_id = crm.find("company", "domain", "globex.com").id  # type: ignore[union-attr]
    crm.create("contact", {"first_name": "Ann", "last_name": "Lee", "title": "Miller relations",
                           "company_id": globex_id}, idempotency_key="p4")
    assert ids(crm.search_contacts("miller"))[0] == "Robert Miller"


def test_search_companies(crm: LocalCrm) -> None:
    assert ids(crm.search_companies("acme")) == ["Acme Logistics GmbH"]
    assert ids(crm.search_companies("globex.com")) == ["Globex Retail"]
    assert crm.search_companies("initech") == []


def test_find_is_case_insensitive_and_limited_to_lookup_fields(crm: LocalCrm) -> None:
    assert crm.find("contact", "email", "ZOE.MULLER@acme-logistics.de").first_name == "Zoë"  # type: ignore[union-attr]
    assert crm.find("company", "name", "globex retail").domain == "globex.com"  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        crm.find("contact", "title", "x")


def test_get_with_related_records(crm: LocalCrm) -> None:
    acme = crm.find("company", "domain", "acme-logistics.de")
    zoe = crm.find("contact", "email", "zoe.muller@acme-logistics.de")
    deal = crm.create("deal", {"name": "Acme Pro", "company_id": acme.id, "contact_id": zoe.id, "amount": "12000",
                               "stage": "proposal"}, idempotency_key="d1").record
    crm.create("deal", {"name": "Acme old", "company_id": acme.id, "amount": 5, "stage": "closed_lost"},
               idempotency_key="d2")
    for i in range(12):
        crm.create("activity", {"kind": "call", "subject": f"Call {i}", "company_id": acme.id, "contact_id": zoe.id,
                                "deal_id": deal.id, "occurred_at": NOW - timedelta(days=i)}, idempotency_key=f"a{i}")
    crm.create("ticket", {"subject": "SSO broken", "company_id": acme.id, "contact_id": zoe.id}, idempotency_key="t1")
    crm.create("ticket", {"subject": "Old", "company_id": acme.id, "status": "closed"}, idempotency_key="t2")

    company = crm.get_company(acme.id)
    assert [c.full_name for c in company.contacts] == ["Zoë Müller"]
    assert [d.name for d in company.open_deals] == ["Acme Pro"]  # the lost deal is not open
    assert [a.subject for a in company.recent_activities][:3] == ["Call 0", "Call 1", "Call 2"]
    assert len(company.recent_activities) == 10
    assert [t.subject for t in company.open_tickets] == ["SSO broken"]

    contact = crm.get_contact(zoe.id)
    assert contact.company.name == "Acme Logistics GmbH" and [d.id for d in contact.open_deals] == [deal.id]
    detail = crm.get_deal(deal.id)
    assert detail.deal.amount == Decimal("12000.00") and detail.contact.id == zoe.id
    assert detail.recent_activities[0].subject == "Call 0"
    assert crm.get_contact(999_999) is None and crm.get_company(999_999) is None and crm.get_deal(999_999) is None


def test_list_filters(crm: LocalCrm) -> None:
    acme = crm.find("company", "domain", "acme-logistics.de")
    today = date.today()
    soon = crm.create("deal", {"name": "Soon", "company_id": acme.id, "amount": 1, "stage": "negotiation",
                               "close_date": today + timedelta(days=3), "owner": "U01ALICE"}, idempotency_key="d1").record
    later = crm.create("deal", {"name": "Later", "company_id": acme.id, "amount": 1, "stage": "lead",
                                "close_date": today + timedelta(days=60), "owner": "U02BRUNO"}, idempotency_key="d2").record
    crm.create("deal", {"name": "Won", "company_id": acme.id, "amount": 1, "stage": "closed_won",
                        "close_date": today + timedelta(days=2)}, idempotency_key="d3")
    names = lambda f: [d.name for d in crm.list_deals(f)]  # noqa: E731
    assert names(DealFilter(closing_from=today, closing_to=today + timedelta(days=7), open_only=True)) == ["Soon"]
    assert names(DealFilter(owner="U02BRUNO")) == ["Later"]
    assert names(DealFilter(stages=("closed_won",))) == ["Won"]
    # Stale means no activity since the cut-off: every deal here is younger than a cut-off a day
    # ahead, so only an activity after that cut-off keeps "Soon" fresh.
    cutoff = datetime.now(timezone.utc) + timedelta(days=1)
    assert names(DealFilter(no_activity_since=cutoff, open_only=True)) == ["Soon", "Later"]
    crm.create("activity", {"kind": "note", "subject": "touch", "deal_id": soon.id,
                            "occurred_at": cutoff + timedelta(hours=1)}, idempotency_key="a1")
    assert names(DealFilter(no_activity_since=cutoff, open_only=True)) == ["Later"]
    assert later.owner == "U02BRUNO"
    crm.create("ticket", {"subject": "Urgent", "company_id": acme.id, "priority": "urgent",
                          "sla_due_at": NOW - timedelta(hours=1)}, idempotency_key="t1")
    crm.create("ticket", {"subject": "Calm", "company_id": acme.id, "priority": "low",
                          "sla_due_at": NOW + timedelta(days=2)}, idempotency_key="t2")
    assert [t.subject for t in crm.list_tickets(TicketFilter(sla_breached_at=NOW))] == ["Urgent"]
    assert [t.subject for t in crm.list_tickets(TicketFilter(priorities=("low",)))] == ["Calm"]
    assert [a.subject for a in crm.list_activities(ActivityFilter(deal_id=soon.id))] == ["touch"]


def test_logging_an_activity_updates_last_activity_but_not_the_deal_version(crm: LocalCrm) -> None:
    acme = crm.find("company", "domain", "acme-logistics.de")
    deal = crm.create("deal", {"name": "D", "company_id": acme.id, "amount": 1}, idempotency_key="d").record
    when = NOW - timedelta(days=3)
    crm.create("activity", {"kind": "call", "subject": "c", "deal_id": deal.id, "occurred_at": when}, idempotency_key="a")
    crm.create("activity", {"kind": "call", "subject": "older", "deal_id": deal.id,
                            "occurred_at": when - timedelta(days=9)}, idempotency_key="b")
    after = crm.get("deal", deal.id)
    assert after.version == deal.version
    assert abs((after.last_activity_at - when).total_seconds()) < 1


def test_update_with_expected_version(crm: LocalCrm) -> None:
    bob = crm.find("contact", "email", "bob@globex.com")
    result = crm.update("contact", bob.id, {"title": "CTO", "phone": "+1 415 555 0199"},
                        expected_version=bob.version, idempotency_key="u1")
    assert result.record.version == bob.version + 1 and result.changed_fields == ("phone", "title")
    with pytest.raises(ConflictError) as err:
        crm.update("contact", bob.id, {"title": "CEO"}, expected_version=bob.version, idempotency_key="u2")
    assert err.value.current.title == "CTO" and err.value.current.version == bob.version + 1
    assert crm.get("contact", bob.id).title == "CTO"
    # The search index follows the update.
    assert ids(crm.search_contacts("415 555 0199")) == ["Robert Miller"]
    assert crm.search_contacts("415 555 0100") == []


def test_deal_stage_change_records_when(crm: LocalCrm) -> None:
    acme = crm.find("company", "domain", "acme-logistics.de")
    deal = crm.create("deal", {"name": "D", "company_id": acme.id, "amount": 1}, idempotency_key="d").record
    moved = crm.update("deal", deal.id, {"stage": "qualified"}, expected_version=1, idempotency_key="m").record
    assert moved.stage == "qualified" and moved.stage_changed_at >= deal.stage_changed_at


def test_renaming_a_company_reindexes_its_contacts(crm: LocalCrm) -> None:
    globex = crm.find("company", "domain", "globex.com")
    crm.update("company", globex.id, {"name": "Initech"}, expected_version=globex.version, idempotency_key="r")
    assert sorted(ids(crm.search_contacts("initech"))) == ["Robert Miller", "Roberta Stone"]
    assert crm.search_contacts("globex retail") == []


def test_idempotent_writes_return_the_same_result(crm: LocalCrm) -> None:
    acme = crm.find("company", "domain", "acme-logistics.de")
    first = crm.create("ticket", {"subject": "Once", "company_id": acme.id}, idempotency_key="proposal-42")
    again = crm.create("ticket", {"subject": "Once", "company_id": acme.id}, idempotency_key="proposal-42")
    assert again.replayed and not first.replayed and again.record == first.record
    assert len(crm.list_tickets(TicketFilter(company_id=acme.id))) == 1
    bob = crm.find("contact", "email", "bob@globex.com")
    upd = crm.update("contact", bob.id, {"title": "A"}, expected_version=bob.version, idempotency_key="proposal-43")
    # A retry after success replays, although the expected version is no longer current.
    assert crm.update("contact", bob.id, {"title": "A"}, expected_version=bob.version,
                      idempotency_key="proposal-43").record == upd.record
    with pytest.raises(CrmError, match="already used for a different write"):
        crm.update("contact", bob.id, {"title": "B"}, expected_version=upd.record.version, idempotency_key="proposal-42")


def test_concurrent_writes_with_one_key_create_one_record(crm: LocalCrm) -> None:
    acme = crm.find("company", "domain", "acme-logistics.de")
    results, errors = [], []
    barrier = threading.Barrier(8)

    def write() -> None:
        barrier.wait()
        try:
            results.append(crm.create("activity", {"kind": "note", "subject": "race", "company_id": acme.id},
                                      idempotency_key="same-key"))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({r.record.id for r in results}) == 1
    assert len(crm.list_activities(ActivityFilter(company_id=acme.id))) == 1


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        ("contact", {"first_name": "A"}, "last_name: required to create a contact"),
        ("contact", {"first_name": "A", "last_name": "B", "email": "not-an-email"}, "email: expected an e-mail address"),
        ("contact", {"first_name": "A", "last_name": "B", "phone": "call me"}, "phone: expected a phone number"),
        ("contact", {"first_name": "A", "last_name": "B", "company_id": 424242}, "company_id: company 424242 does not exist"),
        ("contact", {"first_name": "A", "last_name": "B", "shoe_size": 9}, "shoe_size: unknown field"),
        ("deal", {"name": "D", "company_id": 1, "amount": "-5"}, "amount: Input should be greater than or equal to 0"),
        ("deal", {"name": "D", "company_id": 1, "amount": 5, "stage": "won"}, "stage: Input should be 'lead'"),
        ("deal", {"name": "D", "company_id": 1, "amount": 5, "currency": "euro"}, "currency: expected a 3-letter currency code"),
        ("deal", {"name": "D", "company_id": 1, "amount": 5, "close_date": "1699920000"}, "close_date: expected an ISO 8601 date"),
        ("company", {"name": "C", "domain": "not a domain"}, "domain: expected a domain name"),
        ("activity", {"kind": "tweet", "subject": "x"}, "kind: Input should be 'note'"),
        ("ticket", {"subject": "x", "company_id": 1, "priority": "p0"}, "priority: Input should be 'low'"),
    ],
)
def test_invalid_fields_are_refused_with_the_field_named(crm: LocalCrm, kind: str, fields: dict, message: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        crm.create(kind, fields, idempotency_key="bad")  # type: ignore[arg-type]
    assert str(err.value).startswith(message), str(err.value)


def test_update_errors(crm: LocalCrm) -> None:
    with pytest.raises(NotFoundError):
        crm.update("contact", 999_999, {"title": "x"}, expected_version=1, idempotency_key="n")
    bob = crm.find("contact", "email", "bob@globex.com")
    with pytest.raises(ValidationFailed, match="last_name: a contact cannot be left without it"):
        crm.update("contact", bob.id, {"last_name": None}, expected_version=bob.version, idempotency_key="m")


def test_find_folds_every_letter_and_scopes_deals_to_a_company(crm: LocalCrm) -> None:
    olwerke = crm.create("company", {"name": "Ölwerke Ärzte AG"}, idempotency_key="o").record
    assert crm.find("company", "name", "ÖLWERKE ÄRZTE ag").id == olwerke.id  # type: ignore[union-attr]
    acme = crm.find("company", "domain", "acme-logistics.de")
    crm.create("deal", {"name": "Renewal", "company_id": acme.id, "amount": 1}, idempotency_key="r1")
    theirs = crm.create("deal", {"name": "Renewal", "company_id": olwerke.id, "amount": 1}, idempotency_key="r2").record
    assert crm.find("deal", "name", "renewal", company_id=olwerke.id).id == theirs.id  # type: ignore[union-attr]
    assert crm.find("deal", "name", "renewal", company_id=999) is None


def test_an_update_that_changes_nothing_keeps_the_version(crm: LocalCrm) -> None:
    bob = crm.find("contact", "email", "bob@globex.com")
    same = crm.update("contact", bob.id, {"first_name": "Robert"}, expected_version=bob.version, idempotency_key="s")
    assert same.record.version == bob.version and same.changed_fields == ()
    with pytest.raises(ConflictError):
        crm.update("contact", bob.id, {"first_name": "Robert"}, expected_version=bob.version - 1, idempotency_key="t")


def test_directory_lists_every_identifying_value(crm: LocalCrm) -> None:
    entries = {(e.kind, e.names[0]): e for e in crm.directory()}
    zoe = entries[("contact", "Zoë Müller")]
    assert (zoe.names, zoe.emails, zoe.phones) == (
        ("Zoë Müller", "Zoe Mueller"), ("zoe.muller@acme-logistics.de",), ("+44 20 7946 0958",))
    assert (entries[("contact", "Roberta Stone")].emails, entries[("contact", "Roberta Stone")].phones) == ((), ())
    assert entries[("company", "Globex Retail")].names == ("Globex Retail",)
    assert sorted(kind for kind, _ in entries) == ["company"] * 2 + ["contact"] * 3


@pytest.mark.parametrize(
    ("kind", "field"),
    [(kind, name) for kind, model in FIELD_MODELS.items() for name, info in model.model_fields.items()
     if "date" in str(info.annotation)],
)
def test_every_date_field_refuses_epoch_numbers(kind: str, field: str) -> None:
    # The guard names its fields; a date field added later without it would accept 1699920000.
    for value in (1699920000, "1699920000"):
        with pytest.raises(ValidationFailed, match=f"^{field}: expected an ISO 8601 date"):
            validate_fields(kind, {field: value}, create=False)  # type: ignore[arg-type]
