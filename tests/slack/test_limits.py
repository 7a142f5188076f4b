"""Limits in Slack: a request over a limit is refused with one line before any model call, its
tokens are charged from the model's reported usage, and `/crm usage` and the App Home show use.

The real conversation path (build_slack_deps over a scripted model and a recording Slack client);
the counters in SQLite on a fake clock.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bot.agent.scripted import ScriptedModel, reply
from bot.config import LimitsSection
from bot.limits.service import Limits, Usage
from bot.slack.blocks.usage import usage_home_blocks, usage_text
from bot.slack.listeners import commands, events
from bot.store.counters import SqlCounters
from bot.store.requests import SqlRequests
from bot.wiring import build_slack_deps
from tests.slack.fakes import BOT_USER_ID, Calls, FakeSlack, NoDigests
from tests.world import make_world

NOW = datetime(2026, 12, 6, 14, 31, 20, tzinfo=timezone.utc).timestamp()


def clock() -> float:
    return NOW


def slack_world(engine: Engine, tmp_path: Path, model: ScriptedModel, **limits: Any) -> tuple[Any, FakeSlack, Limits]:
    world = make_world(engine, tmp_path, model)
    slack = FakeSlack()
    service = Limits(SqlCounters(engine, clock=clock), LimitsSection(**limits), clock=clock)
    deps = build_slack_deps(world.services.components.settings, world.services, slack, bot_user_id=BOT_USER_ID,
                            digests=NoDigests(), limits=service)  # type: ignore[arg-type]
    return deps, slack, service


def mention(ts: str, user: str = "U02BOB", channel: str = "C0SALES", **extra: Any) -> dict[str, Any]:
    return {"type": "app_mention", "channel": channel, "user": user, "ts": ts, "text": f"<@{BOT_USER_ID}> hi", **extra}


def test_over_the_limit_a_mention_is_refused_privately_and_the_model_not_called(sqlite_engine: Engine,
                                                                                tmp_path: Path) -> None:
    model = ScriptedModel([reply("Done.", tokens=40)])  # one call only: a second would fail the script
    deps, slack, service = slack_world(sqlite_engine, tmp_path, model, requests_per_minute=1)

    async def two_mentions() -> None:
        for ts in ("5.0", "6.0"):
            await events.on_mention(event=mention(ts), body={"event_id": f"Ev{ts}"}, context={"deps": deps})
            await deps.runner.drain(30)

    asyncio.run(two_mentions())
    model.assert_done()
    (told,) = slack.made("chat.postEphemeral")
    assert (told["channel"], told["user"], told["thread_ts"]) == ("C0SALES", "U02BOB", "6.0")
    assert told["text"] == ("⏳ You have reached your limit of 1 request a minute; "
                            "you can ask again at 14:33 UTC (in 1 min).")
    requests = SqlRequests(sqlite_engine)
    assert requests.get("C0SALES:5.0").status == "answered"  # type: ignore[union-attr]
    refused = requests.get("C0SALES:6.0")
    assert refused is not None and (refused.status, refused.error) == ("refused", told["text"])
    assert service.usage("U02BOB").tokens_today == 80  # 40 prompt + 40 completion, as the model reported


def test_a_redelivered_request_is_counted_once(sqlite_engine: Engine, tmp_path: Path) -> None:
    model = ScriptedModel([reply("Done.")])
    deps, slack, service = slack_world(sqlite_engine, tmp_path, model, requests_per_minute=5)

    async def twice() -> None:
        for _ in range(2):  # Slack's redelivery, or the message event of the same mention
            await events.on_mention(event=mention("5.0"), body={"event_id": "Ev1"}, context={"deps": deps})
        await deps.runner.drain(30)

    asyncio.run(twice())
    assert service.usage("U02BOB").requests_this_minute == 1


def test_out_of_tokens_a_dm_is_answered_with_the_line_in_the_dm(sqlite_engine: Engine, tmp_path: Path) -> None:
    model = ScriptedModel([])
    deps, slack, service = slack_world(sqlite_engine, tmp_path, model, tokens_per_day=100)
    service.charge("U02BOB", 100)
    event = {"type": "message", "channel_type": "im", "channel": "D0BOB", "user": "U02BOB", "ts": "7.0", "text": "hi"}

    async def dm() -> None:
        await events.on_message(event=event, body={"event_id": "Ev7"}, context={"deps": deps})
        await deps.runner.drain(30)

    asyncio.run(dm())
    (posted,) = slack.made("chat.postMessage")
    assert posted["channel"] == "D0BOB"
    assert posted["text"].startswith("⏳ You have used your 100 model tokens for today; you can ask again at 00:00 UTC")
    assert not slack.made("chat.postEphemeral")


def test_a_crm_question_over_the_limit_is_refused_through_its_response_url(sqlite_engine: Engine,
                                                                           tmp_path: Path) -> None:
    model = ScriptedModel([])
    deps, slack, service = slack_world(sqlite_engine, tmp_path, model, workspace_tokens_per_day=50)
    deps = type(deps)(**{**deps.__dict__, "settings": deps.settings.model_copy(update={
        "slack": deps.settings.slack.model_copy(update={"command_answers": "ephemeral"})})})
    service.charge("U01ALICE", 60)
    ack, respond = Calls(), Calls()
    command = {"user_id": "U02BOB", "channel_id": "C0SALES", "trigger_id": "t1", "text": "who is Acme?"}

    async def ask() -> None:
        await commands.on_crm(ack=ack, command=command, respond=respond, context={"deps": deps})
        await deps.runner.drain(30)

    asyncio.run(ask())
    (said,) = respond.calls
    assert said["text"].startswith("⏳ The workspace has used its 50 model tokens for today;")
    assert said["response_type"] == "ephemeral"


def test_a_crm_question_over_the_limit_is_not_posted_in_the_channel(sqlite_engine: Engine, tmp_path: Path) -> None:
    model = ScriptedModel([])
    deps, slack, service = slack_world(sqlite_engine, tmp_path, model, requests_per_minute=1)
    assert deps.settings.slack.command_answers == "in_channel"
    assert service.admit("U02BOB") is None
    ack, respond = Calls(), Calls()
    command = {"user_id": "U02BOB", "channel_id": "C0SALES", "trigger_id": "t9", "text": "who is Acme?"}

    async def ask() -> None:
        await commands.on_crm(ack=ack, command=command, respond=respond, context={"deps": deps})
        await deps.runner.drain(30)

    asyncio.run(ask())
    assert not slack.made("chat.postMessage") and not slack.made("chat.postEphemeral")
    (said,) = respond.calls
    assert said["text"].startswith("⏳ You have reached your limit of 1 request a minute;")
    refused = SqlRequests(sqlite_engine).get("command:t9")
    assert refused is not None and refused.status == "refused"


def test_crm_usage_shows_ones_own_use_and_is_not_a_request(sqlite_engine: Engine, tmp_path: Path) -> None:
    model = ScriptedModel([])
    deps, slack, service = slack_world(sqlite_engine, tmp_path, model)
    assert service.admit("U02BOB") is None
    service.charge("U02BOB", 12_345)
    service.charge("U01ALICE", 1_000)
    ack, respond = Calls(), Calls()

    async def usage() -> None:
        await commands.on_crm(ack=ack, command={"user_id": "U02BOB", "channel_id": "C0SALES", "text": "usage"},
                              respond=respond, context={"deps": deps})
        await deps.runner.drain(30)

    asyncio.run(usage())
    assert ack.calls == [{}]
    assert respond.calls == [{"response_type": "ephemeral", "text": (
        "*Your usage*\n"
        "• Requests this minute: 1 of 20; the count starts again at 14:33 UTC (in 1 min)\n"
        "• Model tokens today: 12,345 of 200,000; the count starts again at 00:00 UTC (in 9 h 29 min)\n"
        "• The whole workspace's model tokens today: 13,345 of 2,000,000")}]
    assert service.usage("U02BOB").requests_this_minute == 1  # asking for usage is not a request


def test_the_app_home_shows_the_usage_below_the_help(sqlite_engine: Engine, tmp_path: Path) -> None:
    model = ScriptedModel([])
    deps, slack, service = slack_world(sqlite_engine, tmp_path, model, tokens_per_day=0)
    service.charge("U02BOB", 5_000)
    asyncio.run(deps.publish_home("U02BOB"))
    (published,) = slack.made("views.publish")
    blocks = published["view"]["blocks"]
    texts = [str(b.get("text", {}).get("text", "")) for b in blocks]
    at = texts.index("Your usage")
    assert at < texts.index("Awaiting your decision (0)")
    assert "Model tokens today: 5,000 (no limit); the count starts again at 00:00 UTC" in texts[at + 1]
    assert "Requests this minute: 0 of 20\n" in texts[at + 1]


def test_usage_blocks_say_when_the_counters_cannot_be_read() -> None:
    blocks = usage_home_blocks(None)
    assert blocks[-1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "Usage cannot be read just now."}]}


def test_usage_text_without_a_request_limit() -> None:
    usage = Usage(0, 0, NOW, 10, 100, 10, 0, NOW + 3600, NOW)
    assert usage_text(usage).splitlines()[1:] == [
        "• Requests this minute: no limit",
        "• Model tokens today: 10 of 100; the count starts again at 15:32 UTC (in 1 h)",
        "• The whole workspace's model tokens today: 10 (no limit)"]
