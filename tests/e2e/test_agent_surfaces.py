"""Slack's agent surfaces through the real bot process: the agent DM's suggested prompts, the
native status, answers streamed under a task timeline, a stream that expires mid-answer, personal
data kept out of every chunk, feedback recorded once and reported, and honest waiting.

The workspace runs the shipped app.toml with two overrides: the `rep` role sees only its own
records (Carol may not read Bob's contact Zoë), and a waiting request says so every second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.slack.answer_stream import to_markdown
from bot.slack.blocks.feedback import DISCLAIMER, FEEDBACK, FEEDBACK_VIEW
from bot.slack.mrkdwn import from_model
from bot.store.audit import SqlAuditLog
from bot.store.tables import AnswerFeedback
from slack_emulator import Channel, EmulatorThread
from slack_emulator.records import Call, PostedMessage
from tests.e2e.conftest import Stack, start_stack
from tests.e2e.harness import PLACEHOLDER, ROOT, Script
from tests.fakes.model_server import delay, text, tool_calls
from tests.world import PLANTED

ALICE, BOB, CAROL, ZED = "U01ALICE", "U02BOB", "U03CAROL", "U09ZED"
SALES = "C0SALES"
DEALS = "C0DEALS"  # Alice (a manager) and Bob: both may read Bob's records, so answers stay in the channel
STREAM_METHODS = ("chat.startStream", "chat.appendStream", "chat.stopStream")
SETTINGS = {"BOT_ACCESS__ROLES__REP__SEE": "own", "BOT_SLACK__WAITING_NOTE_SECONDS": "1"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, emulator: EmulatorThread,
          script: tuple[Script, str]) -> Iterator[Stack]:
    emulator.default_mode = "socket"
    emulator.add_channel(Channel(DEALS, "deals", (ALICE, BOB, "UBOT")))
    started = start_stack(tmp_path_factory.mktemp("surfaces"), emulator, script, socket_mode=True,
                          extra_env=SETTINGS)
    yield started
    assert started.bot.stop() == 0, started.bot.output()
    started.engine.dispose()


def calls_since(emulator: EmulatorThread, start: int, *methods: str) -> list[Call]:
    return [c for c in emulator.calls()[start:] if c.method in methods]


def chunks(calls: list[Call]) -> list[dict[str, Any]]:
    return [chunk for c in calls if c.method in STREAM_METHODS for chunk in c.args.get("chunks") or []]


def streamed_text(calls: list[Call]) -> str:
    return "".join(c.get("text", "") for c in chunks(calls) if c["type"] == "markdown_text")


def bot_replies(stack: Stack, channel: str, ts: str) -> list[PostedMessage]:
    return [m for m in stack.emulator.messages(channel, thread_ts=ts) if m.bot_id and m.ts != ts]


def stopped(stack: Stack, start: int) -> Call:
    """The first chat.stopStream call made after `start` that Slack accepted."""
    return stack.emulator.wait_for(
        lambda e: next((c for c in e.calls()[start:] if c.method == "chat.stopStream" and c.ok), None),
        20, what="the streamed answer to stop")


def first_person(body: dict[str, Any]) -> str:
    """The first person's placeholder the model was shown (in a tool result)."""
    return next(p for p in PLACEHOLDER.findall(json.dumps(body, ensure_ascii=False)) if p.startswith("<PERSON_"))


# -- the agent DM ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "dm", "own_deal"), [(BOB, "D02BOB", True), (ZED, "D09ZED", False)])
def test_opening_the_messages_tab_sets_four_prompts_without_a_thread(stack: Stack, user: str, dm: str,
                                                                    own_deal: bool) -> None:
    start = len(stack.emulator.calls())
    stack.emulator.home_opened(user, tab="messages")
    call = stack.emulator.wait_for(
        lambda e: next(iter(calls_since(e, start, "assistant.threads.setSuggestedPrompts")), None), 20,
        what="the suggested prompts")
    assert call.ok and call.args["channel_id"] == dm and "thread_ts" not in call.args
    prompts = call.args["prompts"]
    assert len(prompts) == 4 and all(p["title"] and p["message"] for p in prompts)
    # Bob owns the Acme renewal: his first prompt is about it; Zed owns nothing and sees none of it.
    assert ("Acme renewal 2027" in json.dumps(prompts)) is own_deal
    assert stack.emulator.suggested_prompts(dm)["prompts"] == prompts  # shown in the Messages tab
    assert not calls_since(stack.emulator, start, "views.publish")  # the Messages tab is not the Home tab


# -- a run: status, then a stream ------------------------------------------------------------------


