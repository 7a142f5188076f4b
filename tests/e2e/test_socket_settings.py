"""Settings that change behaviour, end to end: a short expiry, and private answers to /crm."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bot.slack.blocks.cards import APPROVE
from slack_emulator import EmulatorThread
from tests.e2e.cards import text_of, wait_for_card_text, wait_for_cards
from tests.e2e.conftest import Stack, start_stack
from tests.e2e.harness import Script
from tests.fakes.model_server import text, tool_calls


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, emulator: EmulatorThread,
          script: tuple[Script, str]) -> Iterator[Stack]:
    started = start_stack(tmp_path_factory.mktemp("settings"), emulator, script, socket_mode=True, extra_env={
        "BOT_APPROVALS__EXPIRY_HOURS": "0.0004",  # 1.4 s
        "BOT_SLACK__COMMAND_ANSWERS": "ephemeral"})
    yield started
    assert started.bot.stop() == 0, started.bot.output()
    started.engine.dispose()


def test_the_sweep_marks_expired_proposals_and_updates_their_cards(stack: Stack) -> None:
    stack.script.load(tool_calls(("create_task", {"subject": "Expire me", "company_id": stack.ids["acme"],
                                                  "due_date": "2026-12-01"})), text("Proposed."))
    root = stack.emulator.user_message("U02BOB", "C0SALES", "<@UBOT> remind me")
    (card,) = wait_for_cards(stack.emulator, "C0SALES", root.ts)
    expired = wait_for_card_text(stack.emulator, "C0SALES", card.ts, "Expired")
    assert APPROVE not in text_of(expired)
    # Its requester is told, in the thread where they asked.
    stack.emulator.wait_for(lambda e: any("expired" in m.text and "<@U02BOB>" in text_of(m)
                                          for m in e.messages("C0SALES", thread_ts=root.ts) if m.ts != card.ts),
                            20, what="Bob told his proposal expired")


def test_private_answers_to_crm_questions_go_only_to_the_caller(stack: Stack) -> None:
    stack.script.load(tool_calls(("log_activity", {"kind": "note", "subject": "Private note",
                                                   "company_id": stack.ids["acme"]})), text("Only you see this."))
    before = len(stack.emulator.messages("C0SALES"))
    stack.emulator.slash_command("U01ALICE", "C0SALES", "note that Acme called")
    stack.emulator.wait_for(lambda e: any("Only you see this." in json.dumps(x.blocks, ensure_ascii=False)
                                          for x in e.ephemerals("U01ALICE")), 20, what="the private answer")
    card = stack.emulator.wait_for(lambda e: next((x for x in e.ephemerals("U01ALICE")
                                                   if APPROVE in json.dumps(x.blocks)), None), 20,
                                   what="the private proposal card")
    assert len(stack.emulator.messages("C0SALES")) == before  # nothing posted in the channel
    stack.emulator.click_in_ephemeral("U01ALICE", message_ts=card.ts, action_id=APPROVE)
    stack.emulator.wait_for(lambda e: any("Executed" in json.dumps(x.blocks, ensure_ascii=False)
                                          for x in e.ephemerals("U01ALICE")), 20, what="the card replaced in place")
