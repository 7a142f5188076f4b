"""Expiry end to end: a bot whose proposals expire after about a second updates the card by itself."""

from __future__ import annotations

from pathlib import Path

from bot.emulator import EmulatorThread
from bot.slack.blocks.cards import APPROVE
from tests.e2e.cards import text_of, wait_for_card_text, wait_for_cards
from tests.e2e.conftest import start_stack
from tests.e2e.harness import Script
from tests.fakes.model_server import text, tool_calls


def test_the_sweep_marks_expired_proposals_and_updates_their_cards(
        tmp_path: Path, emulator: EmulatorThread, script: tuple[Script, str]) -> None:
    stack = start_stack(tmp_path, emulator, script, socket_mode=True,
                        extra_env={"BOT_APPROVALS__EXPIRY_HOURS": "0.0004"})  # 1.4 s
    try:
        stack.script.load(tool_calls(("create_task", {"subject": "Expire me", "company_id": stack.ids["acme"], "due_date": "2026-12-01"})),
                          text("Proposed."))
        root = emulator.user_message("U02BOB", "C0SALES", "<@UBOT> remind me")
        (card,) = wait_for_cards(emulator, "C0SALES", root.ts)
        expired = wait_for_card_text(emulator, "C0SALES", card.ts, "Expired")
        assert APPROVE not in text_of(expired)
    finally:
        assert stack.bot.stop() == 0, stack.bot.output()
        stack.engine.dispose()