def test_a_run_shows_the_status_then_streams_a_timeline_of_its_tool_calls_and_the_unmasked_answer(
        stack: Stack) -> None:
    deal, zoe = stack.ids["deal"], stack.ids["zoe"]
    stack.script.load(
        tool_calls(("get_deal", {"deal_id": deal}), ("get_contact", {"contact_id": zoe})),
        tool_calls(("list_activities", {"deal_id": deal})),
        lambda body: text(f"The renewal is with {first_person(body)}; next step: send the quote."),
    )
    start = len(stack.emulator.calls())
    posted = stack.emulator.user_message(BOB, DEALS, "<@UBOT> where does deal 1 stand?")
    stop = stopped(stack, start)
    calls = calls_since(stack.emulator, start, "assistant.threads.setStatus", *STREAM_METHODS, "chat.postMessage")
    methods = [c.method for c in calls]
    statuses = [c for c in calls if c.method == "assistant.threads.setStatus"]
    # Slack's own status first, in words, from the tool calls; then the stream.
    assert methods.index("assistant.threads.setStatus") < methods.index("chat.startStream")
    assert all(c.ok and c.args["thread_ts"] == posted.ts and c.args["channel_id"] == DEALS for c in statuses)
    loading = [m for c in statuses for m in c.args.get("loading_messages") or []]
    assert "Working on it…" in loading and f"Looking up deal {deal}…" in loading
    assert "chat.postMessage" not in methods  # no status message, nothing edited: the answer is not "(edited)"
    # In a channel the stream names its recipient.
    started = next(c for c in calls if c.method == "chat.startStream")
    assert started.args["recipient_user_id"] == BOB and started.args["recipient_team_id"]
    assert started.args["task_display_mode"] == "timeline"
    # The timeline: one task per tool call, started then finished, titled in words.
    tasks = [c for c in chunks(calls) if c["type"] == "task_update"]
    done = {t["title"]: t.get("output") for t in tasks if t["status"] == "complete"}
    assert done == {f"Looking up deal {deal}": "found", f"Reading contact {zoe}": "found",
                    f"Reading recent activities of deal {deal}": done.get(f"Reading recent activities of deal {deal}")}
    assert done[f"Reading recent activities of deal {deal}"].endswith(("activity found", "activities found"))
    assert {t["id"] for t in tasks if t["status"] == "in_progress"} == {t["id"] for t in tasks}
    timeline = stack.emulator.stream(DEALS, stop.args["ts"])
    assert timeline["state"] == "stopped" and len(timeline["tasks"]) == 3
    # The text is the unmasked answer, as it would have been posted.
    expected = to_markdown(from_model(f"The renewal is with {PLANTED['name']}; next step: send the quote.", ()))
    assert streamed_text(calls) == expected
    # Under it: sources, the disclaimer and the feedback buttons.
    assert not any("metadata" in c.args for c in calls)  # readable by the whole workspace: nothing there
    final = json.dumps(stop.args["blocks"], ensure_ascii=False)
    assert DISCLAIMER in final and FEEDBACK in final and "context_actions" in final
    (answer,) = bot_replies(stack, DEALS, posted.ts)
    assert PLANTED["name"] in answer.text and answer.raw.get("edited") is None
    assert stack.emulator.status(DEALS, posted.ts) is None  # the reply cleared the status


def test_a_stream_that_expires_mid_answer_falls_back_to_one_posted_answer(stack: Stack) -> None:
    def expire_then_answer(body: dict[str, Any]) -> Any:
        assert stack.emulator.expire_streams() == 1  # the timeline's stream goes idle, as Slack may decide
        return text("Deal 1 is in negotiation.")

    stack.script.load(tool_calls(("get_deal", {"deal_id": stack.ids["deal"]})), expire_then_answer)
    start = len(stack.emulator.calls())
    posted = stack.emulator.user_message(BOB, DEALS, "<@UBOT> stage of deal 1?")
    stack.emulator.wait_for(lambda e: any("Deal 1 is in negotiation." in m.text for m in bot_replies(stack, DEALS,
                                                                                                      posted.ts)),
                            20, what="the answer after the stream expired")
    refused = [c for c in calls_since(stack.emulator, start, *STREAM_METHODS) if not c.ok]
    assert refused and {c.response["error"] for c in refused} == {"message_not_in_streaming_state"}
    replies = bot_replies(stack, DEALS, posted.ts)
    assert len(replies) == 1  # the stream's message became the answer: nothing lost, nothing twice
    assert sum("Deal 1 is in negotiation." in json.dumps(m.blocks) for m in replies) == 1
    assert FEEDBACK in json.dumps(replies[0].blocks)


