"""`/crm`: a question for the agent, `find`, `pending`, `digest`, `usage`, `help`. Every branch acknowledges first.

Anything that is not a subcommand is a question, a single word included (`/crm Acme`). `find`
reads through the asker's scoped CRM view only: a record they may not see is not listed, nor is
it named as a contact's company or among open deals."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.access.scope import Scope
from bot.access.scoped_crm import ScopedCrm
from bot.access.service import Admitted
from bot.slack.blocks import messages
from bot.slack.blocks.usage import usage_text
from bot.slack.conversations import EphemeralDestination, Incoming, Surfaces, ThreadDestination
from bot.slack.deps import SlackDeps, deps_of
from bot.slack.door import asker_of
from bot.slack.ids import conversation_id
from bot.slack.listeners import digests
from bot.slack.mrkdwn import escape_fit, incoming
from bot.slack.types import Ack, Respond

log = logging.getLogger(__name__)


async def on_crm(ack: Ack, command: dict[str, Any], respond: Respond, context: dict[str, Any]) -> None:
    """`/crm …`: help at once; everything else acknowledged, then done in the background."""
    deps = deps_of(context)
    text = incoming(command.get("text") or "", deps.bot_user_id)
    word, _, rest = text.partition(" ")
    sub = word.lower()
    user = command["user_id"]
    # `help` and `pending` take no argument: followed by more words they begin a question ("pending deals at Acme?").
    if sub == "" or (sub == "help" and not rest):
        await ack(text=messages.HELP, response_type="ephemeral")
        return
    await ack()
    asker = asker_of(context)
    if sub == "find":
        deps.runner.spawn(lambda: _find(deps, rest.strip(), respond, asker), name="crm find")
    elif sub == "digest":
        deps.runner.spawn(lambda: digests.command(deps, command, rest, respond), name="crm digest")
    elif sub == "pending" and not rest:
        deps.runner.spawn(lambda: _pending(deps, user, respond), name="crm pending")
    elif sub == "usage" and not rest:  # "/crm usage of the API…" is a question
        deps.runner.spawn(lambda: _usage(deps, user, respond), name="crm usage")
    elif sub == "failed" and _failed_words(rest):  # "/crm failed deals this month?" is a question
        deps.runner.spawn(lambda: _failed(deps, rest.strip(), respond, asker), name="crm failed")
    else:
        deps.runner.spawn(lambda: _question(deps, command, text, respond, asker), name="crm question")


def _failed_words(rest: str) -> bool:
    """`/crm failed` alone, or `/crm failed retry ID`."""
    words = rest.split()
    return not words or (len(words) == 2 and words[0].lower() == "retry")


async def _find(deps: SlackDeps, query: str, respond: Respond, asker: Admitted | None) -> None:
    if not query:
        await respond(text="Usage: `/crm find <name, e-mail or company>`", response_type="ephemeral")
        return
    crm = ScopedCrm(deps.crm, asker.scope if asker else Scope(frozenset(), unowned=False))
    found = await asyncio.to_thread(find, crm, query, deps.settings.crm.search_limit)
    text, blocks = messages.find_results(query, found, deps.links)
    await respond(text=text, blocks=blocks, response_type="ephemeral")


def find(crm: ScopedCrm, query: str, limit: int) -> list[messages.Found]:
    """Contacts and companies matching query, best first, the first few with their details
    (a contact's company, open deals), everything read through the reader's view."""
    contacts = crm.search_contacts(query, limit=limit)
    companies = crm.search_companies(query, limit=limit)
    hits = sorted([*contacts, *companies], key=lambda h: -h.score)[:limit]
    found = []
    for index, hit in enumerate(hits):
        if index >= messages.MAX_FOUND:
            found.append(messages.Found(hit))  # counted, not shown: no need to read its details
            continue
        company, deals, subtitle = None, (), None
        if hit.kind == "contact" and (detail := crm.get_contact(hit.id)) is not None:
            company, deals = detail.company, detail.open_deals
            c = detail.contact  # its company is shown as a link of its own, when the reader may see it
            subtitle = " · ".join(p for p in (c.title, c.email, c.phone) if p)
        elif hit.kind == "company" and (whole := crm.get_company(hit.id)) is not None:
            deals = whole.open_deals
        found.append(messages.Found(
            hit, company, deals, url=crm.record_url(hit.kind, hit.id),
            company_url=crm.record_url("company", company.id) if company else None,
            deal_urls={d.id: crm.record_url("deal", d.id) for d in deals[:3]}, subtitle=subtitle))
    return found


async def _pending(deps: SlackDeps, user: str, respond: Respond) -> None:
    mine = await deps.decisions.awaiting(user)
    links = await asyncio.gather(*(_permalink(deps, p.channel, p.message_ts) for p in mine[:20]))
    permalinks = {p.id: url for p, url in zip(mine, links, strict=False) if url}
    text, blocks = messages.pending_list(mine, deps.links, permalinks=permalinks)
    await respond(text=text, blocks=blocks, response_type="ephemeral")


async def _usage(deps: SlackDeps, user: str, respond: Respond) -> None:
    """`/crm usage`: one's own requests this minute and tokens today, with the limits (not a request itself)."""
    usage = await deps.usage(user)
    if usage is None:
        text = "No limits are set." if deps.limits is None else "Usage cannot be read just now; try again shortly."
    else:
        text = usage_text(usage)
    await respond(text=text, response_type="ephemeral")


async def _permalink(deps: SlackDeps, channel: str | None, ts: str | None) -> str | None:
    """The card's permalink (Slack's own URL for it), or None when Slack cannot give one."""
    if not channel or not ts:
        return None
    try:
        answer = await deps.poster.client.chat_getPermalink(channel=channel, message_ts=ts)
    except SlackApiError as exc:
        log.info("no permalink for a card in %s (%s)", channel, exc.response.get("error"))
        return None
    url = answer.get("permalink")
    return url if isinstance(url, str) and url.startswith("https://") else None


async def on_open_card(ack: Ack) -> None:
    """A click on an "Open card" link button: Slack opens the URL itself; the app only acknowledges."""
    await ack()


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
    """In the channel: a thread starting with the question; else (or if the bot may not post there,
    or the caller is over a limit and so is refused) only the caller sees the answer."""
    user, channel, trigger = command["user_id"], command["channel_id"], command.get("trigger_id", "")
    # Over a limit, the question is not posted in the channel: the refusal is the caller's alone.
    over = deps.limits is not None and await asyncio.to_thread(deps.limits.over, user)
    if deps.settings.slack.command_answers == "in_channel" and not over:
        try:
            root = await deps.poster.post(channel, messages.plain(f"<@{user}> asked: {escape_fit(text, 2500)}"))
        except SlackApiError as exc:
            log.info("cannot post in %s (%s); answering /crm privately", channel, exc.response.get("error"))
        else:
            team = command.get("team_id")
            request = Incoming(key=f"command:{trigger or root}", kind="command", user=user, channel=channel,
                               text=text, conversation_id=conversation_id(channel, root), thread_ts=root,
                               asker=asker, team=team)
            slack = deps.settings.slack
            await deps.conversations.accept(request, ThreadDestination(
                deps.poster, deps.decisions, channel, root, slack.progress_updates,
                surfaces=Surfaces(slack.agent_surfaces, slack.status_refresh_seconds), recipient=(user, team),
                private=command.get("channel_name") == "directmessage"))
            return
    request = Incoming(key=f"command:{trigger}", kind="command", user=user, channel=channel, text=text,
                       conversation_id=f"command:{channel}:{trigger}", asker=asker)
    await deps.conversations.accept(request, EphemeralDestination(respond, deps.links, deps.decisions))
