"""`/crm`: a question for the agent, `find`, `pending`, `help`. Every branch acknowledges first."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.access.scope import Scope
from bot.access.scoped_crm import ScopedCrm
from bot.access.service import Admitted
from bot.slack.blocks import messages
from bot.slack.conversations import EphemeralDestination, Incoming, ThreadDestination
from bot.slack.deps import SlackDeps, deps_of
from bot.slack.door import asker_of
from bot.slack.ids import conversation_id
from bot.slack.listeners import digests
from bot.slack.mrkdwn import escape_fit, incoming
from bot.slack.types import Ack, Respond

log = logging.getLogger(__name__)
SUBCOMMANDS = ("help", "find", "pending", "digest", "failed")


async def on_crm(ack: Ack, command: dict[str, Any], respond: Respond, context: dict[str, Any]) -> None:
    """`/crm …`: help at once; everything else acknowledged, then done in the background."""
    deps = deps_of(context)
    text = incoming(command.get("text") or "", deps.bot_user_id)
    word, _, rest = text.partition(" ")
    sub = word.lower()
    user = command["user_id"]
    if sub in ("", "help") or (sub not in SUBCOMMANDS and not rest and "?" not in word):
        unknown = f"Unknown command `{escape_fit(word, 40)}`.\n" if sub not in ("", "help") else ""
        await ack(text=unknown + messages.HELP, response_type="ephemeral")
        return
    await ack()
    asker = asker_of(context)
    if sub == "find":
        deps.runner.spawn(lambda: _find(deps, rest.strip(), respond, asker), name="crm find")
    elif sub == "digest":
        deps.runner.spawn(lambda: digests.command(deps, command, rest, respond), name="crm digest")
    elif sub == "pending":
        deps.runner.spawn(lambda: _pending(deps, user, respond), name="crm pending")
    elif sub == "failed":
        deps.runner.spawn(lambda: _failed(deps, rest.strip(), respond, asker), name="crm failed")
    else:
        deps.runner.spawn(lambda: _question(deps, command, text, respond, asker), name="crm question")


async def _find(deps: SlackDeps, query: str, respond: Respond, asker: Admitted | None) -> None:
    if not query:
        await respond(text="Usage: `/crm find <name, e-mail or company>`", response_type="ephemeral")
        return
    limit = deps.settings.crm.search_limit
    crm = ScopedCrm(deps.crm, asker.scope if asker else Scope(frozenset(), unowned=False))
    contacts = await asyncio.to_thread(crm.search_contacts, query, limit=limit)
    companies = await asyncio.to_thread(crm.search_companies, query, limit=limit)
    hits = sorted([*contacts, *companies], key=lambda h: -h.score)[:limit]
    text, blocks = messages.find_results(query, hits, deps.links)
    await respond(text=text, blocks=blocks, response_type="ephemeral")


async def _pending(deps: SlackDeps, user: str, respond: Respond) -> None:
    mine = await deps.decisions.awaiting(user)
    text, blocks = messages.pending_list(mine, deps.links)
    await respond(text=text, blocks=blocks, response_type="ephemeral")


async def _failed(deps: SlackDeps, rest: str, respond: Respond, asker: Admitted | None) -> None:
    """`/crm failed` lists the dead-letter list; `/crm failed retry ID` queues an item for a retry."""
    if asker is None or not asker.grant.audit or deps.letters is None:
        await respond(text="Only people who may read audit trails see the failed list.", response_type="ephemeral")
        return
    verb, _, ref = rest.partition(" ")
    if verb == "retry":
        queued = ref.strip().isdigit() and await asyncio.to_thread(deps.letters.queue, int(ref.strip()))
        await respond(text=f"Item {escape_fit(ref.strip(), 20)} will be retried within a minute." if queued else
                      f"There is no failed item {escape_fit(ref.strip(), 20)} waiting to be retried.",
                      response_type="ephemeral")
        return
    letters = await asyncio.to_thread(deps.letters.list, limit=20)
    text, blocks = messages.failed_list(letters)
    await respond(text=text, blocks=blocks, response_type="ephemeral")


async def _question(deps: SlackDeps, command: dict[str, Any], text: str, respond: Respond,
                    asker: Admitted | None) -> None:
    """In the channel: a thread starting with the question; else (or if the bot may not post there)
    only the caller sees the answer."""
    user, channel, trigger = command["user_id"], command["channel_id"], command.get("trigger_id", "")
    if deps.settings.slack.command_answers == "in_channel":
        try:
            root = await deps.poster.post(channel, messages.plain(f"<@{user}> asked: {escape_fit(text, 2500)}"))
        except SlackApiError as exc:
            log.info("cannot post in %s (%s); answering /crm privately", channel, exc.response.get("error"))
        else:
            request = Incoming(key=f"command:{trigger or root}", kind="command", user=user, channel=channel,
                               text=text, conversation_id=conversation_id(channel, root), thread_ts=root,
                               asker=asker)
            await deps.conversations.accept(request, ThreadDestination(
                deps.poster, deps.decisions, channel, root, deps.settings.slack.progress_updates))
            return
    request = Incoming(key=f"command:{trigger}", kind="command", user=user, channel=channel, text=text,
                       conversation_id=f"command:{channel}:{trigger}", asker=asker)
    await deps.conversations.accept(request, EphemeralDestination(respond, deps.links))
