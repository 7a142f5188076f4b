"""Limits through the real bot process: a person over their limit is refused with one line, the
model is not called, and `/crm usage` and the App Home show the counts the replicas share.

The person is put over the limit through the limits service itself, on the bot's database, with a
clock an hour ahead: the window it opens outlasts the test whatever the machine's speed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.config import LimitsSection
from bot.limits.service import Limits
from bot.store.counters import SqlCounters
from bot.store.tables import AuditEvent, SlackRequest
from slack_emulator import EmulatorThread
from tests.e2e.conftest import Stack, start_stack
from tests.e2e.harness import Script

SALES = "C0SALES"
LIMITS = LimitsSection(requests_per_minute=1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, emulator: EmulatorThread,
          script: tuple[Script, str]) -> Iterator[Stack]:
    emulator.default_mode = "socket"
    started = start_stack(tmp_path_factory.mktemp("limits"), emulator, script, socket_mode=True,
                          extra_env={"BOT_LIMITS__REQUESTS_PER_MINUTE": "1", "BOT_LIMITS__TOKENS_PER_DAY": "200000",
                                     "BOT_LIMITS__WORKSPACE_TOKENS_PER_DAY": "2000000"})
    yield started
    assert started.bot.stop() == 0, started.bot.output()
    started.engine.dispose()


def test_a_person_over_their_limit_is_refused_and_the_model_not_called(stack: Stack) -> None:
    def ahead() -> float:
        return time.time() + 3000

    assert Limits(SqlCounters(stack.engine, clock=ahead), LIMITS, clock=ahead).admit("U03CAROL") is None
    calls = len(stack.script.bodies)
    posted = stack.emulator.user_message("U03CAROL", SALES, "<@UBOT> how is the Acme deal going?")
    told = stack.emulator.wait_for(lambda e: next((x for x in e.ephemerals("U03CAROL") if "ask again" in x.text),
                                                  None), 20, what="the refusal")
    assert told.text.startswith("⏳ You have reached your limit of 1 request a minute; you can ask again at ")
    assert told.thread_ts == posted.ts and told.channel == SALES
    with stack.engine.connect() as conn:
        status = conn.scalar(select(SlackRequest.status).where(SlackRequest.key == f"{SALES}:{posted.ts}"))
    assert status == "refused"
    assert len(stack.script.bodies) == calls  # the model was never asked
    assert not [m for m in stack.emulator.messages(SALES, thread_ts=posted.ts) if m.bot_id]  # nothing public


def test_tokens_are_charged_and_shown_by_crm_usage_and_the_app_home(stack: Stack) -> None:
    stack.script.load("Acme Logistics is in negotiation.")
    posted = stack.emulator.user_message("U02BOB", SALES, "<@UBOT> how is the Acme deal going?")
    stack.emulator.wait_for(lambda e: any("negotiation" in json.dumps(m.blocks) for m in
                                          e.messages(SALES, thread_ts=posted.ts) if m.bot_id), 20, what="the answer")
    with stack.engine.connect() as conn:  # what the model server reported, as the audit log kept it
        calls = conn.scalars(select(AuditEvent.data).where(AuditEvent.kind == "model.call",
                                                           AuditEvent.actor == "U02BOB")).all()
    reported = sum(c["usage"]["prompt_tokens"] + c["usage"]["completion_tokens"] for c in calls)
    assert calls and reported > 0
    stack.emulator.slash_command("U02BOB", SALES, "usage")
    usage = stack.emulator.wait_for(lambda e: next((x for x in e.ephemerals("U02BOB") if "Your usage" in x.text),
                                                   None), 20, what="/crm usage")
    assert "Requests this minute: 1 of 1" in usage.text
    tokens = int(usage.text.split("Model tokens today: ")[1].split(" of ")[0].replace(",", ""))
    assert tokens == reported
    stack.emulator.home_opened("U02BOB")
    home = stack.emulator.wait_for(lambda e: (h := e.home("U02BOB")) and "Your usage" in json.dumps(h.blocks) and h,
                                   20, what="the App Home with the usage")
    assert f"Model tokens today: {tokens:,} of 200,000" in json.dumps(home.blocks, ensure_ascii=False)