def test_personal_data_the_asker_may_not_see_never_appears_in_any_chunk_or_status(stack: Stack) -> None:
    zoe = stack.ids["zoe"]  # Bob's contact: Carol, a rep who sees only her own records, may not read her
    stack.script.load(
        tool_calls(("search_contacts", {"text": "Acme"}), ("get_contact", {"contact_id": zoe})),
        text("I could not find the head of support at Acme."),
    )
    start = len(stack.emulator.calls())
    posted = stack.emulator.user_message(CAROL, "D03CAROL", "who is the head of support at Acme?")
    stopped(stack, start)
    sent = calls_since(stack.emulator, start, "assistant.threads.setStatus", *STREAM_METHODS, "chat.postMessage",
                       "chat.update")
    shown = json.dumps([c.args for c in sent], ensure_ascii=False)
    for value in ("name", "first", "last", "email", "phone"):
        assert PLANTED[value] not in shown, f"{value} of a record Carol may not see was shown to her"
    outputs = [c.get("output") for c in chunks(sent) if c["type"] == "task_update" and c["status"] != "in_progress"]
    assert sorted(outputs) == ["no contacts found", "not found or not visible to you"]  # as if it did not exist
    assert "Searching contacts for “Acme”" in shown  # her DM: what she searched for may be quoted to her
    assert bot_replies(stack, "D03CAROL", posted.ts)


# -- feedback --------------------------------------------------------------------------------------


def test_feedback_is_recorded_once_on_a_double_click_with_a_comment_and_reported(stack: Stack) -> None:
    stack.script.load(tool_calls(("get_deal", {"deal_id": stack.ids["deal"]})), text("Deal 1 closes in December."))
    start = len(stack.emulator.calls())
    posted = stack.emulator.user_message(BOB, DEALS, "<@UBOT> when does deal 1 close?")
    answer_ts = stopped(stack, start).args["ts"]
    up = f"up {DEALS}:{posted.ts}"
    for _ in range(2):  # a double click
        assert stack.emulator.click(ALICE, channel=DEALS, message_ts=answer_ts, action_id=FEEDBACK, value=up).acked
    down = f"down {DEALS}:{posted.ts}"
    assert stack.emulator.click(BOB, channel=DEALS, message_ts=answer_ts, action_id=FEEDBACK, value=down).acked
    modal = stack.emulator.wait_for(lambda e: next((v for v in e.open_views(BOB) if v.callback_id == FEEDBACK_VIEW),
                                                   None), 20, what="the comment modal")
    assert stack.emulator.submit_view(BOB, modal.id, {"comment": {"value": "It missed the close date of "
                                                                           f"{PLANTED['email']}"}}).acked

    def rows() -> list[Any]:
        with stack.engine.connect() as conn:
            return list(conn.execute(select(AnswerFeedback.user, AnswerFeedback.rating, AnswerFeedback.comment)
                                     .where(AnswerFeedback.request_key == f"{DEALS}:{posted.ts}")
                                     .order_by(AnswerFeedback.user)))

    stack.emulator.wait_for(lambda e: any(r.comment for r in rows()), 20, what="the comment to be stored")
    got = rows()
    assert [(r.user, r.rating) for r in got] == [(ALICE, "up"), (BOB, "down")]  # Alice's double click: once
    assert PLANTED["email"] not in got[1].comment and "<EMAIL_ADDRESS_" in got[1].comment  # masked, like the audit
    conversation = f"slack:{DEALS}:{posted.ts}"
    kinds = [e.kind for e in SqlAuditLog(stack.engine).trail(conversation)]
    assert kinds.count("feedback") == 2 and kinds.count("feedback.comment") == 1
    env = {**os.environ, "DATABASE_URL": str(stack.engine.url.render_as_string(hide_password=False)),
           "BOT_ACCESS__ROLES__VIEWER__AUDIT": "true"}
    report = subprocess.run([sys.executable, "-m", "bot", "feedback", "report"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    assert any(line.split()[1:4] == ["get_deal", "1", "1"] for line in report.stdout.splitlines()[1:]), report.stdout
    audit = subprocess.run([sys.executable, "-m", "bot", "audit", conversation, "--user", ZED], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert audit.returncode == 0, audit.stderr
    assert "feedback" in audit.stdout and "rating" in audit.stdout


# -- honest waiting --------------------------------------------------------------------------------


def test_a_slow_model_is_reported_as_waiting_for_the_model_not_as_the_users_fault(stack: Stack) -> None:
    stack.script.load(delay(2.5, text("Here it is, at last.")))
    start = len(stack.emulator.calls())
    posted = stack.emulator.user_message(BOB, "D02BOB", "how many open deals do I have?")
    stopped(stack, start)
    loading = [m for c in calls_since(stack.emulator, start, "assistant.threads.setStatus")
               for m in c.args.get("loading_messages") or []]
    assert any(m.startswith("Still waiting for the model, ") for m in loading), loading
    assert "narrow" not in json.dumps([m.raw for m in bot_replies(stack, "D02BOB", posted.ts)])
