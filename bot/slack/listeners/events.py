"""Events: mentions, DMs, replies in the bot's threads, and the App Home being opened.

A message in a channel that mentions the bot arrives twice (app_mention and message); both
map to the same request key (channel and message ts), so the second one is a no-op, as are
Slack's redeliveries of either. Edits, deletions and bots' messages are ignored.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.slack.conversations import Incoming, ThreadDestination
from bot.slack.deps import SlackDeps
from bot.slack.ids import conversation_id
from bot.slack.mrkdwn import incoming

log = logging.getLogger(__name__)
# Message subtypes that carry something a person wrote to the bot; everything else is ignored.
_PERSON_SUBTYPES = (None, "file_share", "thread_broadcast")


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def accept(event: dict[str, Any], body: dict[str, Any], kind: str) -> None:
        channel, ts = event["channel"], event["ts"]
        thread = event.get("thread_ts") or ts
        text = incoming(event.get("text") or "", deps.bot_user_id)
        if not text:
            text = "hello"  # a bare mention: the agent introduces itself
        request = Incoming(key=f"{channel}:{ts}", kind=kind, user=event["user"], channel=channel, text=text,
                           conversation_id=conversation_id(channel, thread), thread_ts=thread,
                           event_id=body.get("event_id"))
        destination = ThreadDestination(deps.poster, deps.decisions, channel, thread,
                                        deps.settings.slack.progress_updates)
        await deps.conversations.accept(request, destination)

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], body: dict[str, Any]) -> None:
        if _from_person(event, deps.bot_user_id):
            await accept(event, body, "mention")

    @app.event("message")
    async def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        if not _from_person(event, deps.bot_user_id):
            return
        if event.get("channel_type") == "im":
            await accept(event, body, "dm")
            return
        if f"<@{deps.bot_user_id}>" in (event.get("text") or ""):
            return  # the app_mention event of the same message handles it
        thread = event.get("thread_ts")
        if thread and await deps.conversations.knows(conversation_id(event["channel"], thread)):
            await accept(event, body, "thread")

    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home" and event.get("user"):
            deps.runner.spawn(lambda: deps.publish_home(event["user"]), name=f"home {event['user']}")


def _from_person(event: dict[str, Any], bot_user_id: str) -> bool:
    """A new message by a person: not an edit, a deletion, a bot (this one or another)."""
    return (event.get("subtype") in _PERSON_SUBTYPES and not event.get("bot_id") and bool(event.get("user"))
            and event.get("user") != bot_user_id and "channel" in event and "ts" in event)
