"""A digest carries only what every member of its channel may see, asked afresh at every run."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, insert

from adapters.crm.base import Owner
from adapters.crm.local.adapter import LocalCrm
from adapters.crm.local.tables import OwnerRow
from bot.access.people import FixedUsers, People, Profile
from bot.access.scope import Scope
from bot.access.service import Access
from bot.access.settings import AccessSection
from bot.digests.audience import NOTHING, ChannelAudience, shared
from bot.records import Subscription
from tests.digests.world import Clock, Publisher, add, service, utc

BOT = "UBOT"
PROFILES = [Profile("U01ALICE", "Alice Archer", "alice@example.com", team_id="T1"),
            Profile("U02BOB", "Bob Baker", "bob@example.com", team_id="T1"),
            Profile("U03CAROL", "Carol Chen", "carol@example.com", team_id="T1"),
            Profile("U09GUEST", "Gus Guest", "gus@example.com", team_id="T1", guest=True),
            Profile("U08APP", "Some app", team_id="T1", bot=True)]
# Alice is a manager (sees everything); Bob and Carol are reps in no group: each sees their own records.
SETTINGS = {"members": {"manager": ("U01ALICE",)}}


@pytest.fixture
def crm(sqlite_engine: Engine) -> LocalCrm:
    with sqlite_engine.begin() as conn:
        conn.execute(insert(OwnerRow), [{"id": "alice", "name": "Alice Archer", "email": "alice@example.com"},
                                        {"id": "bob", "name": "Bob Baker", "email": "bob@example.com"},
                                        {"id": "carol", "name": "Carol Chen", "email": "carol@example.com"}])
    return LocalCrm(sqlite_engine)


def audience(crm: LocalCrm, channels: dict[str, set[str]], **settings: object) -> ChannelAudience:
    people = People(FixedUsers(PROFILES), crm.owners, groups={})
    access = Access(people, AccessSection(**{**SETTINGS, **settings}), home_teams=("T1",))

    async def members(channel: str) -> frozenset[str]:
        return frozenset(channels.get(channel, ()))

    return ChannelAudience(access, members, bot_user_id=BOT)


@pytest.mark.parametrize(("scopes", "expected"), [
    ([], Scope(None, True)),
    ([Scope(None, True)], Scope(None, True)),
    ([Scope(None, True), Scope(frozenset({"bob"}), True)], Scope(frozenset({"bob"}), True)),
    ([Scope(frozenset({"bob", "carol"})), Scope(frozenset({"carol", "alice"}))], Scope(frozenset({"carol"}), True)),
    ([Scope(frozenset({"bob"})), Scope(frozenset({"carol"}))], Scope(frozenset(), True)),
    ([Scope(None, False), Scope(frozenset({"bob"}), True)], Scope(frozenset({"bob"}), False)),
    ([Scope(None, True), NOTHING], NOTHING),
])
def test_the_shared_scope_is_what_every_scope_sees(scopes: list[Scope], expected: Scope) -> None:
    assert shared(scopes) == expected


@pytest.mark.parametrize(("members", "expected"), [
    ({BOT, "U01ALICE"}, Scope(None, True)),                      # the bot itself is no reader
    ({BOT, "U01ALICE", "U02BOB"}, Scope(frozenset({"bob"}), True)),
    ({"U02BOB", "U03CAROL"}, Scope(frozenset(), True)),           # no owner both see
    ({"U01ALICE", "U08APP"}, Scope(None, True)),                 # another app is no reader either
    ({"U01ALICE", "U09GUEST"}, NOTHING),                         # the door refuses a guest: nothing
    ({"U01ALICE", "U99NOBODY"}, NOTHING),                        # nobody Slack knows: nothing
    ({BOT}, NOTHING),                                            # membership unknown: fail closed
    (set(), NOTHING),
])
def test_a_channel_audience_sees_what_all_its_human_members_see(crm: LocalCrm, members: set[str],
                                                                 expected: Scope) -> None:
    assert asyncio.run(audience(crm, {"C1": members})("C1")) == expected


def test_records_without_an_owner_stay_out_when_a_member_may_not_see_them(crm: LocalCrm) -> None:
    assert asyncio.run(audience(crm, {"C1": {"U02BOB"}}, unowned=False)("C1")) == Scope(frozenset({"bob"}), False)


def _deals(crm: LocalCrm) -> dict[str, int]:
    close = date(2026, 12, 4)
    ids = {}
    for owner in ("alice", "bob"):
        company = add(crm, "company", name=f"{owner.title()} Works", owner=owner)
        ids[owner] = add(crm, "deal", name=f"{owner.title()} renewal", company_id=company, stage="proposal",
                         amount="1000", currency="EUR", close_date=close, owner=owner)
    ids["guest-visible"] = add(crm, "ticket", subject="Printer on fire", company_id=company, priority="urgent",
                               status="open", owner="bob")
    return ids


def _subscribe(svc, channel: str = "C1") -> None:  # type: ignore[no-untyped-def]
    svc.store.subscribe(Subscription("d", channel, "0 8 * * *", "UTC", ("closing_soon", "ticket_alerts"),
                                     source="slack", created_by="U01ALICE"), now=utc(2026, 11, 30))


def test_a_channel_with_a_rep_gets_only_the_deals_the_rep_may_see(sqlite_engine: Engine, crm: LocalCrm) -> None:
    ids = _deals(crm)
    publisher = Publisher()
    svc = service(sqlite_engine, Clock(utc(2026, 12, 1, 9)), publisher=publisher,
                  audience=audience(crm, {"C1": {BOT, "U01ALICE", "U02BOB"}}))
    _subscribe(svc)
    assert asyncio.run(svc.run_now("d")).status == "posted"
    (digest,) = publisher.posted
    closing = next(s for s in digest.sections if s.key == "closing_soon")
    assert [ln.record for ln in closing.lines] == [("deal", ids["bob"])] and closing.total == 1
    assert closing.lines[0].owner == "Bob Baker"  # the owner by name, not by id
    preview = asyncio.run(svc.preview("d"))
    assert preview is not None and preview.sections == digest.sections  # the preview asks the same audience


def test_a_guest_in_the_channel_empties_the_crm_sections(sqlite_engine: Engine, crm: LocalCrm) -> None:
    _deals(crm)
    publisher = Publisher()
    svc = service(sqlite_engine, Clock(utc(2026, 12, 1, 9)), publisher=publisher,
                  audience=audience(crm, {"C1": {BOT, "U01ALICE", "U09GUEST"}}))
    _subscribe(svc)
    asyncio.run(svc.run_now("d"))
    (digest,) = publisher.posted
    assert digest.sections == () and digest.empty
    # The same CRM read by the manager alone has both sections: the guest is what emptied them.
    alone = service(sqlite_engine, Clock(utc(2026, 12, 1, 9)), audience=audience(crm, {"C1": {"U01ALICE"}}))
    preview = asyncio.run(alone.preview("d"))
    assert preview is not None and {s.key for s in preview.sections} == {"closing_soon", "ticket_alerts"}


def test_the_audience_is_asked_at_every_run(sqlite_engine: Engine, crm: LocalCrm) -> None:
    ids = _deals(crm)
    asked: list[str] = []
    channels = {"C1": {"U01ALICE"}}
    ask = audience(crm, channels)

    async def counting(channel: str) -> Scope:
        asked.append(channel)
        return await ask(channel)

    clock, publisher = Clock(utc(2026, 12, 1, 9)), Publisher()
    svc = service(sqlite_engine, clock, publisher=publisher, audience=counting)
    _subscribe(svc)
    asyncio.run(svc.run_now("d"))
    channels["C1"] = {"U01ALICE", "U02BOB"}  # Bob joins between two runs
    clock.now += timedelta(minutes=1)
    asyncio.run(svc.run_now("d"))
    assert asked == ["C1", "C1"]
    first, second = ([ln.record for ln in d.sections[0].lines] for d in publisher.posted)
    assert sorted(first) == sorted([("deal", ids["alice"]), ("deal", ids["bob"])])
    assert second == [("deal", ids["bob"])]


def test_a_digests_owner_filter_maps_slack_users_to_their_crm_owners(sqlite_engine: Engine) -> None:
    people = People(FixedUsers([Profile("U02BOB", "Bob", "bob@example.com")]),
                    lambda: [Owner("bob", "Bob Baker", "bob@example.com")], groups={})
    digests = service(sqlite_engine, Clock(utc(2026, 12, 1, 7)), owner_ids=people.owner_ids_of)
    one = Subscription("bob", "#sales", "0 8 * * *", "UTC", ("stale_deals",), filters={"owner": "U02BOB"})
    team = Subscription("team", "#sales", "0 8 * * *", "UTC", ("stale_deals",), filters={"team": "sales"})
    assert asyncio.run(digests.filter_scope(one)).owners == ("bob",)
    assert asyncio.run(digests.filter_scope(team)).owners == ("bob",)  # Alice has no CRM owner here
