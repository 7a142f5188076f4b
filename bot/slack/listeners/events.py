"""Events: mentions, DMs, replies in the bot's threads, and the App Home being opened.

A message in a channel that mentions the bot arrives twice (app_mention and message); both
map to the same request key (channel and message ts), so the second one is a no-op, as are
Slack's redeliveries of either. Edits, deletions and bots' messages never get here: the
`only_people` middleware drops them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from adapters.crm.base import DealFilter
from bot.access.scoped_crm import ScopedCrm
from bot.access.service import Admitted
from bot.slack.blocks.prompts import TITLE, suggested
from bot.slack.conversations import Incoming, Surfaces, ThreadDestination
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
    """The App Home tab was opened: publish it fresh; the Messages tab (the agent DM): set its
    suggested prompts. Both in the background."""
    deps = deps_of(context)
    user = event.get("user")
    if not user:
        return
    if event.get("tab", "home") == "home":
        deps.runner.spawn(lambda: deps.publish_home(user), name=f"home {user}")
    elif event.get("tab") == "messages" and event.get("channel") and deps.settings.slack.agent_surfaces:
        asker = asker_of(context)
        deps.runner.spawn(lambda: _suggest(deps, event["channel"], asker), name=f"prompts {user}")


async def _suggest(deps: SlackDeps, channel: str, asker: Admitted | None) -> None:
    """Four prompts for the agent DM, about the person's own open deals when they have some. Without
    thread_ts: under the agent view, a thread_ts makes the call silently do nothing."""
    deals: list[Any] = []
    owner = asker.person.owner if asker is not None else None
    if asker is not None and owner is not None:
        reader = ScopedCrm(deps.crm, asker.scope)  # only records this person may see
        try:
            deals = await asyncio.to_thread(reader.list_deals, DealFilter(owner=owner.id, open_only=True), limit=3)
        except Exception:  # noqa: BLE001 - the general prompts do without the CRM
            log.warning("could not read the open deals for the suggested prompts", exc_info=True)
    await deps.poster.client.assistant_threads_setSuggestedPrompts(channel_id=channel, title=TITLE,
                                                                   prompts=suggested(deals))


async def _accept(deps: SlackDeps, event: dict[str, Any], body: dict[str, Any], kind: str,
                  asker: Admitted | None) -> None:
    channel, ts = event["channel"], event["ts"]
    thread = event.get("thread_ts") or ts
    text = incoming(event.get("text") or "", deps.bot_user_id)
    if not text:
        text = "hello"  # a bare mention: the agent introduces itself
    team = event.get("user_team") or event.get("team") or body.get("team_id")
    request = Incoming(key=f"{channel}:{ts}", kind=kind, user=event["user"], channel=channel, text=text,
                       conversation_id=conversation_id(channel, thread), thread_ts=thread,
                       event_id=body.get("event_id"), asker=asker, team=team)
    slack = deps.settings.slack
    destination = ThreadDestination(deps.poster, deps.decisions, channel, thread, slack.progress_updates,
                                    surfaces=Surfaces(slack.agent_surfaces, slack.status_refresh_seconds),
                                    recipient=(event["user"], team), private=kind == "dm")
    await deps.conversations.accept(request, destination)
