"""The native status: set with loading messages, set again on long runs (with an injected sleep),
given up after the first refusal, guarded like every text the bot sends."""

from __future__ import annotations

import asyncio

from bot.slack.native_status import NativeStatus
from bot.slack.poster import GuardedClient
from tests.slack.fakes import FakeSlack


class GuardedFake(GuardedClient, FakeSlack):
    """FakeSlack behind the guard: what it records is what Slack would receive."""


def test_a_long_run_sets_the_status_again_each_refresh_until_stopped() -> None:
    slack = FakeSlack()

    async def run() -> None:
        ticks: asyncio.Queue[None] = asyncio.Queue()
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)
            await ticks.get()

        status = NativeStatus(slack, "C1", "5.0", refresh_seconds=60, sleep=sleep)
        assert await status.show(["Looking up deal 7…"])
        for n in (1, 2):  # two minutes pass in two refreshes
            while len(slept) < n:  # the refresher is waiting out its time
                await asyncio.sleep(0)
            ticks.put_nowait(None)
            while len(slack.made("assistant.threads.setStatus")) < n + 1:
                await asyncio.sleep(0)
        await status.stop()
        ticks.put_nowait(None)  # a refresh after stop() must not happen
        await asyncio.sleep(0)
        assert slept[:2] == [60, 60]

    asyncio.run(run())
    sets = slack.made("assistant.threads.setStatus")
    assert len(sets) == 3 and all(s["loading_messages"] == ["Looking up deal 7…"] for s in sets)
    assert all(s["thread_ts"] == "5.0" and s["channel_id"] == "C1" for s in sets)


def test_status_texts_and_prompts_are_guarded() -> None:
    slack = GuardedFake()

    async def run() -> None:
        await slack.assistant_threads_setStatus(channel_id="C1", thread_ts="5.0", status="<!channel> is working",
                                                loading_messages=["Searching for “<!here> https://evil.example/x”…"])
        await slack.assistant_threads_setSuggestedPrompts(channel_id="D1", prompts=[
            {"title": "Open https://evil.example/p", "message": "see www.evil.example/q"}])

    asyncio.run(run())
    sent = str(slack.calls)
    assert "<!" not in sent and "evil.example" not in sent
