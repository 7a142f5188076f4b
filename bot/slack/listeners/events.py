"""Events: mentions, DMs, replies in the bot's threads, and the App Home being opened.

A message in a channel that mentions the bot arrives twice (app_mention and message); both
map to the same request key (channel and message ts), so the second one is a no-op, as are
Slack's redeliveries of either. Edits, deletions and bots' messages never get here: the
`only_people` middleware drops them.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.access.service import Admitted
from bot.slack.conversations import Incoming, ThreadDestination
from bot.slack.deps import SlackDeps, deps_of
from bot.slack.door import asker_of
from bot.slack.ids import conversation_id
from bot.slack.mrkdwn import incoming

log = logging.getLogger(__name__)


async def on_mention(event: dict[str, Any], body: dict[str, Any], context: dict[str, Any]) -> None:
    """`@bot …` in a channel: a question, answered in its thread."""
    await _accept(deps_of(context), event, body, "mention", asker_of(context))


async def on_message(event: dict[str, Any], body: dict[str, Any], context: dict[str, Any]) -> None:
    """A DM, or a reply in a thread the bot is part of (mentions are on_mention's)."""
    deps = deps_of(context)
    if event.get("channel_type") == "im":
        await _accept(deps, event, body, "dm", asker_of(context))
        return
    if f"<@{deps.bot_user_id}>" in (event.get("text") or ""):
        return  # the app_mention event of the same message handles it
    thread = event.get("thread_ts")
    if thread and await deps.conversations.knows(conversation_id(event["channel"], thread)):
        await _accept(deps, event, body, "thread", asker_of(context))


async def on_membership_changed(event: dict[str, Any], context: dict[str, Any]) -> None:
    """Someone joined or left a channel: its membership is read from Slack again next time."""
    if event.get("channel"):
        deps_of(context).members.forget(event["channel"])


async def on_user_changed(event: dict[str, Any], context: dict[str, Any]) -> None:
    """A profile changed (a guest flag, an e-mail): forget what is known of the person."""
    user = (event.get("user") or {}).get("id")
    if user:
        deps_of(context).access.forget(user)


async def on_home_opened(event: dict[str, Any], context: dict[str, Any]) -> None:
    """The App Home tab was opened: publish it fresh, in the background."""
    deps = deps_of(context)
    user = event.get("user")
    if event.get("tab", "home") == "home" and user:
        deps.runner.spawn(lambda: deps.publish_home(user), name=f"home {user}")


async def _accept(deps: SlackDeps, event: dict[str, Any], body: dict[str, Any], kind: str,
                  asker: Admitted | None) -> None:
    channel, ts = event["channel"], event["ts"]
    thread = event.get("thread_ts") or ts
    text = incoming(event.get("text") or "", deps.bot_user_id)
    if not text:
        text = "hello"  # a bare mention: the agent introduces itself
    request = Incoming(key=f"{channel}:{ts}", kind=kind, user=event["user"], channel=channel, text=text,
                       conversation_id=conversation_id(channel, thread), thread_ts=thread,
                       event_id=body.get("event_id"), asker=asker)
    destination = ThreadDestination(deps.poster, deps.decisions, channel, thread, deps.settings.slack.progress_updates)
    await deps.conversations.accept(request, destination)
