"""The CRM contract: what every CrmAdapter must do, run unchanged against each adapter.

Search (names first), get-with-related, every list filter the digests use, versioned updates and
stale refusal, idempotent creates when an answer is lost and the create retried, the directory
that masking is built from, and the owners.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from adapters.crm.base import (
    ActivityFilter,
    ConflictError,
    ContactFilter,
    DealFilter,
    NotFoundError,
    StageTotal,
    TicketFilter,
    ValidationFailed,
)
from tests.crm.contract.conftest import World

NOW = datetime.now(timezone.utc)
TODAY = date.today()


@pytest.fixture
def acme(world: World) -> dict[str, int]:
    """Two companies, three contacts; ids by short name."""
    crm = world.crm
    acme = crm.create("company", {"name": "Acme Logistics", "domain": "acme-logistics.de", "country": "Germany",
                                  "phone": "+49 30 1234567", "owner": "101"}, idempotency_key="c1").record
    globex = crm.create("company", {"name": "Globex Retail", "domain": "globex.com"}, idempotency_key="c2").record
    zoe = crm.create("contact", {"first_name": "Zoe", "last_name": "Muller", "email": "zoe.muller@acme-logistics.de",
                                 "phone": "+44 20 7946 0958", "company_id": acme.id, "title": "Head of Support",
                                 "aliases": ["Zoe Mueller"], "owner": "101"}, idempotency_key="p1").record
    bob = crm.create("contact", {"first_name": "Robert", "last_name": "Miller", "email": "bob@globex.com",
                                 "company_id": globex.id, "lifecycle_stage": "customer", "owner": "102"},
                     idempotency_key="p2").record
    ann = crm.create("contact", {"first_name": "Ann", "last_name": "Lee", "email": "miller.fan@example.com",
                                 "company_id": globex.id}, idempotency_key="p3").record
    return {"acme": acme.id, "globex": globex.id, "zoe": zoe.id, "bob": bob.id, "ann": ann.id}


# -- search -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "expected"), [
    ("zoe", ["Zoe Muller"]),
    ("Zoe Muller", ["Zoe Muller"]),
    ("robert miller", ["Robert Miller"]),
    ("zoe.muller@acme-logistics.de", ["Zoe Muller"]),
    ("nobody-here", []),
    ("", []),
])
def test_search_contacts(world: World, acme: dict[str, int], query: str, expected: list[str]) -> None:
    assert sorted(h.title for h in world.crm.search_contacts(query)) == expected


def test_search_ranks_name_matches_first(world: World, acme: dict[str, int]) -> None:
    hits = world.crm.search_contacts("miller")
    assert [h.title for h in hits] == ["Robert Miller", "Ann Lee"]  # Ann only by her e-mail
    assert hits[0].score > hits[1].score and hits[0].kind == "contact" and hits[0].id == acme["bob"]


def test_search_companies(world: World, acme: dict[str, int]) -> None:
    assert [h.title for h in world.crm.search_companies("acme")] == ["Acme Logistics"]
    assert [h.id for h in world.crm.search_companies("globex")] == [acme["globex"]]
    assert world.crm.search_companies("initech") == []


def test_find_by_lookup_fields(world: World, acme: dict[str, int]) -> None:
    crm = world.crm
    assert crm.find("contact", "email", "ZOE.MULLER@acme-logistics.de").id == acme["zoe"]  # type: ignore[union-attr]
    assert crm.find("company", "domain", "globex.com").id == acme["globex"]  # type: ignore[union-attr]
    assert crm.find("company", "name", "Acme Logistics").id == acme["acme"]  # type: ignore[union-attr]
    assert crm.find("contact", "email", "nobody@example.com") is None
    with pytest.raises(ValueError):
        crm.find("contact", "title", "x")


# -- get with related -------------------------------------------------------------------------


def test_get_with_related(world: World, acme: dict[str, int]) -> None:
    crm = world.crm
    deal = crm.create("deal", {"name": "Acme Pro", "company_id": acme["acme"], "contact_id": acme["zoe"],
                               "amount": "12000", "stage": "proposal", "close_date": TODAY + timedelta(days=9)},
                      idempotency_key="d1").record
    crm.create("deal", {"name": "Acme old", "company_id": acme["acme"], "amount": 5, "stage": "closed_lost"},
               idempotency_key="d2")
    for i in range(12):
        crm.create("activity", {"kind": "call", "subject": f"Call {i}", "company_id": acme["acme"],
                                "contact_id": acme["zoe"], "deal_id": deal.id, "occurred_at": NOW - timedelta(days=i)},
                   idempotency_key=f"a{i}")
    crm.create("ticket", {"subject": "SSO broken", "company_id": acme["acme"], "contact_id": acme["zoe"]},
               idempotency_key="t1")
    crm.create("ticket", {"subject": "Old", "company_id": acme["acme"], "status": "closed"}, idempotency_key="t2")

    company = crm.get_company(acme["acme"])
    assert company is not None and company.company.name == "Acme Logistics"
    assert [c.full_name for c in company.contacts] == ["Zoe Muller"]
    assert [d.name for d in company.open_deals] == ["Acme Pro"]
    assert [a.subject for a in company.recent_activities][:3] == ["Call 0", "Call 1", "Call 2"]
    assert len(company.recent_activities) == 10
    assert [t.subject for t in company.open_tickets] == ["SSO broken"]

    contact = crm.get_contact(acme["zoe"])
    assert contact is not None and contact.company is not None and contact.company.name == "Acme Logistics"
    assert [d.id for d in contact.open_deals] == [deal.id] and contact.contact.aliases == ("Zoe Mueller",)
    assert [t.subject for t in contact.open_tickets] == ["SSO broken"]
    detail = crm.get_deal(deal.id)
    assert detail is not None and detail.deal.amount == Decimal("12000.00") and detail.deal.stage == "proposal"
    assert detail.contact is not None and detail.contact.id == acme["zoe"]
    assert detail.company is not None and detail.company.id == acme["acme"]
    assert detail.recent_activities[0].subject == "Call 0"
    assert detail.deal.close_date == TODAY + timedelta(days=9)
    assert crm.get_contact(999_999) is None and crm.get_company(999_999) is None and crm.get_deal(999_999) is None
    assert crm.get("contact", 999_999) is None and crm.get("activity", 999_999) is None
    activity = crm.get("activity", detail.recent_activities[0].id)
    assert activity is not None and activity.subject == "Call 0" and activity.deal_id == deal.id  # type: ignore[union-attr]


# -- lists ------------------------------------------------------------------------------------


@pytest.fixture
def pipeline(world: World, acme: dict[str, int]) -> dict[str, int]:
    crm = world.crm
    made = {}
    for key, name, stage, days, owner, company in (
        ("soon", "Soon", "negotiation", 3, "101", "acme"), ("later", "Later", "lead", 60, "102", "acme"),
        ("won", "Won", "closed_won", 2, None, "acme"), ("gx", "Globex deal", "qualified", 5, "101", "globex"),
    ):
        fields = {"name": name, "company_id": acme[company], "amount": 100, "stage": stage,
                  "close_date": TODAY + timedelta(days=days), **({"owner": owner} if owner else {})}
        made[key] = crm.create("deal", fields, idempotency_key=f"deal-{key}").record.id
    return made


def test_deal_filters(world: World, acme: dict[str, int], pipeline: dict[str, int]) -> None:
    crm = world.crm

    def names(f: DealFilter) -> list[str]:
        return sorted(d.name for d in crm.list_deals(f))

    assert names(DealFilter(closing_from=TODAY, closing_to=TODAY + timedelta(days=3), open_only=True)) == ["Soon"]
    assert names(DealFilter(closing_to=TODAY + timedelta(days=2))) == ["Won"]  # the last day is included
    assert names(DealFilter(owner="102")) == ["Later"]
    assert names(DealFilter(owners=("101",))) == ["Globex deal", "Soon"]
    assert names(DealFilter(owners=())) == []
    assert names(DealFilter(owners=("101", "102"), owner="102")) == ["Later"]
    assert names(DealFilter(stages=("closed_won",))) == ["Won"]
    assert names(DealFilter(company_id=acme["globex"])) == ["Globex deal"]
    assert names(DealFilter(open_only=True, stages=("closed_won", "lead"))) == ["Later"]
    assert [d.name for d in crm.list_deals(DealFilter(open_only=True))] == ["Soon", "Globex deal", "Later"]  # by close date
    assert len(crm.list_deals(DealFilter(), limit=2)) == 2
    assert crm.count_deals(DealFilter(open_only=True)) == 3 and crm.count_deals(DealFilter(owners=())) == 0
    assert crm.deal_totals(DealFilter()) == [
        StageTotal("lead", "EUR", 1, Decimal("100.00")), StageTotal("qualified", "EUR", 1, Decimal("100.00")),
        StageTotal("negotiation", "EUR", 1, Decimal("100.00")), StageTotal("closed_won", "EUR", 1, Decimal("100.00")),
    ]
    deal = crm.get("deal", pipeline["soon"])
    assert deal is not None and deal.company_id == acme["acme"] and deal.owner == "101"  # type: ignore[union-attr]


def test_deal_filters_on_time(world: World, acme: dict[str, int], pipeline: dict[str, int]) -> None:
    crm = world.crm
    first_new = crm.create("deal", {"name": "New", "company_id": acme["acme"], "amount": 1},
                           idempotency_key="deal-new").record
    assert [d.name for d in crm.list_deals(DealFilter(created_since=first_new.created_at))] == ["New"]
    moved = crm.update("deal", pipeline["later"], {"stage": "qualified"},
                       expected_version=crm.get("deal", pipeline["later"]).version,  # type: ignore[union-attr]
                       idempotency_key="move").record
    assert [d.name for d in crm.list_deals(DealFilter(stage_changed_since=moved.stage_changed_at))] == ["Later"]
    # Stale: no activity since the cut-off. Every deal is younger than a cut-off a day ahead, so
    # only an activity after it keeps "Soon" fresh.
    cutoff = datetime.now(timezone.utc) + timedelta(days=1)
    stale = DealFilter(no_activity_since=cutoff, open_only=True)
    assert sorted(d.name for d in crm.list_deals(stale)) == ["Globex deal", "Later", "New", "Soon"]
    crm.create("activity", {"kind": "note", "subject": "touch", "deal_id": pipeline["soon"],
                            "occurred_at": cutoff + timedelta(hours=1)}, idempotency_key="touch")
    assert sorted(d.name for d in crm.list_deals(stale)) == ["Globex deal", "Later", "New"]
    soon = crm.get("deal", pipeline["soon"])
    assert soon is not None and abs(soon.last_activity_at - (cutoff + timedelta(hours=1))) < timedelta(seconds=1)  # type: ignore[union-attr,operator]


def test_contact_filters(world: World, acme: dict[str, int]) -> None:
    crm = world.crm
    newest = crm.create("contact", {"first_name": "Nia", "last_name": "New", "owner": "102"},
                        idempotency_key="p-new").record

    def names(f: ContactFilter) -> list[str]:
        return [c.full_name for c in crm.list_contacts(f)]

    assert names(ContactFilter(lifecycle_stages=("lead",))) == ["Nia New", "Ann Lee", "Zoe Muller"]  # newest first
    assert names(ContactFilter(lifecycle_stages=("customer",))) == ["Robert Miller"]
    assert names(ContactFilter(owners=("102",))) == ["Nia New", "Robert Miller"]
    assert names(ContactFilter(owners=())) == []
    assert names(ContactFilter(created_since=newest.created_at)) == ["Nia New"]
    assert len(crm.list_contacts(ContactFilter(), limit=2)) == 2


def test_ticket_filters(world: World, acme: dict[str, int]) -> None:
    crm = world.crm
    urgent = crm.create("ticket", {"subject": "Urgent", "company_id": acme["acme"], "priority": "urgent"},
                        idempotency_key="t1").record
    calm = crm.create("ticket", {"subject": "Calm", "company_id": acme["acme"], "priority": "low"},
                      idempotency_key="t2").record
    world.set_sla_due(urgent.id, NOW - timedelta(hours=1))
    world.set_sla_due(calm.id, NOW + timedelta(days=2))
    crm.create("ticket", {"subject": "Waiting", "company_id": acme["globex"], "status": "pending"},
               idempotency_key="t3")
    crm.create("ticket", {"subject": "Done", "company_id": acme["globex"], "status": "closed"}, idempotency_key="t4")

    def subjects(f: TicketFilter) -> list[str]:
        return sorted(t.subject for t in crm.list_tickets(f))

    assert subjects(TicketFilter(sla_breached_at=NOW)) == ["Urgent"]
    assert subjects(TicketFilter(priorities=("low",))) == ["Calm"]
    assert subjects(TicketFilter(statuses=("open", "pending"))) == ["Calm", "Urgent", "Waiting"]
    assert subjects(TicketFilter(statuses=("closed",))) == ["Done"]
    assert subjects(TicketFilter(company_id=acme["globex"])) == ["Done", "Waiting"]
    urgent = crm.list_tickets(TicketFilter(priorities=("urgent",)))[0]
    assert urgent.company_id == acme["acme"] and urgent.status == "open" and urgent.sla_due_at is not None


def test_activity_filters(world: World, acme: dict[str, int]) -> None:
    crm = world.crm
    for i, (kind, company, contact) in enumerate((("call", "acme", "zoe"), ("note", "acme", None),
                                                  ("meeting", "globex", "bob"), ("email", "globex", "bob"))):
        crm.create("activity", {"kind": kind, "subject": f"{kind} {i}", "company_id": acme[company],
                                **({"contact_id": acme[contact]} if contact else {}),
                                "occurred_at": NOW - timedelta(days=i)}, idempotency_key=f"act{i}")
    crm.create("activity", {"kind": "task", "subject": "follow up", "contact_id": acme["zoe"],
                            "due_at": NOW + timedelta(days=1)}, idempotency_key="task")

    def subjects(f: ActivityFilter) -> list[str]:
        return [a.subject for a in crm.list_activities(f)]

    assert subjects(ActivityFilter(company_id=acme["acme"])) == ["call 0", "note 1"]  # newest first
    assert sorted(subjects(ActivityFilter(contact_id=acme["zoe"]))) == ["call 0", "follow up"]
    assert subjects(ActivityFilter(company_id=acme["globex"], kinds=("email",))) == ["email 3"]
    assert subjects(ActivityFilter(company_id=acme["globex"], since=NOW - timedelta(days=2, hours=12))) == ["meeting 2"]
    task = next(a for a in crm.list_activities(ActivityFilter(kinds=("task",))))
    assert task.kind == "task" and task.due_at is not None and not task.done


def test_lists_of_several_records_at_once(world: World, acme: dict[str, int], pipeline: dict[str, int]) -> None:
    """What a digest reads to score many accounts in a few requests: each row carries the record it
    matched, and nothing matches that the single-record filter would not match."""
    crm = world.crm
    both, extra = (acme["acme"], acme["globex"]), crm.create("company", {"name": "Initech"},
                                                             idempotency_key="c3").record.id
    for i, (kind, company, contact) in enumerate((("call", "acme", "zoe"), ("note", "globex", "bob"),
                                                  ("meeting", "globex", "bob"))):
        crm.create("activity", {"kind": kind, "subject": f"{kind} {i}", "company_id": acme[company],
                                "contact_id": acme[contact], "occurred_at": NOW - timedelta(days=i)},
                   idempotency_key=f"many{i}")
    crm.create("ticket", {"subject": "Broken", "company_id": acme["globex"], "priority": "urgent"},
               idempotency_key="many-t1")
    crm.create("ticket", {"subject": "Closed", "company_id": acme["acme"], "status": "closed"},
               idempotency_key="many-t2")

    def pairs(rows: list) -> list[tuple[str, int | None]]:  # type: ignore[type-arg]
        return sorted((getattr(r, "name", None) or r.subject, r.company_id) for r in rows)

    assert pairs(crm.list_deals(DealFilter(company_ids=(*both, extra), open_only=True))) == [
        ("Globex deal", acme["globex"]), ("Later", acme["acme"]), ("Soon", acme["acme"])]
    assert [d.name for d in crm.list_deals(DealFilter(company_ids=both, open_only=True))] == [
        "Soon", "Globex deal", "Later"]  # by close date, as with one company
    assert crm.list_deals(DealFilter(company_ids=())) == [] and crm.list_deals(DealFilter(company_ids=(extra,))) == []
    assert crm.count_deals(DealFilter(company_ids=both, stages=("closed_won", "lead"))) == 2
    assert crm.deal_totals(DealFilter(company_ids=(acme["globex"],))) == [
        StageTotal("qualified", "EUR", 1, Decimal("100.00"))]
    assert pairs(crm.list_tickets(TicketFilter(company_ids=both, statuses=("open", "pending")))) == [
        ("Broken", acme["globex"])]
    assert pairs(crm.list_activities(ActivityFilter(company_ids=both, since=NOW - timedelta(days=1, hours=12)))) == [
        ("call 0", acme["acme"]), ("note 1", acme["globex"])]
    by_contact = crm.list_activities(ActivityFilter(contact_ids=(acme["zoe"], acme["bob"]), kinds=("meeting", "call")))
    assert [(a.subject, a.contact_id) for a in by_contact] == [("call 0", acme["zoe"]), ("meeting 2", acme["bob"])]
    assert crm.list_activities(ActivityFilter(contact_ids=())) == []


# -- writes -----------------------------------------------------------------------------------


def test_versioned_update_and_stale_refusal(world: World, acme: dict[str, int]) -> None:
    crm = world.crm
    planned = crm.get("contact", acme["zoe"])
    assert planned is not None
    done = crm.update("contact", acme["zoe"], {"title": "VP Support"}, expected_version=planned.version,
                      idempotency_key="u1")
    assert done.changed_fields == ("title",) and done.record.title == "VP Support"  # type: ignore[union-attr]
    assert done.record.version != planned.version
    assert crm.get("contact", acme["zoe"]).version == done.record.version  # type: ignore[union-attr]
    # A second proposal planned on the old version is refused, and nothing is written.
    with pytest.raises(ConflictError) as refused:
        crm.update("contact", acme["zoe"], {"title": "CEO"}, expected_version=planned.version, idempotency_key="u2")
    assert refused.value.current.version == done.record.version
    assert crm.get("contact", acme["zoe"]).title == "VP Support"  # type: ignore[union-attr]
    # The same update repeated with its key is answered, not refused as stale by its own first try.
    again = crm.update("contact", acme["zoe"], {"title": "VP Support"}, expected_version=planned.version,
                       idempotency_key="u1")
    assert again.replayed and again.record.version == done.record.version


def test_a_change_made_elsewhere_makes_a_proposal_stale(world: World, acme: dict[str, int]) -> None:
    crm = world.crm
    planned = crm.get("company", acme["acme"])
    crm.update("company", acme["acme"], {"industry": "Logistics"}, expected_version=planned.version,  # type: ignore[union-attr]
               idempotency_key="someone-else")
    with pytest.raises(ConflictError):
        crm.update("company", acme["acme"], {"name": "Acme AG"}, expected_version=planned.version,  # type: ignore[union-attr]
                   idempotency_key="ours")
    assert crm.get("company", acme["acme"]).name == "Acme Logistics"  # type: ignore[union-attr]


def test_with_a_basis_an_unrelated_change_does_not_block_the_write(world: World, pipeline: dict[str, int]) -> None:
    """The amount was planned on the deal; its close date changed since: the amount still applies,
    and the close date set meanwhile is kept."""
    crm = world.crm
    planned = crm.get("deal", pipeline["soon"])
    assert planned is not None
    moved = crm.update("deal", planned.id, {"close_date": TODAY + timedelta(days=30)},
                       expected_version=planned.version, idempotency_key="someone-else")
    done = crm.update("deal", planned.id, {"amount": "240.00"}, expected_version=planned.version,
                      idempotency_key="ours", basis={"amount": "100.00", "currency": planned.currency})  # type: ignore[union-attr]
    now = crm.get("deal", planned.id)
    assert done.changed_fields == ("amount",) and not done.replayed
    assert now.amount == Decimal("240.00") and now.close_date == TODAY + timedelta(days=30)  # type: ignore[union-attr]
    assert now.version == done.record.version and done.record.version != moved.record.version  # type: ignore[union-attr]
    again = crm.update("deal", planned.id, {"amount": "240.00"}, expected_version=planned.version,
                       idempotency_key="ours", basis={"amount": "100.00"})
    assert again.replayed and crm.get("deal", planned.id).version == done.record.version  # type: ignore[union-attr]


@pytest.mark.parametrize("field, planned_value, elsewhere", [
    ("close_date", None, {"close_date": TODAY + timedelta(days=40)}),
    ("amount", "100.00", {"amount": "150"}),
    ("currency", "EUR", {"currency": "GBP"}),  # what an amount change read to decide its risk
])
def test_with_a_basis_a_change_to_a_field_it_depends_on_makes_it_stale(
        world: World, pipeline: dict[str, int], field: str, planned_value: object, elsewhere: dict[str, object]) -> None:
    crm = world.crm
    planned = crm.get("deal", pipeline["soon"])
    assert planned is not None
    value = (TODAY + timedelta(days=3)).isoformat() if field == "close_date" else planned_value
    crm.update("deal", planned.id, elsewhere, expected_version=planned.version, idempotency_key="someone-else")
    changes = {"close_date": TODAY + timedelta(days=50)} if field == "close_date" else {"amount": "999"}
    basis = {field: value, **({"amount": "100.00"} if field == "currency" else {})}
    with pytest.raises(ConflictError) as refused:
        crm.update("deal", planned.id, changes, expected_version=planned.version, idempotency_key="ours", basis=basis)
    assert refused.value.fields == (field,)
    after = crm.get("deal", planned.id)
    assert getattr(refused.value.current, field) == getattr(after, field)
    assert after.amount != Decimal("999") and after.close_date != TODAY + timedelta(days=50)  # type: ignore[union-attr]


def test_update_moves_associations_and_stages(world: World, acme: dict[str, int], pipeline: dict[str, int]) -> None:
    crm = world.crm
    zoe = crm.get("contact", acme["zoe"])
    moved = crm.update("contact", acme["zoe"], {"company_id": acme["globex"]}, expected_version=zoe.version,  # type: ignore[union-attr]
                       idempotency_key="move-zoe")
    assert moved.record.company_id == acme["globex"] and crm.get("contact", acme["zoe"]).company_id == acme["globex"]  # type: ignore[union-attr]
    deal = crm.get("deal", pipeline["soon"])
    won = crm.update("deal", deal.id, {"stage": "closed_won", "amount": "250.50"}, expected_version=deal.version,  # type: ignore[union-attr]
                     idempotency_key="win")
    assert won.changed_fields == ("amount", "stage")
    again = crm.get("deal", deal.id)  # type: ignore[union-attr]
    assert again.stage == "closed_won" and again.amount == Decimal("250.50") and again.version == won.record.version  # type: ignore[union-attr]


def test_update_errors(world: World, acme: dict[str, int]) -> None:
    crm = world.crm
    with pytest.raises(NotFoundError):
        crm.update("contact", 999_999, {"title": "x"}, expected_version=1, idempotency_key="e1")
    with pytest.raises(ValidationFailed):
        crm.update("contact", acme["zoe"], {"email": "not-an-email"}, expected_version=1, idempotency_key="e2")


def test_an_update_that_changes_nothing_keeps_the_version(world: World, acme: dict[str, int]) -> None:
    crm = world.crm
    zoe = crm.get("contact", acme["zoe"])
    same = crm.update("contact", acme["zoe"], {"title": "Head of Support"}, expected_version=zoe.version,  # type: ignore[union-attr]
                      idempotency_key="noop")
    assert same.changed_fields == () and same.record.version == zoe.version  # type: ignore[union-attr]


@pytest.mark.parametrize(("kind", "fields"), [
    ("company", {"name": "Initech"}),
    ("contact", {"first_name": "Pia", "last_name": "Park", "email": "pia@initech.com"}),
    ("deal", {"name": "Initech deal", "amount": 10}),
    ("ticket", {"subject": "Printer on fire"}),
    ("activity", {"kind": "call", "subject": "Intro call"}),
])
def test_create_is_idempotent_when_the_answer_is_lost(world: World, acme: dict[str, int], kind: str,
                                                      fields: dict[str, object]) -> None:
    if kind in ("deal", "ticket", "activity"):
        fields = {**fields, "company_id": acme["globex"]}
    result = world.create_with_lost_answer(kind, fields, f"proposal-{kind}")  # type: ignore[arg-type]
    assert result.created and result.replayed
    again = world.crm.create(kind, fields, idempotency_key=f"proposal-{kind}")  # type: ignore[arg-type]
    assert again.replayed and again.record.id == result.record.id
    record = world.crm.get(kind, result.record.id)  # type: ignore[arg-type]
    assert record is not None
    if kind == "company":
        assert [h.id for h in world.crm.search_companies("initech")] == [result.record.id]
    if kind == "contact":
        assert [h.id for h in world.crm.search_contacts("pia park")] == [result.record.id]
    if kind == "deal":
        assert [d.id for d in world.crm.list_deals(DealFilter(company_id=acme["globex"]))] == [result.record.id]
    if kind == "ticket":
        assert [t.id for t in world.crm.list_tickets(TicketFilter(company_id=acme["globex"]))] == [result.record.id]
    if kind == "activity":
        assert [a.id for a in world.crm.list_activities(ActivityFilter(company_id=acme["globex"]))] == [result.record.id]


def test_invalid_fields_are_refused_with_the_field_named(world: World) -> None:
    with pytest.raises(ValidationFailed, match="first_name"):
        world.crm.create("contact", {"last_name": "Only"}, idempotency_key="bad")
    with pytest.raises(ValidationFailed, match="stage"):
        world.crm.create("deal", {"name": "x", "company_id": 1, "amount": 1, "stage": "won"}, idempotency_key="bad2")


# -- directory and owners ---------------------------------------------------------------------


def test_directory_lists_every_identifying_value(world: World, acme: dict[str, int]) -> None:
    entries = {(e.kind, e.id): e for e in world.crm.directory()}
    assert len(entries) == 5
    zoe = entries[("contact", acme["zoe"])]
    assert zoe.names == ("Zoe Muller", "Zoe Mueller") and zoe.emails == ("zoe.muller@acme-logistics.de",)
    assert zoe.phones == ("+44 20 7946 0958",)
    acme_entry = entries[("company", acme["acme"])]
    assert acme_entry.names == ("Acme Logistics",) and acme_entry.phones == ("+49 30 1234567",)


def test_owners_include_every_owner_that_records_carry(world: World, acme: dict[str, int]) -> None:
    owners = {o.id: o for o in world.crm.owners()}
    assert {"101", "102"} <= set(owners)
    assert all(o.name for o in owners.values())
    # the e-mail is what maps a Slack user to their records
    assert owners["101"].email == "alice@example.com" and owners["102"].email == "bruno@example.com"


def test_an_owner_filter_can_keep_deals_without_an_owner(world: World, pipeline: dict[str, int]) -> None:
    def names(f: DealFilter) -> list[str]:
        return sorted(d.name for d in world.crm.list_deals(f))

    assert names(DealFilter(owners=("101",))) == ["Globex deal", "Soon"]
    assert names(DealFilter(owners=("101",), unowned=True)) == ["Globex deal", "Soon", "Won"]
    assert names(DealFilter(owners=(), unowned=True)) == ["Won"]

def test_an_e_mail_is_logged_on_its_contact_and_deal_with_its_owner(world: World, acme: dict[str, int],
                                                                   pipeline: dict[str, int]) -> None:
    """What the bot logs after sending an e-mail: an e-mail activity, owned by the requester."""
    crm = world.crm
    fields = {"kind": "email", "subject": "Renewal", "body": "Hello Zoe,\nsee you soon.",
              "occurred_at": "2026-11-02T09:00:00+00:00", "owner": "102", "contact_id": acme["zoe"],
              "deal_id": pipeline["soon"], "company_id": acme["acme"]}
    logged = crm.create("activity", fields, idempotency_key="proposal-1-activity").record
    again = crm.create("activity", fields, idempotency_key="proposal-1-activity")
    assert again.record.id == logged.id
    [listed] = crm.list_activities(ActivityFilter(deal_id=pipeline["soon"], kinds=("email",)))
    found = crm.get("activity", listed.id)
    assert (found.kind, found.subject, found.owner, found.contact_id, found.deal_id) == (  # type: ignore[union-attr]
        "email", "Renewal", "102", acme["zoe"], pipeline["soon"])
    assert [a.id for a in crm.list_activities(ActivityFilter(contact_id=acme["zoe"], kinds=("email",)))] == [logged.id]
