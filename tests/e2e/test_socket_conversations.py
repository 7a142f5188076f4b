"""The mission through the real bot process in Socket Mode: questions, privacy, threads, duplicates."""

from __future__ import annotations

import json
from typing import Any

from slack_emulator.records import PostedMessage
from tests.e2e.conftest import Stack
from tests.e2e.harness import echo_placeholders, last_user_text
from tests.fakes.model_server import text, tool_calls
from tests.world import PLANTED, leaked

SALES = "C0SALES"


def thread(stack: Stack, ts: str) -> list[PostedMessage]:
    return stack.emulator.messages(SALES, thread_ts=ts)


def bot_replies(stack: Stack, ts: str) -> list[PostedMessage]:
    return [m for m in thread(stack, ts) if m.bot_id and m.ts != ts]


def answered(stack: Stack, ts: str, needle: str) -> Any:
    return stack.emulator.wait_for(
        lambda e: any(needle in json.dumps(m.blocks, ensure_ascii=False) for m in bot_replies(stack, ts)),
        20, what=f"an answer containing {needle!r} in thread {ts}")


def test_a_mention_with_personal_data_is_answered_with_real_names_and_the_model_sees_placeholders(
        socket_stack: Stack) -> None:
    stack, zoe = socket_stack, socket_stack.ids["zoe"]
    stack.script.load(
        lambda body: tool_calls(("get_contact", {"contact_id": zoe})),
        echo_placeholders("{0} ({1}) is Head of Support at Acme; her deal is in stage proposal."),
    )
    posted = stack.emulator.user_message("U02BOB", SALES, f"<@UBOT> what do we know about {PLANTED['name']}, "
                                                           f"{PLANTED['email']}?")
    answered(stack, posted.ts, PLANTED["name"])
    assert stack.script.used_up()
    assert not leaked(stack.script.raw()), "personal data reached the model"
    user_turn = last_user_text(stack.script.bodies[-2])
    assert "<PERSON_" in user_turn and "<EMAIL_ADDRESS_" in user_turn
    replies = bot_replies(stack, posted.ts)
    answer = json.dumps(replies[0].blocks, ensure_ascii=False)
    assert PLANTED["email"] in answer and f"Sources: {PLANTED['name']}" in answer  # the CRM record, named
    assert [c.ok for c in stack.emulator.calls("chat.stopStream")][-1:] == [True]  # streamed into the thread
    posts = stack.emulator.calls("chat.postMessage")
    assert all(c.args.get("unfurl_links") in (False, "false", "0", 0) for c in posts)


def test_a_reply_in_the_thread_continues_the_conversation(socket_stack: Stack) -> None:
    stack = socket_stack
    stack.script.load("Acme Logistics GmbH is the customer.")
    root = stack.emulator.user_message("U02BOB", SALES, "<@UBOT> which company is deal 1 with?")
    answered(stack, root.ts, "Acme Logistics")
    stack.script.load(lambda body: text(f"You asked {len(body['messages'])} messages in; one ticket is open."))
    stack.emulator.user_message("U02BOB", SALES, "and their open tickets?", thread_ts=root.ts)
    answered(stack, root.ts, "one ticket is open")
    follow_up = stack.script.bodies[-1]["messages"]
    contents = [m.get("content") or "" for m in follow_up]
    assert any("which company is deal 1 with" in c for c in contents)  # the first turn was replayed
    assert any("Acme Logistics GmbH is the customer" in c or "<ORGANIZATION_" in c for c in contents)


def test_redelivered_and_double_events_run_the_agent_once(socket_stack: Stack) -> None:
    stack = socket_stack
    stack.script.load("Only once.")
    posted = stack.emulator.user_message("U03CAROL", SALES, "<@UBOT> say it once")
    answered(stack, posted.ts, "Only once.")
    calls = len(stack.script.bodies)
    for delivery in posted.deliveries:  # app_mention and message, delivered again as Slack retries do
        stack.emulator.redeliver(delivery)
    stack.emulator.edit_message(SALES, posted.ts, "<@UBOT> say it twice")
    stack.emulator.delete_message(SALES, posted.ts)
    stack.emulator.bot_message(SALES, "<@UBOT> I am another bot")
    # A later request proves the earlier deliveries were all processed before it was answered.
    stack.script.load("Fence.")
    fence = stack.emulator.user_message("U03CAROL", SALES, "<@UBOT> fence")
    answered(stack, fence.ts, "Fence.")
    assert len(stack.script.bodies) == calls + 1
    assert len(bot_replies(stack, posted.ts)) == 1


def test_the_bots_own_messages_and_unknown_threads_are_ignored(socket_stack: Stack) -> None:
    stack = socket_stack
    other = stack.emulator.user_message("U01ALICE", SALES, "a thread the bot is not in")
    stack.emulator.user_message("U02BOB", SALES, "reply without mention", thread_ts=other.ts)
    stack.script.load("Fence two.")
    fence = stack.emulator.user_message("U03CAROL", SALES, "<@UBOT> fence two")
    answered(stack, fence.ts, "Fence two.")
    assert bot_replies(stack, other.ts) == []


def test_a_direct_message_is_answered_in_its_thread(socket_stack: Stack) -> None:
    stack = socket_stack
    stack.script.load("Hello from the DM.")
    posted = stack.emulator.user_message("U01ALICE", "D01ALICE", "hi there")
    stack.emulator.wait_for(lambda e: any("Hello from the DM." in json.dumps(m.blocks)
                                          for m in e.messages("D01ALICE", thread_ts=posted.ts) if m.bot_id),
                            20, what="the DM answer")


def test_a_dropped_connection_and_a_rate_limit_do_not_lose_the_answer(socket_stack: Stack) -> None:
    stack = socket_stack
    connections = len(stack.emulator.connections())
    stack.emulator.drop_socket()
    stack.emulator.wait_for(lambda e: len([c for c in e.connections() if c.closed_at is None]) >= 1
                            and len(e.connections()) > connections, 30, what="the bot to reconnect")
    stack.emulator.fail_next("chat.stopStream", status=429, retry_after=1)
    stack.script.load("Still here.")
    posted = stack.emulator.user_message("U02BOB", SALES, "<@UBOT> are you there?")
    answered(stack, posted.ts, "Still here.")
    limited = [c for c in stack.emulator.calls("chat.stopStream") if c.status == 429]
    assert limited, "the rate limit was not exercised"
