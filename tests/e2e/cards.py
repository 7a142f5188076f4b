"""Finding proposal cards in the emulator's messages, and reading what they say."""

from __future__ import annotations

import json

from bot.slack.blocks.cards import APPROVE
from slack_emulator import EmulatorThread
from slack_emulator.records import PostedMessage


def text_of(message: PostedMessage) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


def cards(emulator: EmulatorThread, channel: str, thread_ts: str) -> list[PostedMessage]:
    """Messages of the thread that are proposal cards (in any state)."""
    return [m for m in emulator.messages(channel, thread_ts=thread_ts)
            if m.bot_id and '"block_id": "card:' in text_of(m)]


def proposal_id(card: PostedMessage) -> str:
    for block in card.blocks or []:
        if block.get("type") == "actions":
            for element in block["elements"]:
                if element["action_id"] == APPROVE:
                    return str(element["value"])
    raise AssertionError(f"no Approve button on {card.ts}: {text_of(card)[:300]}")


def wait_for_cards(emulator: EmulatorThread, channel: str, thread_ts: str, count: int = 1) -> list[PostedMessage]:
    return emulator.wait_for(lambda e: (found := cards(e, channel, thread_ts)) and len(found) >= count and found,
                             20, what=f"{count} proposal card(s) in thread {thread_ts}")


def wait_for_card_text(emulator: EmulatorThread, channel: str, ts: str, needle: str) -> PostedMessage:
    return emulator.wait_for(lambda e: (m := e.message(channel, ts)) is not None and needle in text_of(m) and m,
                             20, what=f"card {ts} to say {needle!r}")
