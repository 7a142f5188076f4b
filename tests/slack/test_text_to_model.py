"""What a person types in Slack reaches the model as they typed it, masked and nothing else.

Slack delivers `<`, `>` and `&` typed by a person as `&lt;`, `&gt;` and `&amp;`; bot/slack reads
that markup once, and the privacy gateway masks the plain text without reading it as Slack's again.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.agent.scripted import ScriptedModel, reply
from bot.slack.listeners import events
from bot.wiring import build_slack_deps
from tests.world import PLANTED, make_world
from tests.slack.fakes import BOT_USER_ID, FakeSlack, NoDigests


@pytest.mark.parametrize(("delivered", "model_sees"), [
    (f"<@{BOT_USER_ID}> compare a &lt;b&gt; and &lt;x|y&gt; for {PLANTED['name']}",
     "compare a <b> and <x|y> for <PERSON_1>"),
    (f"<@{BOT_USER_ID}> is &lt;https://x.example/p|the page&gt; about {PLANTED['email']}?",
     "is <https://x.example/p|the page> about <EMAIL_ADDRESS_1>?"),
    (f"<@{BOT_USER_ID}> mail <mailto:{PLANTED['email']}|{PLANTED['email']}> if a &lt; b &amp;&amp; c",
     "mail <EMAIL_ADDRESS_1> if a < b && c"),
])
def test_a_mention_reaches_the_model_as_typed_and_masked(sqlite_engine: Engine, tmp_path: Path, delivered: str,
                                                         model_sees: str) -> None:
    model = ScriptedModel([reply("Done.")])
    world = make_world(sqlite_engine, tmp_path, model)
    slack = FakeSlack()

    async def mention() -> None:
        deps = build_slack_deps(world.services.components.settings, world.services, slack, bot_user_id=BOT_USER_ID,
                                digests=NoDigests())  # type: ignore[arg-type]
        event = {"type": "app_mention", "channel": "C0SALES", "user": "U02BOB", "ts": "5.0", "text": delivered}
        await events.on_mention(event=event, body={"event_id": "Ev1"}, context={"deps": deps})
        await deps.runner.drain(30)

    asyncio.run(mention())
    model.assert_done()
    assert model.calls[0].messages[-1].content == model_sees
    assert slack.streamed().startswith("Done.")  # the answer was streamed into the thread
