"""The emulator's agent surfaces, driven by the real slack_sdk client and its chat_stream helper:
statuses, suggested prompts and streams, with Slack's limits and errors."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import SlackEmulator

Body = Callable[[SlackEmulator, AsyncWebClient], Awaitable[None]]
TASK = {"type": "task_update", "id": "t1", "title": "Looking up deal 1", "status": "in_progress"}


def run(body: Body) -> None:
    async def main() -> None:
        async with SlackEmulator(bot_events=()) as emu:  # nobody listens: the messages just exist
            await body(emu, AsyncWebClient(token=emu.config.bot_token, base_url=emu.api_url))

    asyncio.run(main())


async def api_error(call: Awaitable[Any]) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    return str(caught.value.response["error"])


async def question(emu: SlackEmulator, channel: str = "C0SALES") -> str:
    return (await emu.user_message("U01ALICE", channel, "<@UBOT> hello")).ts


def test_a_status_shows_under_its_thread_until_the_app_replies() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        ts = await question(emu)
        await client.assistant_threads_setStatus(channel_id="C0SALES", thread_ts=ts, status="is working on it…",
                                                 loading_messages=["Looking up deal 1…"])
        assert emu.status("C0SALES", ts) == {"status": "is working on it…", "loading_messages": ["Looking up deal 1…"]}
        too_many = client.assistant_threads_setStatus(channel_id="C0SALES", thread_ts=ts, status="x",
                                                      loading_messages=[str(n) for n in range(11)])
        assert await api_error(too_many) == "invalid_arguments"
        await client.chat_postMessage(channel="C0SALES", thread_ts=ts, text="the answer")
        assert emu.status("C0SALES", ts) is None

    run(body)


@pytest.mark.parametrize(("thread_ts", "shown"), [(None, True), ("1.0", False)])
def test_suggested_prompts_show_only_when_set_without_a_thread(thread_ts: str | None, shown: bool) -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        prompts = [{"title": f"P{n}", "message": f"question {n}"} for n in range(4)]
        answer = await client.assistant_threads_setSuggestedPrompts(channel_id="D01ALICE", thread_ts=thread_ts,
                                                                    title="Try", prompts=prompts)
        assert answer["ok"]  # with a thread it answers ok and does nothing, as Slack's agent view does
        assert (emu.suggested_prompts("D01ALICE") == {"title": "Try", "prompts": prompts}) is shown
        five = client.assistant_threads_setSuggestedPrompts(channel_id="D01ALICE", prompts=prompts + prompts[:1])
        assert await api_error(five) == "invalid_arguments"

    run(body)


def test_a_stream_builds_its_message_and_timeline_and_refuses_calls_once_stopped() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        ts = await question(emu)
        streamer = await client.chat_stream(channel="C0SALES", thread_ts=ts, recipient_user_id="U01ALICE",
                                            recipient_team_id="T0EMU", task_display_mode="timeline")
        await streamer.append(chunks=[TASK])
        await streamer.append(chunks=[{**TASK, "status": "complete", "output": "found"},
                                      {"type": "markdown_text", "text": "Deal 1 is "}])
        await streamer.stop(markdown_text="in **negotiation**.", blocks=[{"type": "divider"}])
        message = emu.message("C0SALES", streamer.ts)
        assert message.text == "Deal 1 is in **negotiation**." and message.thread_ts == ts
        assert message.blocks == [{"type": "markdown", "text": message.text}, {"type": "divider"}]
        stream = emu.stream("C0SALES", streamer.ts)
        assert stream["state"] == "stopped"
        assert stream["tasks"] == [{"id": "t1", "title": "Looking up deal 1", "status": "complete", "output": "found"}]
        again = client.chat_appendStream(channel="C0SALES", ts=streamer.ts, markdown_text="more")
        assert await api_error(again) == "message_not_in_streaming_state"

    run(body)


@pytest.mark.parametrize(("args", "error"), [
    ({"channel": "C0SALES"}, "invalid_arguments"),  # a channel needs the recipient
    ({"channel": "D01ALICE", "chunks": [{"type": "task_update", "id": "t", "title": "x", "status": "done"}]},
     "invalid_chunks"),
    ({"channel": "D01ALICE", "markdown_text": "x" * 12_001}, "msg_too_long"),
])
def test_starting_a_stream_is_refused_as_slack_refuses_it(args: dict[str, Any], error: str) -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        ts = await question(emu, args["channel"])
        assert await api_error(client.chat_startStream(thread_ts=ts, **args)) == error

    run(body)


def test_an_expired_stream_refuses_appends_and_chat_update_replaces_it() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        ts = await question(emu, "D01ALICE")
        started = await client.chat_startStream(channel="D01ALICE", thread_ts=ts, chunks=[TASK])
        assert emu.expire_streams() == 1
        late = client.chat_stopStream(channel="D01ALICE", ts=started["ts"], markdown_text="late")
        assert await api_error(late) == "message_not_in_streaming_state"
        await client.chat_update(channel="D01ALICE", ts=started["ts"], text="the answer", blocks=[])
        assert emu.stream("D01ALICE", started["ts"]) is None  # an ordinary message from now on
        assert emu.message("D01ALICE", started["ts"]).text == "the answer"

    run(body)


def test_an_idle_stream_expires_after_the_idle_time() -> None:
    async def body(emu: SlackEmulator, client: AsyncWebClient) -> None:
        emu.stream_idle_seconds = 0.0
        ts = await question(emu, "D01ALICE")
        started = await client.chat_startStream(channel="D01ALICE", thread_ts=ts, markdown_text="Deal 1")
        idle = client.chat_appendStream(channel="D01ALICE", ts=started["ts"], markdown_text=" more")
        assert await api_error(idle) == "message_not_in_streaming_state"

    run(body)
