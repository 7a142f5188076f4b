"""Proposal cards end to end: refusal, exactly one execution, edit, reject, stale, approve all, expiry."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from bot.slack.blocks.cards import APPROVE, APPROVE_ALL, EDIT, REJECT
from bot.store.audit import SqlAuditLog
from slack_emulator import EmulatorThread
from tests.e2e.cards import proposal_id, text_of, wait_for_card_text, wait_for_cards
from tests.e2e.conftest import Stack, start_stack
from tests.e2e.harness import Script
from tests.fakes.model_server import text, tool_calls

SALES = "C0SALES"
# Carol sits in #sales but is not in the sales group: she may not approve medium-risk changes.
SALES_GROUP = {"BOT_APPROVALS__GROUPS__SALES": '["U01ALICE", "U02BOB"]'}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, emulator: EmulatorThread,
          script: tuple[Script, str]) -> Iterator[Stack]:
    emulator.default_mode = "socket"
    started = start_stack(tmp_path_factory.mktemp("approvals"), emulator, script, socket_mode=True,
                          extra_env=SALES_GROUP)
    yield started
    assert started.bot.stop() == 0, started.bot.output()
    started.engine.dispose()


def propose(stack: Stack, *calls: tuple[str, dict[str, object]], user: str = "U02BOB") -> tuple[str, list[str]]:
    """Ask for a change; returns the thread and the card ts of each proposal."""
    stack.script.load(tool_calls(*calls), text("I proposed it; it waits for approval."))
    root = stack.emulator.user_message(user, SALES, "<@UBOT> please make the change")
    found = wait_for_cards(stack.emulator, SALES, root.ts, len(calls))
    return root.ts, [m.ts for m in found]


def transitions(stack: Stack, pid: str, to: str) -> int:
    return sum(1 for e in SqlAuditLog(stack.engine).trail(pid) if e.kind == "proposal.transition" and e.to_status == to)


def test_unauthorised_click_is_refused_then_one_click_executes_once(stack: Stack) -> None:
    deal = stack.crm.get("deal", stack.ids["deal"])
    assert deal is not None and deal.stage == "proposal"
    _, (card_ts,) = propose(stack, ("update_deal", {"deal_id": deal.id, "stage": "negotiation"}))
    card = stack.emulator.message(SALES, card_ts)
    pid = proposal_id(card)
    assert "Proposal → Negotiation" in text_of(card) and stack.crm.get("deal", deal.id).stage == "proposal"

    stack.emulator.click("U03CAROL", channel=SALES, message_ts=card_ts, action_id=APPROVE)
    stack.emulator.wait_for(lambda e: any("may not approve medium-risk" in x.text for x in e.ephemerals("U03CAROL")),
                            20, what="Carol told she may not approve")
    assert stack.crm.get("deal", deal.id).stage == "proposal"
    assert any(e.kind == "approval.refused" and e.actor == "U03CAROL" for e in SqlAuditLog(stack.engine).trail(pid))

    barrier = threading.Barrier(2)

    def click(user: str) -> None:
        barrier.wait()
        stack.emulator.click(user, channel=SALES, message_ts=card_ts, action_id=APPROVE)

    # a double click by the manager (the requester, Bob, may not approve his own medium-risk change)
    clickers = [threading.Thread(target=click, args=(u,)) for u in ("U01ALICE", "U01ALICE")]
    for t in clickers:
        t.start()
    for t in clickers:
        t.join()
    executed = wait_for_card_text(stack.emulator, SALES, card_ts, "Executed")
    assert deal.name in text_of(executed) and APPROVE not in text_of(executed)
    after = stack.crm.get("deal", deal.id)
    assert after is not None and after.stage == "negotiation" and after.version == deal.version + 1
    assert transitions(stack, pid, "executing") == 1 and transitions(stack, pid, "executed") == 1
    stack.emulator.wait_for(lambda e: any("already" in x.text for x in e.ephemerals("U01ALICE")), 20,
                            what="the second click told")


def test_edit_opens_a_prefilled_modal_refuses_bad_input_and_posts_the_new_version(stack: Stack) -> None:
    deal = stack.crm.get("deal", stack.ids["deal"])
    assert deal is not None
    root, (card_ts,) = propose(stack, ("update_deal", {"deal_id": deal.id, "amount": "50000"}))
    old_id = proposal_id(stack.emulator.message(SALES, card_ts))
    stack.emulator.click("U02BOB", channel=SALES, message_ts=card_ts, action_id=EDIT)
    view = stack.emulator.wait_for(lambda e: e.open_views("U02BOB") and e.open_views("U02BOB")[-1], 20,
                                   what="the edit modal")
    amount = next(b for b in view.blocks if b.get("block_id") == "amount")
    assert amount["element"]["initial_value"] == "50000"

    stack.emulator.submit_view("U02BOB", view.id, {"amount": {"value": "-5"}})
    refused = stack.emulator.view(view.id)
    assert refused.is_open and "amount" in (refused.errors or {})

    stack.emulator.submit_view("U02BOB", view.id, {"amount": {"value": "61000"}})
    wait_for_card_text(stack.emulator, SALES, card_ts, "Edited")
    new_card = wait_for_cards(stack.emulator, SALES, root, 2)[-1]
    assert "61,000" in text_of(new_card) and proposal_id(new_card) != old_id
    assert stack.crm.get("deal", deal.id).amount == deal.amount  # nothing executed by editing


def test_reject_asks_for_a_reason_and_the_card_shows_it(stack: Stack) -> None:
    _, (card_ts,) = propose(stack, ("create_task", {"subject": "Call Acme back", "company_id": stack.ids["acme"], "due_date": "2026-12-01"}))
    stack.emulator.click("U02BOB", channel=SALES, message_ts=card_ts, action_id=REJECT)
    view = stack.emulator.wait_for(lambda e: e.open_views("U02BOB") and e.open_views("U02BOB")[-1], 20,
                                   what="the reject modal")
    stack.emulator.submit_view("U02BOB", view.id, {"reason": {"value": "already called them"}})
    card = wait_for_card_text(stack.emulator, SALES, card_ts, "Rejected")
    assert "already called them" in text_of(card) and APPROVE not in text_of(card)


def test_a_record_changed_since_the_proposal_is_not_written(stack: Stack) -> None:
    company = stack.crm.get("company", stack.ids["globex"])
    assert company is not None
    _, (card_ts,) = propose(stack, ("update_company", {"company_id": company.id, "employees": 900}))
    stack.crm.update("company", company.id, {"employees": 120}, expected_version=company.version,
                     idempotency_key="outside-edit")
    stack.emulator.click("U01ALICE", channel=SALES, message_ts=card_ts, action_id=APPROVE)
    card = wait_for_card_text(stack.emulator, SALES, card_ts, "Not applied")
    assert "(now 120)" in text_of(card)
    assert stack.crm.get("company", company.id).employees == 120


def test_approve_all_checks_and_executes_each_proposal(stack: Stack) -> None:
    acme = stack.ids["acme"]
    root, card_ts = propose(stack, ("log_activity", {"kind": "call", "subject": "Intro call", "company_id": acme}),
                            ("create_task", {"subject": "Send the offer", "company_id": acme, "due_date": "2026-12-01"}))
    together = stack.emulator.wait_for(
        lambda e: next((m for m in e.messages(SALES, thread_ts=root) if APPROVE_ALL in text_of(m)), None), 20,
        what="the Approve all message")
    stack.emulator.click("U02BOB", channel=SALES, message_ts=together.ts, action_id=APPROVE_ALL)
    for ts in card_ts:
        wait_for_card_text(stack.emulator, SALES, ts, "Executed")


def told(stack: Stack, root: str, needle: str) -> str:
    """The bot's message in the thread that tells the requester an outcome, containing needle."""
    found = stack.emulator.wait_for(
        lambda e: next((m for m in e.messages(SALES, thread_ts=root)
                        if m.bot_id and needle in text_of(m) and '"block_id": "card:' not in text_of(m)), None),
        20, what=f"the requester told {needle!r}")
    return text_of(found)


