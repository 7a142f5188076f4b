"""`/crm` and the App Home through the real bot process."""

from __future__ import annotations

import json

from bot.slack.blocks.cards import APPROVE
from tests.e2e.cards import text_of, wait_for_card_text, wait_for_cards
from tests.e2e.conftest import Stack
from tests.fakes.model_server import text, tool_calls
from tests.world import PLANTED, leaked

SALES = "C0SALES"


def ephemeral_with(stack: Stack, user: str, needle: str) -> object:
    return stack.emulator.wait_for(
        lambda e: next((x for x in e.ephemerals(user) if needle in x.text + json.dumps(x.blocks, ensure_ascii=False)),
                       None), 20, what=f"an ephemeral to {user} containing {needle!r}")


def test_find_searches_the_crm_without_the_model(socket_stack: Stack) -> None:
    calls = len(socket_stack.script.bodies)
    delivery = socket_stack.emulator.slash_command("U02BOB", SALES, "find Müller")
    assert delivery.acked and delivery.latency is not None and delivery.latency < 3
    ephemeral_with(socket_stack, "U02BOB", PLANTED["name"])
    assert len(socket_stack.script.bodies) == calls


def test_help_lists_the_subcommands_and_one_word_is_a_question(socket_stack: Stack) -> None:
    stack = socket_stack
    stack.emulator.slash_command("U02BOB", SALES, "help")
    for subcommand in ("/crm find", "/crm pending", "/crm digest", "/crm help"):
        ephemeral_with(stack, "U02BOB", subcommand)
    stack.script.load(text("Acme has one open deal."))
    before = {m.ts for m in stack.emulator.messages(SALES)}
    stack.emulator.slash_command("U03CAROL", SALES, "Acme")  # once "Unknown command"; now the agent's
    root = stack.emulator.wait_for(
        lambda e: next((m for m in e.messages(SALES) if m.ts not in before and "asked:" in m.text), None), 20,
        what="the one-word question posted as a thread root")
    stack.emulator.wait_for(lambda e: any("one open deal" in text_of(m) for m in e.messages(SALES, thread_ts=root.ts)
                                          if m.ts != root.ts), 20, what="the answer in the thread")


def test_a_question_starts_a_thread_in_the_channel(socket_stack: Stack) -> None:
    stack = socket_stack
    stack.script.load(text("There is one open deal."))
    before = {m.ts for m in stack.emulator.messages(SALES)}
    stack.emulator.slash_command("U01ALICE", SALES, f"what is open for {PLANTED['email']}?")
    root = stack.emulator.wait_for(
        lambda e: next((m for m in e.messages(SALES) if m.ts not in before and m.thread_ts in (None, m.ts)
                        and "asked:" in m.text), None), 20, what="the question posted as a thread root")
    assert "<@U01ALICE>" in root.text
    stack.emulator.wait_for(lambda e: any("one open deal" in text_of(m) for m in e.messages(SALES, thread_ts=root.ts)
                                          if m.ts != root.ts), 20, what="the answer in the thread")
    assert not leaked(stack.script.raw())


def test_pending_lists_what_i_may_approve_and_the_home_shows_it(socket_stack: Stack) -> None:
    stack = socket_stack
    stack.script.load(tool_calls(("log_activity", {"kind": "call", "subject": "Home call",
                                                   "company_id": stack.ids["acme"]})), text("Proposed."))
    root = stack.emulator.user_message("U03CAROL", SALES, "<@UBOT> log a call with Acme")
    (card,) = wait_for_cards(stack.emulator, SALES, root.ts)
    stack.emulator.slash_command("U01ALICE", SALES, "pending")
    pending = ephemeral_with(stack, "U01ALICE", "Log call")  # low risk: any member of the channel may approve
    [opener] = [b["accessory"] for b in pending.blocks if b.get("accessory", {}).get("action_id") == "open_card"]
    assert opener["url"].endswith(f"/archives/{SALES}/p{card.ts.replace('.', '')}?thread_ts={root.ts}&cid={SALES}")
    assert stack.emulator.click_in_ephemeral("U01ALICE", message_ts=pending.ts, action_id="open_card").acked

    stack.emulator.home_opened("U01ALICE")
    home = stack.emulator.wait_for(lambda e: (h := e.home("U01ALICE")) and "Awaiting your decision" in json.dumps(
        h.blocks, ensure_ascii=False) and h, 20, what="Alice's App Home")
    assert "Log call" in json.dumps(home.blocks, ensure_ascii=False)
    stack.emulator.click_in_home("U01ALICE", APPROVE, value=next(
        e["value"] for b in home.blocks if b.get("type") == "actions" for e in b["elements"]
        if e["action_id"] == APPROVE and "Home call" in json.dumps(home.blocks)))
    wait_for_card_text(stack.emulator, SALES, card.ts, "Executed")

    stack.emulator.home_opened("U03CAROL")
    mine = stack.emulator.wait_for(lambda e: (h := e.home("U03CAROL")) and "log a call with Acme" in json.dumps(
        h.blocks, ensure_ascii=False) and h, 20, what="Carol's recent requests")
    assert "answered" in json.dumps(mine.blocks, ensure_ascii=False)
