"""Who sees what: people mapped to CRM owners by e-mail, roles, scopes, and the scoped CRM view."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert

from adapters.crm.base import ActivityFilter, DealFilter, TicketFilter
from adapters.crm.local.adapter import LocalCrm
from adapters.crm.local.tables import OwnerRow
from bot.access.people import FixedUsers, People, Profile
from bot.access.scope import Scope
from bot.access.scoped_crm import ScopedCrm
from bot.access.service import Access, Admitted, Refused
from bot.access.settings import AccessSection

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
GROUPS = {"sales": ("U01ALICE", "U02BOB"), "support": ("U09ZED",), "managers": ("U01ALICE",)}
PROFILES = [
    Profile("U01ALICE", "Alice Archer", "alice@example.com", team_id="T1"),
    Profile("U02BOB", "Bob Baker", "BOB@example.com", team_id="T1"),
    Profile("U03CAROL", "Carol Chen", "carol@example.com", team_id="T1"),
    Profile("U09ZED", "Zed Zimmer", "zed@example.com", team_id="T1"),
    Profile("U07GUEST", "Gina Guest", "gina@partner.example", team_id="T1", guest=True),
    Profile("B01BOT", "Other bot", team_id="T1", bot=True),
]


@pytest.fixture
def crm(sqlite_engine: Engine) -> LocalCrm:
    with sqlite_engine.begin() as conn:
        conn.execute(insert(OwnerRow), [{"id": "alice", "name": "Alice Archer", "email": "alice@example.com"},
                                        {"id": "bob", "name": "Bob Baker", "email": "bob@example.com"},
                                        {"id": "carol", "name": "Carol Chen", "email": "carol@example.com"}])
    return LocalCrm(sqlite_engine)


def access(crm: LocalCrm, **settings: object) -> Access:
    people = People(FixedUsers(PROFILES), crm.owners, groups=GROUPS)
    return Access(people, AccessSection(**settings), home_teams=("T1",))


def seed(crm: LocalCrm) -> dict[str, int]:
    ids = {}
    for owner in ("alice", "bob", "carol", None):
        name = owner or "nobody"
        company = crm.create("company", {"name": f"{name.title()} Corp", "owner": owner},
                             idempotency_key=f"co-{name}").record
        deal = crm.create("deal", {"name": f"{name.title()} renewal", "company_id": company.id, "amount": "1000",
                                   "currency": "EUR", "stage": "proposal", "owner": owner},
                          idempotency_key=f"d-{name}").record
        crm.create("activity", {"kind": "note", "subject": f"{name} note", "deal_id": deal.id,
                                "company_id": company.id, "occurred_at": NOW}, idempotency_key=f"a-{name}")
        crm.create("ticket", {"subject": f"{name} ticket", "company_id": company.id}, idempotency_key=f"t-{name}")
        ids[name] = deal.id
        ids[f"{name}-company"] = company.id
    return ids


def admitted(acc: Access, user: str) -> Admitted:
    result = asyncio.run(acc.admit(user))
    assert isinstance(result, Admitted), result
    return result


def test_people_are_mapped_to_crm_owners_by_email_case_insensitively(crm: LocalCrm) -> None:
    acc = access(crm)
    bob = admitted(acc, "U02BOB")
    assert bob.person.owner is not None and bob.person.owner.id == "bob"
    assert bob.person.groups == {"sales"}
    assert admitted(acc, "U09ZED").person.owner is None  # no CRM owner has Zed's e-mail


@pytest.mark.parametrize(("settings", "user", "owners"), [
    ({}, "U02BOB", {"alice", "bob"}),  # rep sees the team: everyone of the sales group
    ({}, "U09ZED", set()),  # support owns nothing; their team owns nothing
    ({}, "U03CAROL", {"carol"}),  # in no group: their own records
    ({"default_role": "viewer", "roles": {"viewer": {"see": "own", "propose": False}}}, "U02BOB", {"bob"}),
    ({"members": {"manager": ("group:managers",)}}, "U01ALICE", None),
])
def test_scopes(crm: LocalCrm, settings: dict, user: str, owners: set[str] | None) -> None:
    scope = admitted(access(crm, **settings), user).scope
    assert scope.owners == (None if owners is None else frozenset(owners))


def test_door_refuses_guests_and_bots_before_anything_else(crm: LocalCrm) -> None:
    acc = access(crm)
    assert asyncio.run(acc.admit("U07GUEST")) == Refused("guest")
    assert asyncio.run(acc.admit("B01BOT")) == Refused("bot")
    assert asyncio.run(acc.admit("U404")) == Refused("unknown user")
    assert asyncio.run(acc.admit("U02BOB", user_team="T9")) == Refused("user of another workspace")


def test_scoped_crm_answers_an_invisible_record_exactly_like_a_missing_one(crm: LocalCrm) -> None:
    ids = seed(crm)
    view = ScopedCrm(crm, Scope(frozenset({"bob"}), unowned=True))
    assert view.get_deal(ids["alice"]) is None
    assert view.get("deal", ids["alice"]) is None
    assert view.get_deal(ids["alice"]) == view.get_deal(999_999)
    assert view.get_deal(ids["bob"]) is not None
    assert view.get_company(ids["alice-company"]) is None
    assert view.seen == {"bob"}


def test_scoped_lists_and_searches_hold_only_visible_records(crm: LocalCrm) -> None:
    ids = seed(crm)
    view = ScopedCrm(crm, Scope(frozenset({"bob"}), unowned=False))
    assert [d.name for d in view.list_deals(DealFilter(open_only=True))] == ["Bob renewal"]
    assert [a.subject for a in view.list_activities(ActivityFilter())] == ["bob note"]
    # tickets have no owner of their own: they follow their company's
    assert [t.subject for t in view.list_tickets(TicketFilter())] == ["bob ticket"]
    assert [h.title for h in view.search_companies("Corp")] == ["Bob Corp"]
    assert view.count_deals(DealFilter()) == 1
    assert [(t.stage, t.count) for t in view.deal_totals(DealFilter())] == [("proposal", 1)]
    assert ids["nobody"] not in {d.id for d in view.list_deals(DealFilter())}


def test_unowned_records_follow_the_setting(crm: LocalCrm) -> None:
    ids = seed(crm)
    assert ScopedCrm(crm, Scope(frozenset({"bob"}), unowned=True)).get_deal(ids["nobody"]) is not None
    assert ScopedCrm(crm, Scope(frozenset({"bob"}), unowned=False)).get_deal(ids["nobody"]) is None


def test_everyone_sees_checks_every_human_member(crm: LocalCrm) -> None:
    acc = access(crm)
    assert asyncio.run(acc.everyone_sees(["U01ALICE", "U02BOB", "B01BOT"], {"bob"}))
    assert not asyncio.run(acc.everyone_sees(["U01ALICE", "U02BOB", "U09ZED"], {"bob"}))
    assert not asyncio.run(acc.everyone_sees(["U02BOB", "U07GUEST"], {"bob"}))  # a guest may read no record
    assert asyncio.run(acc.everyone_sees(["U02BOB", "U07GUEST"], set()))  # nothing from the CRM: fine


def test_deal_lists_push_the_scope_into_the_query_and_keep_unowned_deals(crm: LocalCrm) -> None:
    seed(crm)
    view = ScopedCrm(crm, Scope(frozenset({"bob"}), unowned=True))
    assert sorted(d.name for d in view.list_deals(DealFilter())) == ["Bob renewal", "Nobody renewal"]
    # a caller's own owner filter is narrowed, never widened, by the scope
    assert [d.name for d in view.list_deals(DealFilter(owners=("alice", "bob")))] == ["Bob renewal"]
    assert view.list_deals(DealFilter(owners=("alice",))) == []