def test_a_stale_change_is_told_with_its_field_and_proposed_again(stack: Stack) -> None:
    """Two changes to one deal: the amount goes through, then a close date changed elsewhere makes
    the close-date proposal stale; Bob is told which field moved, and "Propose again" makes a new card."""
    deal = stack.crm.get("deal", stack.ids["deal"])
    assert deal is not None
    root, (amount_ts, close_ts) = propose(stack, ("update_deal", {"deal_id": deal.id, "amount": "51000"}),
                                          ("update_deal", {"deal_id": deal.id, "close_date": "2027-01-26"}))
    stack.emulator.click("U01ALICE", channel=SALES, message_ts=amount_ts, action_id=APPROVE)
    wait_for_card_text(stack.emulator, SALES, amount_ts, "Executed")
    assert "<@U02BOB>" in told(stack, root, "It is done")
    now = stack.crm.get("deal", deal.id)
    stack.crm.update("deal", deal.id, {"close_date": "2027-03-01"}, expected_version=now.version,  # type: ignore[union-attr]
                     idempotency_key="outside-close-date")
    stack.emulator.click("U01ALICE", channel=SALES, message_ts=close_ts, action_id=APPROVE)
    card = wait_for_card_text(stack.emulator, SALES, close_ts, "Propose again with current values")
    assert "changed from" in text_of(card) and "to Mon 1 Mar 2027" in text_of(card)
    assert "not applied" in told(stack, root, "to Mon 1 Mar 2027")

    stack.emulator.click("U02BOB", channel=SALES, message_ts=close_ts, action_id="proposal_propose_again")
    fresh = wait_for_cards(stack.emulator, SALES, root, 3)[-1]
    assert "1 Mar 2027" in text_of(fresh) and "26 Jan 2027" in text_of(fresh)  # from the current value to the one asked
    stack.emulator.click("U01ALICE", channel=SALES, message_ts=fresh.ts, action_id=APPROVE)
    wait_for_card_text(stack.emulator, SALES, fresh.ts, "Executed")
    after = stack.crm.get("deal", deal.id)
    assert after.close_date.isoformat() == "2027-01-26" and str(after.amount) == "51000.00"  # type: ignore[union-attr]


