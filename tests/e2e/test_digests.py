"""Digests end to end: the real Bolt app over Socket Mode against the emulator, with a clock the test moves.

The bot runs in this process (`run_slack`, as `python -m bot run` does) so the scheduler's clock can be
injected: a channel subscribes with `/crm digest subscribe`, the test moves the clock past the
slot, and the scheduler's next tick (every 0.2 s here) posts the digest exactly once. A click on
"Log follow-up" becomes a proposal card in the digest's thread, approved like any other.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import TypeVar
from datetime import datetime, timedelta
from pathlib import Path

from bot.config import load_settings
from bot.slack.blocks.cards import APPROVE
from bot.slack.blocks.digest import FOLLOW_UP
from bot.store.tables import utcnow
from bot.wiring import build_checked, build_digests, build_services, run_slack
from slack_emulator import EmulatorThread
from slack_emulator.records import PostedMessage
from tests.e2e.cards import proposal_id, wait_for_card_text, wait_for_cards
from tests.e2e.conftest import prepare_database

T = TypeVar("T")


async def until(read: Callable[[], T | None], what: str, timeout: float = 20.0) -> T:
    """Poll a database condition (the emulator's wait_for covers Slack-side state only)."""
    deadline = time.monotonic() + timeout
    while (value := await asyncio.to_thread(read)) is None or value is False:
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    return value


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def digests(emulator: EmulatorThread, name: str) -> list[PostedMessage]:
    return [m for m in emulator.messages("C0SALES") if m.bot_id and f"Digest: {name}" in json.dumps(m.blocks)]


def test_a_channel_subscribed_in_slack_gets_one_digest_per_slot(tmp_path: Path, emulator: EmulatorThread) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    engine, _crm, _ids = prepare_database(url, tmp_path / "kb")
    # Defaults (no [[digests]] of its own), and Alice a manager: managing digests is a manager's right.
    # Bob and Carol, the other members of #sales, are reps of one team: the digest shows their team's deals.
    (tmp_path / "app.toml").write_text('[people.groups]\nmanagers = ["U01ALICE"]\n'
                                       'sales = ["U01ALICE", "U02BOB", "U03CAROL"]\n\n'
                                       '[access.members]\nmanager = ["group:managers"]\n', encoding="utf-8")
    settings = load_settings(tmp_path / "app.toml", env={
        "DATABASE_URL": url, "BOT_KB__PATH": str(tmp_path / "kb"), "SLACK_BOT_TOKEN": emulator.config.bot_token,
        "SLACK_APP_TOKEN": emulator.config.app_token, "SLACK_API_URL": emulator.api_url,
        "BOT_SCHEDULER__TICK_SECONDS": "0.2"})
    # A month after the CRM was written, so its deals have gone quiet; 08:00 UTC, an hour before the slot.
    clock = Clock((utcnow() + timedelta(days=30)).replace(hour=8, minute=0, second=0, microsecond=0))
    services = build_services(settings, build_checked(settings), clock=clock)
    replica = build_digests(settings, services.components, services.approvals, clock=clock)  # posts nowhere

    async def main() -> None:
        stop = asyncio.Event()
        connections = len(emulator.connections())
        bot = asyncio.create_task(run_slack(settings, services, port=0, clock=clock, stop=stop))
        try:
            await asyncio.to_thread(emulator.wait_for, lambda e: len(e.connections()) > connections, 30,
                                    what="the bot to connect")
            # a rep may not subscribe a channel to digests
            await asyncio.to_thread(emulator.slash_command, "U02BOB", "C0SALES", "digest subscribe all hourly")
            await asyncio.to_thread(emulator.wait_for, lambda e: any(
                "needs a role with the digests right" in json.dumps(x.blocks or x.text) for x in e.ephemerals("U02BOB")),
                20, what="a rep's subscription refused")
            await asyncio.to_thread(emulator.slash_command, "U01ALICE", "C0SALES",
                                    "digest subscribe stale daily 09:00 UTC")
            await asyncio.to_thread(emulator.wait_for, lambda e: any(
                "subscribed this channel to the digest" in json.dumps(m.blocks or m.text) for m in e.messages("C0SALES")),
                20, what="the subscription to be confirmed in the channel")
            assert digests(emulator, "sales-stale") == []

            clock.now += timedelta(hours=1, minutes=1)  # 09:01: the slot has come
            (first,) = await asyncio.to_thread(emulator.wait_for, lambda e: digests(e, "sales-stale"), 20,
                                               what="the digest")
            assert "Stale deals" in json.dumps(first.blocks)
            clock.now += timedelta(days=1)  # the next day's slot: one more digest, not two
            await asyncio.to_thread(emulator.wait_for, lambda e: len(digests(e, "sales-stale")) >= 2, 20,
                                    what="the second day's digest")
            # One posted run per slot, and nothing left due: a second replica ticking now posts nothing.
            runs = await until(lambda: all(r.status != "claimed" for r in found) and found
                               if (found := replica.store.runs("sales-stale")) else None, "both runs finished")
            assert [(r.status, r.scheduled_for.hour, r.manual) for r in runs] == [("posted", 9, False)] * 2
            assert await replica.run_due() == []
            assert len(digests(emulator, "sales-stale")) == 2

            # The other /crm digest commands, from the digest's channel and from elsewhere.
            await asyncio.to_thread(emulator.slash_command, "U01ALICE", "C0SALES", "digest list")
            await asyncio.to_thread(emulator.wait_for, lambda e: any(
                "sales-stale" in json.dumps(x.blocks) and "posted" in json.dumps(x.blocks)
                for x in e.ephemerals("U01ALICE")), 20, what="the list")
            await asyncio.to_thread(emulator.slash_command, "U01ALICE", "C0GENERAL", "digest preview sales-stale")
            await asyncio.to_thread(emulator.wait_for, lambda e: any(
                "use this command there" in json.dumps(x.blocks or x.text) for x in e.ephemerals("U01ALICE")), 20,
                what="a preview from another channel refused")
            await asyncio.to_thread(emulator.slash_command, "U01ALICE", "C0SALES", "digest frobnicate")
            await asyncio.to_thread(emulator.wait_for, lambda e: any(
                "/crm digest subscribe" in json.dumps(x.blocks or x.text) for x in e.ephemerals("U01ALICE")), 20,
                what="the usage for an unknown digest command")
            await asyncio.to_thread(emulator.slash_command, "U01ALICE", "C0SALES", "digest run now sales-stale")
            await asyncio.to_thread(emulator.wait_for, lambda e: len(digests(e, "sales-stale")) == 3, 20,
                                    what="the digest run now")

            # "Log follow-up" on a stale deal: a proposal card in the digest's thread, approved once.
            await asyncio.to_thread(emulator.click, "U02BOB", channel="C0SALES", message_ts=first.ts, action_id=FOLLOW_UP)
            (card,) = await asyncio.to_thread(wait_for_cards, emulator, "C0SALES", first.ts)
            assert "Follow up on" in json.dumps(card.blocks)
            await asyncio.to_thread(emulator.click, "U02BOB", channel="C0SALES", message_ts=card.ts, action_id=APPROVE)
            await asyncio.to_thread(wait_for_card_text, emulator, "C0SALES", card.ts, "Executed")
            assert services.approvals.get(proposal_id(card)).status == "executed"  # type: ignore[union-attr]

            # The App Home lists the digests of the channels the user is in.
            await asyncio.to_thread(emulator.home_opened, "U01ALICE")
            await asyncio.to_thread(emulator.wait_for, lambda e: (home := e.home("U01ALICE")) is not None
                                    and "sales-stale" in json.dumps(home.blocks), 20, what="the digest in the App Home")
        finally:
            stop.set()
            await bot

    asyncio.run(main())
    engine.dispose()
