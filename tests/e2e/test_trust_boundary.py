"""The trust boundary attacked end to end: the real bot process, the Slack emulator, the shipped app.toml.

Each test plays a hostile or careless person and checks the guarantee that stops them: the door
(guests, Slack Connect strangers, people of another workspace, externally shared channels get one
ephemeral line, an `access.refused` audit event and no model call), four eyes on medium-risk
changes, visibility before the model (a canary), answers delivered privately when a channel member
may not see a record, Edit submissions limited to the offered fields, membership read at the moment
of a click, and DM proposals kept out of other people's lists.

The workspace runs the shipped app.toml with one override: the `rep` role sees only its own
records (`see = "own"`), so Carol (a rep of the sales group) may not read Bob's deal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine, select

from bot.access.door import REFUSAL
from bot.slack.blocks.cards import APPROVE, EDIT
from bot.store.tables import AuditEvent, Proposal
from slack_emulator import Channel, EmulatorThread, User
from slack_emulator.config import DEFAULT_BOT_EVENTS, DEFAULT_USERS, dm_id
from tests.e2e.cards import proposal_id, text_of, wait_for_card_text, wait_for_cards
from tests.e2e.conftest import Stack, start_stack
from tests.e2e.harness import PLACEHOLDER, Script
from tests.fakes.model_server import text, tool_calls
from tests.world import PLANTED

T = TypeVar("T")
BOT = "UBOT"
ALICE, BOB, CAROL, ZED, DAN = "U01ALICE", "U02BOB", "U03CAROL", "U09ZED", "U05DAN"
SALES, GENERAL, DEALS, DESK, LOBBY, SHARED, DANS = (
    "C0SALES", "C0GENERAL", "C0DEALS", "C0DESK", "C0LOBBY", "C0SHARED", "C0DAN")

# People the door must refuse, and the reason it records for each.
OUTSIDERS = {
    "guest": (User("U10GUEST", "gwen", "Gwen Guest", "gwen@example.com", is_restricted=True), "guest"),
    "single-channel guest": (User("U11SINGLE", "sam", "Sam Single", "sam@example.com", is_ultra_restricted=True),
                             "guest"),
    "Slack Connect stranger": (User("U12EXT", "xavier", "Xavier Extern", "xavier@partner.example",
                                    team_id="T0PARTNER", is_stranger=True), "Slack Connect user"),
    "user of another team": (User("U13OTHER", "olga", "Olga Other", "olga@example.com", team_id="T0OTHER"),
                             "user of another workspace"),
}
USERS = (*DEFAULT_USERS, User(DAN, "dan", "Dan Doe", "dan@example.com"), *(u for u, _ in OUTSIDERS.values()))
CHANNELS = (
    Channel(SALES, "sales", (ALICE, BOB, CAROL, BOT)),
    Channel(GENERAL, "general", (ALICE, BOB, CAROL, ZED, DAN, BOT)),
    Channel(DEALS, "deals", (ALICE, BOB, BOT)),
    Channel(DESK, "desk", (ALICE, BOB, CAROL, BOT)),
    Channel(LOBBY, "lobby", (ALICE, BOT)),  # the outsiders join once a card is there to click
    Channel(SHARED, "partners", (ALICE, BOB, BOT), is_ext_shared=True),
    Channel(DANS, "dan-and-alice", (ALICE, DAN, BOT)),
)
# The manifest's subscriptions: membership and profile changes reach the bot, as in Slack.
BOT_EVENTS = DEFAULT_BOT_EVENTS | {"member_joined_channel", "member_left_channel", "user_change"}
REPS_SEE_OWN = {"BOT_ACCESS__ROLES__REP__SEE": "own"}


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorThread]:
    with EmulatorThread(users=USERS, channels=CHANNELS, bot_events=BOT_EVENTS) as emu:
        yield emu


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, emulator: EmulatorThread,
          script: tuple[Script, str]) -> Iterator[Stack]:
    emulator.default_mode = "socket"
    started = start_stack(tmp_path_factory.mktemp("trust"), emulator, script, socket_mode=True,
                          extra_env=REPS_SEE_OWN)
    yield started
    assert started.bot.stop() == 0, started.bot.output()
    started.engine.dispose()


# -- helpers ---------------------------------------------------------------------------------------


def eventually(read: Callable[[], T], what: str, timeout: float = 20.0) -> T:
    """Poll a database condition (the emulator's wait_for covers Slack-side state only)."""
    deadline = time.monotonic() + timeout
    while not (value := read()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)  # the database offers nothing to wait on
    return value


def refusals(engine: Engine, user: str) -> list[dict[str, Any]]:
    """The `access.refused` audit events of one person, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(AuditEvent.data).where(AuditEvent.kind == "access.refused",
                                                          AuditEvent.actor == user).order_by(AuditEvent.id)).all()
    return [dict(row[0] or {}) for row in rows]


def proposal_row(engine: Engine, pid: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(Proposal.status, Proposal.record_id, Proposal.args)
                            .where(Proposal.id == pid)).one()


def audit_kinds(engine: Engine, pid: str, actor: str) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(select(AuditEvent.kind).where(AuditEvent.proposal_id == pid,
                                                               AuditEvent.actor == actor)))


def shown(item: Any) -> str:
    """Everything a person reads of a message or an ephemeral: its text and its blocks."""
    return f"{item.text} {json.dumps(item.blocks, ensure_ascii=False)}"


def told(emulator: EmulatorThread, user: str, needle: str, after: int = 0, timeout: float = 20) -> Any:
    try:
        return emulator.wait_for(lambda e: next((x for x in e.ephemerals(user)[after:] if needle in shown(x)), None),
                                 timeout, what=f"an ephemeral to {user} containing {needle!r}")
    except AssertionError as missing:
        got = [x.text for x in emulator.ephemerals(user)[after:]]
        raise AssertionError(f"{user} was not told {needle!r}; their new ephemerals: {got}") from missing


def fence(stack: Stack, channel: str = LOBBY) -> None:
    """A request answered after the ones before it were processed: anything they did has happened."""
    stack.script.load(text("Fence."))
    posted = stack.emulator.user_message(ALICE, channel, "<@UBOT> fence")
    stack.emulator.wait_for(lambda e: any("Fence." in shown(m) for m in e.messages(channel, thread_ts=posted.ts)
                                          if m.bot_id), 20, what="the fence's answer")


def propose(stack: Stack, user: str, channel: str, *calls: tuple[str, dict[str, object]]) -> tuple[str, list[str]]:
    """Ask for changes in a channel; returns the thread and the ts of each card."""
    stack.script.load(tool_calls(*calls), text("I proposed it; it waits for approval."))
    root = stack.emulator.user_message(user, channel, "<@UBOT> please make the change")
    found = wait_for_cards(stack.emulator, channel, root.ts, len(calls))
    return root.ts, [m.ts for m in found]


def unowned_deal(stack: Stack, key: str, name: str) -> int:
    return stack.crm.create("deal", {"name": name, "company_id": stack.ids["globex"], "amount": "1000.00",
                                     "currency": "EUR", "stage": "proposal", "close_date": "2026-12-20"},
                            idempotency_key=key).record.id


# -- the door --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lobby_card(stack: Stack) -> str:
    """A low-risk card in #lobby (any member may approve it), then the outsiders join #lobby."""
    _, (card_ts,) = propose(stack, ALICE, LOBBY, ("log_activity", {"kind": "call", "subject": "Lobby call",
                                                                   "company_id": stack.ids["globex"]}))
    for user, _ in OUTSIDERS.values():
        stack.emulator.join_channel(LOBBY, user.id)
    return card_ts


class NoRefusalLine(AssertionError):
    """The refused person was not told so (the door's one polite line is missing)."""


ENTRIES: dict[str, tuple[str, Callable[[Stack, str, str], Any]]] = {
    # entry -> (the `entry` the audit records, what the person does)
    "mention": ("app_mention", lambda s, u, card: s.emulator.user_message(u, LOBBY, "<@UBOT> who is the contact at Acme?")),
    "dm": ("message", lambda s, u, card: s.emulator.user_message(u, dm_id(u), "list the deals of Acme")),
    "/crm find": ("command", lambda s, u, card: s.emulator.slash_command(u, LOBBY, "find Müller")),
    "/crm question": ("command", lambda s, u, card: s.emulator.slash_command(u, LOBBY, "what is Acme's phone?")),
    "Approve click": ("block_actions", lambda s, u, card: s.emulator.click(u, channel=LOBBY, message_ts=card,
                                                                           action_id=APPROVE)),
    "/crm digest subscribe": ("command", lambda s, u, card: s.emulator.slash_command(
        u, LOBBY, "digest subscribe all weekdays 09:00 Europe/Berlin")),
}


@pytest.mark.parametrize("who, entry", [
    pytest.param(who, entry, id=f"{who}-{entry}")
    for who in OUTSIDERS for entry in ENTRIES])
def test_outsiders_are_refused_at_the_door_with_one_line_and_no_model_call(stack: Stack, lobby_card: str,
                                                                           who: str, entry: str) -> None:
    user, reason = OUTSIDERS[who][0].id, OUTSIDERS[who][1]
    audited_as, act = ENTRIES[entry]
    seen, calls, audited = len(stack.emulator.ephemerals(user)), len(stack.script.bodies), len(refusals(stack.engine, user))
    pid = proposal_id(stack.emulator.message(LOBBY, lobby_card))

    act(stack, user, lobby_card)
    event = eventually(lambda: refusals(stack.engine, user)[audited:], "the access.refused audit event")[0]
    assert event == {"reason": reason, "entry": audited_as}
    fence(stack)

    assert len(stack.script.bodies) == calls + 1, "the model was asked on behalf of a refused person"
    assert proposal_row(stack.engine, pid).status == "pending"  # nobody outside approved the lobby card
    try:
        told(stack.emulator, user, REFUSAL, after=seen, timeout=5)
    except AssertionError as missing:
        raise NoRefusalLine(f"{who} was refused on {entry} but not told so") from missing
    new = stack.emulator.ephemerals(user)[seen:]
    assert [REFUSAL in shown(x) for x in new] == [True], f"expected one line, got {[shown(x) for x in new]}"
    assert not any(v in shown(x) for x in new for v in PLANTED.values())


@pytest.mark.parametrize("who", list(OUTSIDERS))
def test_an_outsiders_reply_in_the_bots_thread_reaches_no_model(stack: Stack, lobby_card: str, who: str) -> None:
    user = OUTSIDERS[who][0].id
    thread = stack.emulator.message(LOBBY, lobby_card)
    assert thread is not None and thread.thread_ts
    calls, seen = len(stack.script.bodies), len(stack.emulator.ephemerals(user))
    audited = len(refusals(stack.engine, user))
    posted = stack.emulator.user_message(user, LOBBY, "and what is Zoë's phone number?", thread_ts=thread.thread_ts)
    fence(stack)
    assert len(stack.script.bodies) == calls + 1, "the model was asked on behalf of a refused person"
    assert [m.text for m in stack.emulator.messages(LOBBY, thread_ts=thread.thread_ts)
            if m.bot_id and float(m.ts) > float(posted.ts)] == []  # not answered in the thread
    # written to the bot, so refused with the one line, and audited
    told(stack.emulator, user, REFUSAL, after=seen, timeout=5)
    assert refusals(stack.engine, user)[audited:][0]["entry"] == "message"


def test_an_externally_shared_channel_is_refused_even_to_a_manager(stack: Stack) -> None:
    calls, audited = len(stack.script.bodies), len(refusals(stack.engine, ALICE))
    seen = len(stack.emulator.ephemerals(ALICE))
    stack.emulator.slash_command(ALICE, SHARED, "find Müller")
    stack.emulator.slash_command(ALICE, SHARED, "digest subscribe all weekdays 09:00 Europe/Berlin")
    stack.emulator.user_message(ALICE, SHARED, "<@UBOT> what are Acme's open deals?")
    events = eventually(lambda: (found := refusals(stack.engine, ALICE)[audited:]) and len(found) >= 3 and found,
                        "three access.refused events")
    assert sorted(e["entry"] for e in events) == ["app_mention", "command", "command"]
    assert {e["reason"] for e in events} == {"externally shared channel"}
    fence(stack, SALES)
    assert len(stack.script.bodies) == calls + 1, "the model was asked in a shared channel"
    assert [m for m in stack.emulator.messages(SHARED) if m.bot_id] == []
    lines = [shown(x) for x in stack.emulator.ephemerals(ALICE)[seen:]]
    assert not any(v in line for line in lines for v in PLANTED.values())
    assert sum(REFUSAL in line for line in lines) >= 2  # both commands were answered with the line
    try:
        stack.emulator.wait_for(lambda e: sum(REFUSAL in shown(x) for x in e.ephemerals(ALICE)[seen:]) == 3, 5,
                                what="the mention's refusal line")
    except AssertionError as missing:
        raise NoRefusalLine("the mention in the shared channel was refused but Alice was not told so") from missing


# -- four eyes -------------------------------------------------------------------------------------


def test_a_person_in_no_group_cannot_approve_their_own_deal_change(stack: Stack) -> None:
    deal = unowned_deal(stack, "trust-dan-deal", "Globex pilot")
    _, (card_ts,) = propose(stack, DAN, DANS, ("update_deal", {"deal_id": deal, "amount": "1500"}))
    pid = proposal_id(stack.emulator.message(DANS, card_ts))
    seen = len(stack.emulator.ephemerals(DAN))

    stack.emulator.click(DAN, channel=DANS, message_ts=card_ts, action_id=APPROVE)
    told(stack.emulator, DAN, "medium-risk", after=seen)
    assert proposal_row(stack.engine, pid).status == "pending"
    assert "approval.refused" in audit_kinds(stack.engine, pid, DAN)
    assert str(stack.crm.get("deal", deal).amount) == "1000.00"

    stack.emulator.click(ALICE, channel=DANS, message_ts=card_ts, action_id=APPROVE)  # a manager: four eyes
    wait_for_card_text(stack.emulator, DANS, card_ts, "Executed")
    assert str(stack.crm.get("deal", deal).amount) == "1500.00"


def test_the_owner_of_a_deal_cannot_approve_their_own_change_to_it(stack: Stack) -> None:
    deal = stack.crm.get("deal", stack.ids["deal"])
    assert deal is not None and deal.owner == BOB
    _, (card_ts,) = propose(stack, BOB, DEALS, ("update_deal", {"deal_id": deal.id, "close_date": "2026-12-15"}))
    pid = proposal_id(stack.emulator.message(DEALS, card_ts))
    seen = len(stack.emulator.ephemerals(BOB))

    stack.emulator.click(BOB, channel=DEALS, message_ts=card_ts, action_id=APPROVE)  # record_owner, but the requester
    told(stack.emulator, BOB, "someone other than its requester", after=seen)
    assert proposal_row(stack.engine, pid).status == "pending"
    assert str(stack.crm.get("deal", deal.id).close_date) == "2026-11-30"

    stack.emulator.click(ALICE, channel=DEALS, message_ts=card_ts, action_id=APPROVE)
    wait_for_card_text(stack.emulator, DEALS, card_ts, "Executed")
    assert str(stack.crm.get("deal", deal.id).close_date) == "2026-12-15"


# -- visibility before the model -------------------------------------------------------------------


def reads_of_bobs_deal(stack: Stack) -> tuple[tuple[str, dict[str, object]], ...]:
    deal, zoe, acme = stack.ids["deal"], stack.ids["zoe"], stack.ids["acme"]
    return (("get_deal", {"deal_id": deal}), ("get_contact", {"contact_id": zoe}),
            ("list_deals", {"owner": BOB, "open_only": False}), ("list_activities", {"deal_id": deal}),
            ("list_deals", {"company_id": acme, "open_only": False}), ("search_contacts", {"text": "Support"}))


def ask_about_bobs_deal(stack: Stack, user: str) -> list[dict[str, Any]]:
    """`user` asks (in their DM) about deal 1 and every tool that could show it runs; returns the model requests."""
    before = len(stack.script.bodies)
    stack.script.load(tool_calls(*reads_of_bobs_deal(stack)), text("Here is what I can tell you."))
    posted = stack.emulator.user_message(user, dm_id(user), f"how is deal {stack.ids['deal']} going?")
    stack.emulator.wait_for(lambda e: any("Here is what I can tell you" in shown(m)
                                          for m in e.messages(dm_id(user), thread_ts=posted.ts) if m.bot_id),
                            20, what=f"the answer to {user}")
    return stack.script.bodies[before:]


def tool_results(bodies: list[dict[str, Any]]) -> list[Any]:
    """What the read tools returned, as the model got it in its last request."""
    return [json.loads(m["content"])["result"] for m in bodies[-1]["messages"] if m["role"] == "tool"]


CANARIES = ("Acme renewal 2027", "48500", "48,500", PLANTED["email"], PLANTED["phone"], "Head of Support",
            "Billing details", PLANTED["iban"], PLANTED["card"])


def test_a_rep_who_sees_only_their_own_records_gives_the_model_nothing_of_another_reps_deal(stack: Stack) -> None:
    owners = ask_about_bobs_deal(stack, BOB)
    owners_view = json.dumps(owners, ensure_ascii=False)
    assert "Acme renewal 2027" in owners_view and "48500" in owners_view  # the canary is there to be seen

    carols = ask_about_bobs_deal(stack, CAROL)  # of the sales group, but her role sees only her own records
    assert [c for c in CANARIES if c in json.dumps(carols, ensure_ascii=False)] == []
    deal, zoe = stack.ids["deal"], stack.ids["zoe"]
    assert tool_results(carols) == [  # exactly as for records that do not exist
        {"error": f"deal {deal} was not found or is not visible to you"},
        {"error": f"contact {zoe} was not found or is not visible to you"}, [], [], [], []]


def test_a_reps_crm_find_shows_nothing_of_another_reps_deal(stack: Stack) -> None:
    """The attack: Carol, whose role sees only her own records, searches for Bob's contact, her
    company and deal by every word she might know; she gets what she would for records that do not
    exist. Bob, searching the same, sees his deal (so the canary can be seen)."""
    def find(user: str, query: str) -> str:
        before = len(stack.emulator.ephemerals(user))
        stack.emulator.slash_command(user, SALES, f"find {query}")
        found = stack.emulator.wait_for(lambda e: e.ephemerals(user)[before:], 20, what=f"{user}'s /crm find")
        return json.dumps([(e.text, e.blocks) for e in found], ensure_ascii=False)

    bobs = find(BOB, "Müller")
    assert "Acme renewal 2027" in bobs and "48,500 EUR" in bobs and f"deal {stack.ids['deal']}" in bobs
    for query in ("Müller", "Zoë", "Acme", PLANTED["email"]):
        carols = find(CAROL, query)
        assert "No contacts or companies match" in carols, query
        echoed = carols.replace(query, "")  # what she typed comes back in "No … match “<query>”"
        assert [c for c in (*CANARIES, "Acme Logistics") if c in echoed] == [], query
        assert f"deal {stack.ids['deal']}" not in carols and f"contact {stack.ids['zoe']}" not in carols


# -- where answers go ------------------------------------------------------------------------------


def test_an_answer_using_a_record_some_member_may_not_see_goes_to_the_asker_privately(stack: Stack) -> None:
    zoe = stack.ids["zoe"]
    stack.script.load(tool_calls(("get_contact", {"contact_id": zoe})),
                      lambda body: text(" ".join(PLACEHOLDER.findall(json.dumps(body["messages"][-1]))) +
                                        " is Head of Support at Acme."))
    dm_before = {m.ts for m in stack.emulator.messages(dm_id(BOB))}
    posted = stack.emulator.user_message(BOB, GENERAL, f"<@UBOT> who is contact {zoe}?")  # Zed and Carol read here

    private = stack.emulator.wait_for(
        lambda e: next((m for m in e.messages(dm_id(BOB)) if m.bot_id and m.ts not in dm_before
                        and PLANTED["name"] in shown(m)), None), 20, what="the answer in Bob's DM")
    assert PLANTED["email"] in shown(private)
    replies = stack.emulator.wait_for(
        lambda e: (found := [m for m in e.messages(GENERAL, thread_ts=posted.ts) if m.bot_id])
        and "privately" in shown(found[-1]) and found, 20, what="the note in the thread")
    assert len(replies) == 1 and f"<@{BOB}>" in replies[0].text
    everything_in_general = " ".join(shown(m) for m in stack.emulator.messages(GENERAL) if m.bot_id)
    assert not [v for v in (*PLANTED.values(), "Head of Support") if v in everything_in_general]


# -- edits -----------------------------------------------------------------------------------------


def forge(emulator: EmulatorThread, view_id: str, *fields: str) -> None:
    """Add inputs the bot never offered to an open modal, as a hand-made submission would carry them."""
    view = emulator.view(view_id)
    assert view is not None
    template = next(b for b in view.blocks if b.get("type") == "input" and b["element"]["type"] == "plain_text_input")
    extra = [{**json.loads(json.dumps(template)), "block_id": name, "label": {"type": "plain_text", "text": name}}
             for name in fields]
    keys = ("type", "callback_id", "private_metadata", "title", "submit", "close", "notify_on_close", "external_id")
    body = {k: v for k, v in view.raw.items() if k in keys}
    WebClient(token=emulator.config.bot_token, base_url=emulator.api_url).views_update(
        view_id=view_id, view={**body, "blocks": [*view.blocks, *extra]})


@pytest.mark.parametrize("field, value", [("company_id", "globex"), ("deal_id", "other")],
                         ids=["an extra field", "another record id"])
def test_an_edit_submission_with_a_field_the_form_did_not_offer_is_refused(stack: Stack, field: str,
                                                                           value: str) -> None:
    deal = stack.crm.get("deal", stack.ids["deal"])
    assert deal is not None
    other = unowned_deal(stack, f"trust-edit-{field}", f"Edit target {field}")
    forged = str(stack.ids["globex"] if value == "globex" else other)
    root, (card_ts,) = propose(stack, BOB, DEALS, ("update_deal", {"deal_id": deal.id, "stage": "negotiation"}))
    pid = proposal_id(stack.emulator.message(DEALS, card_ts))
    before = proposal_row(stack.engine, pid)

    stack.emulator.click(BOB, channel=DEALS, message_ts=card_ts, action_id=EDIT)
    view = stack.emulator.wait_for(lambda e: (v := e.open_views(BOB)) and v[-1].private_metadata == pid and v[-1],
                                   20, what="the edit modal")
    assert field not in {b.get("block_id") for b in view.blocks}  # the form never offers it
    forge(stack.emulator, view.id, field)
    stack.emulator.submit_view(BOB, view.id, {field: {"value": forged}, "stage": {"value": "qualified"}})

    refused = stack.emulator.view(view.id)
    assert refused is not None and refused.is_open and refused.errors, "the forged submission was accepted"
    assert field in " ".join(refused.errors.values()) or field in refused.errors
    fence(stack, DEALS)
    assert proposal_row(stack.engine, pid) == before  # still pending, same record, same arguments
    assert len(wait_for_cards(stack.emulator, DEALS, root)) == 1  # no new version posted
    assert "Edited" not in text_of(stack.emulator.message(DEALS, card_ts))
    with stack.engine.connect() as conn:
        assert conn.scalars(select(Proposal.id).where(Proposal.record_id == other)).all() == []
    assert stack.crm.get("deal", other).stage == "proposal"


# -- membership at the moment of the click ---------------------------------------------------------


def test_a_person_removed_from_a_channel_cannot_approve_there_a_moment_later(stack: Stack) -> None:
    _, (card_ts,) = propose(stack, ALICE, DESK, ("log_activity", {"kind": "call", "subject": "Desk call",
                                                                  "company_id": stack.ids["globex"]}))
    pid = proposal_id(stack.emulator.message(DESK, card_ts))
    stack.emulator.home_opened(BOB)  # while a member, Bob's App Home offers the card
    stack.emulator.wait_for(lambda e: (h := e.home(BOB)) and pid in json.dumps(h.blocks), 20,
                            what="the card on Bob's App Home")

    stack.emulator.leave_channel(DESK, BOB)  # Slack sends member_left_channel (the manifest asks for it)
    stack.emulator.click_in_home(BOB, APPROVE, value=pid)  # the App Home he opened before still offers it
    eventually(lambda: "approval.refused" in audit_kinds(stack.engine, pid, BOB), "Bob's approval refused")
    assert proposal_row(stack.engine, pid).status == "pending"

    stack.emulator.click(CAROL, channel=DESK, message_ts=card_ts, action_id=APPROVE)  # still a member
    wait_for_card_text(stack.emulator, DESK, card_ts, "Executed")


# -- DM proposals stay the requester's -------------------------------------------------------------


def test_dm_proposals_do_not_appear_in_other_peoples_pending_lists_or_app_home(stack: Stack) -> None:
    deal = stack.ids["deal"]
    stack.script.load(tool_calls(("update_deal", {"deal_id": deal, "name": "Acme renewal 2027 (DM)"})),
                      text("Proposed in the DM."))
    posted = stack.emulator.user_message(BOB, dm_id(BOB), "rename my deal")
    (dm_card,) = wait_for_cards(stack.emulator, dm_id(BOB), posted.ts)
    dm_pid = proposal_id(dm_card)
    _, (card_ts,) = propose(stack, BOB, DEALS, ("update_deal", {"deal_id": deal, "name": "Acme renewal 2027 (channel)"}))
    channel_pid = proposal_id(stack.emulator.message(DEALS, card_ts))

    seen = len(stack.emulator.ephemerals(ALICE))
    stack.emulator.slash_command(ALICE, DEALS, "pending")
    listed = told(stack.emulator, ALICE, channel_pid, after=seen)  # a manager may approve Bob's channel proposal
    assert dm_pid not in shown(listed) and "(DM)" not in shown(listed)

    stack.emulator.home_opened(ALICE)
    home = stack.emulator.wait_for(lambda e: (h := e.home(ALICE)) and channel_pid in json.dumps(h.blocks) and h, 20,
                                   what="Alice's App Home listing the channel proposal")
    assert dm_pid not in json.dumps(home.blocks) and "(DM)" not in json.dumps(home.blocks, ensure_ascii=False)

    stack.emulator.click_in_home(ALICE, APPROVE, value=dm_pid)  # the id guessed or copied from elsewhere
    eventually(lambda: "approval.refused" in audit_kinds(stack.engine, dm_pid, ALICE), "Alice's approval refused")
    assert proposal_row(stack.engine, dm_pid).status == "pending"
    assert stack.crm.get("deal", deal).name == "Acme renewal 2027"


# -- copied proposal ids ---------------------------------------------------------------------------


def test_an_approve_click_carrying_a_copied_id_names_nothing_of_the_proposal(stack: Stack) -> None:
    """The attack: Carol is not in #deals. She clicks Approve on a card in #sales with the button's
    value swapped for the id of a card in #deals. She is refused, and her answer does not name the
    proposal (its summary names the deal); nothing is decided."""
    deal = unowned_deal(stack, "trust-copied-id", "Initech takeover")
    _, (deals_card,) = propose(stack, BOB, DEALS, ("update_deal", {"deal_id": deal, "stage": "negotiation"}))
    copied = proposal_id(stack.emulator.message(DEALS, deals_card))
    _, (sales_card,) = propose(stack, ALICE, SALES, ("log_activity", {"kind": "call", "subject": "Sales call",
                                                                      "company_id": stack.ids["globex"]}))
    seen = len(stack.emulator.ephemerals(CAROL))

    stack.emulator.click(CAROL, channel=SALES, message_ts=sales_card, action_id=APPROVE, value=copied)
    answer = told(stack.emulator, CAROL, "only people in the conversation", after=seen)
    assert "Initech" not in shown(answer) and "negotiation" not in shown(answer), shown(answer)
    assert proposal_row(stack.engine, copied).status == "pending"
    assert "approval.refused" in audit_kinds(stack.engine, copied, CAROL)