def test_an_executed_change_is_reverted_through_the_same_approval(stack: Stack) -> None:
    company = stack.crm.get("company", stack.ids["acme"])
    assert company is not None
    root, (card_ts,) = propose(stack, ("update_company", {"company_id": company.id, "industry": "Shipping"}))
    stack.emulator.click("U01ALICE", channel=SALES, message_ts=card_ts, action_id=APPROVE)
    wait_for_card_text(stack.emulator, SALES, card_ts, "Revert")
    assert stack.crm.get("company", company.id).industry == "Shipping"  # type: ignore[union-attr]
    # Carol is not in the conversation's approvers nor its requester: she is told so, in the thread.
    stack.emulator.click("U03CAROL", channel=SALES, message_ts=card_ts, action_id="proposal_revert")
    refusal = stack.emulator.wait_for(
        lambda e: next((x for x in e.ephemerals("U03CAROL") if "revert this change" in x.text), None), 20,
        what="Carol told she may not revert")
    assert refusal.thread_ts == root
    stack.emulator.click("U02BOB", channel=SALES, message_ts=card_ts, action_id="proposal_revert")
    revert = wait_for_cards(stack.emulator, SALES, root, 2)[-1]
    assert "Revert: " in text_of(revert) and "Shipping" in text_of(revert)
    assert stack.crm.get("company", company.id).industry == "Shipping"  # type: ignore[union-attr]  (nothing yet)
    stack.emulator.click("U01ALICE", channel=SALES, message_ts=revert.ts, action_id=APPROVE)
    wait_for_card_text(stack.emulator, SALES, revert.ts, "Executed")
    assert stack.crm.get("company", company.id).industry == company.industry  # type: ignore[union-attr]


def test_a_rejection_is_told_to_the_requester_with_the_reason(stack: Stack) -> None:
    deal = stack.crm.get("deal", stack.ids["deal"])
    root, (card_ts,) = propose(stack, ("update_deal", {"deal_id": deal.id, "stage": "qualified"}))  # type: ignore[union-attr]
    stack.emulator.click("U01ALICE", channel=SALES, message_ts=card_ts, action_id=REJECT)
    view = stack.emulator.wait_for(lambda e: e.open_views("U01ALICE") and e.open_views("U01ALICE")[-1], 20,
                                   what="the reject modal")
    stack.emulator.submit_view("U01ALICE", view.id, {"reason": {"value": "too early"}})
    message = told(stack, root, "rejected")
    assert "<@U02BOB>" in message and "<@U01ALICE> rejected" in message and "too early" in message


def test_the_edit_forms_record_search_and_submission_offer_only_what_the_editor_may_see(stack: Stack) -> None:
    """Zed (support) may decide on a low-risk change in #general but may not see Bob's contact Zoë:
    the search does not offer her, and a forged submission naming her is refused on the field."""
    general, globex, zoe = "C0GENERAL", stack.ids["globex"], stack.ids["zoe"]
    stack.script.load(tool_calls(("log_activity", {"kind": "call", "subject": "Check-in", "company_id": globex})),
                      text("I proposed logging the call."))
    root = stack.emulator.user_message("U01ALICE", general, "<@UBOT> log my check-in call with Globex")
    (card,) = wait_for_cards(stack.emulator, general, root.ts)
    assert "Log a call on Globex Retail" in text_of(card)

    stack.emulator.click("U09ZED", channel=general, message_ts=card.ts, action_id=EDIT)
    view = stack.emulator.wait_for(lambda e: e.open_views("U09ZED") and e.open_views("U09ZED")[-1], 20,
                                   what="Zed's edit modal")
    inputs = {b["block_id"]: b["element"]["type"] for b in view.blocks if b.get("type") == "input"}
    assert inputs["contact_id"] == "external_select" and inputs["occurred_at"] == "datetimepicker"
    assert stack.emulator.suggest("U09ZED", view.id, "contact_id", "Zo") == []  # Bob's contact: not his to see
    offered = stack.emulator.suggest("U09ZED", view.id, "contact_id", "Rob")
    assert [o["value"] for o in offered] == [str(stack.ids["bob"])] and "Robert Miller" in offered[0]["text"]["text"]

    forged = {"contact_id": {"record": {"type": "external_select", "selected_option": {"value": str(zoe)}}}}
    stack.emulator.submit_view("U09ZED", view.id, forged)
    refused = stack.emulator.view(view.id)
    assert refused.is_open and refused.errors == {
        "contact_id": "Choose another contact: that one is not there, or not yours to see."}

    stack.emulator.click("U01ALICE", channel=general, message_ts=card.ts, action_id=EDIT)
    mine = stack.emulator.wait_for(lambda e: e.open_views("U01ALICE") and e.open_views("U01ALICE")[-1], 20,
                                   what="Alice's edit modal")
    assert [o["value"] for o in stack.emulator.suggest("U01ALICE", mine.id, "contact_id", "Zo")] == [str(zoe)]


def test_an_owner_without_a_crm_user_is_refused_on_the_field(stack: Stack) -> None:
    deal = stack.crm.get("deal", stack.ids["deal"])
    assert deal is not None
    _, (card_ts,) = propose(stack, ("update_deal", {"deal_id": deal.id, "close_date": "2027-01-29"}))
    stack.emulator.click("U01ALICE", channel=SALES, message_ts=card_ts, action_id=EDIT)
    view = stack.emulator.wait_for(lambda e: e.open_views("U01ALICE") and e.open_views("U01ALICE")[-1], 20,
                                   what="the edit modal")
    stack.emulator.submit_view("U01ALICE", view.id, {"owner": {"value": "U09ZED"}, "close_date": {"value": "2027-02-15"}})
    refused = stack.emulator.view(view.id)
    assert refused.is_open and list(refused.errors) == ["owner"] and "has no CRM user" in refused.errors["owner"]
    stack.emulator.submit_view("U01ALICE", view.id, {"owner": {"value": "U01ALICE"}, "close_date": {"value": "2027-02-15"}})
    wait_for_card_text(stack.emulator, SALES, card_ts, "Edited")
    edited = stack.emulator.wait_for(
        lambda e: next((m for m in e.messages(SALES) if "Mon 15 Feb 2027" in text_of(m)), None), 20,
        what="the edited card")
    assert "Owner*: Bob Baker → Alice Archer" in text_of(edited)
    assert "Close date*: Fri 29 Jan 2027 → Mon 15 Feb 2027" in text_of(edited)
