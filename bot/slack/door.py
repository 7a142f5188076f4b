"""The door in Slack: every request is checked before any listener runs (no model call, no CRM read).

Who asks and from where is read from the payload: the user, the team Slack says they belong to,
and whether the channel is shared with another organisation (the event says so; for commands and
clicks conversations.info does). A person the door admits is put into the request's context as
`asker` (their role and the records they may see); a refused one gets one polite line where they
asked (nothing for messages that were not addressed to the bot) and the refusal is audited.
Events that are not requests (membership and profile changes) pass without a check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.access.service import Admitted, Refused
from bot.slack.blocks.messages import plain, section
from bot.slack.deps import SlackDeps, deps_of
from bot.slack.ids import conversation_id
from bot.slack.types import Ack, Respond

log = logging.getLogger(__name__)
Next = Callable[[], Awaitable[Any]]
ASKER_KEY = "asker"
_REQUEST_EVENTS = ("app_mention", "message", "app_home_opened")


@dataclass(frozen=True)
class Asking:
    """Who a payload comes from, and where."""

    user: str
    kind: str  # app_mention, message, app_home_opened, command, block_actions, view_submission, ...
    channel: str | None
    user_team: str | None
    shared: bool | None  # None: the payload does not say; ask conversations.info
    addressed: bool  # written to the bot (a refusal gets an answer); False for chatter in a channel


def asking(body: Mapping[str, Any]) -> Asking | None:
    """The asker of a Slack payload, or None for payloads that are not a person's request."""
    if body.get("type") == "event_callback":
        event = body.get("event") or {}
        kind = event.get("type", "")
        if kind not in _REQUEST_EVENTS or not event.get("user"):
            return None
        addressed = kind != "message" or event.get("channel_type") == "im"
        return Asking(event["user"], kind, event.get("channel"), event.get("user_team") or event.get("source_team"),
                      bool(body.get("is_ext_shared_channel")), addressed)
    if body.get("command"):
        return Asking(str(body.get("user_id", "")), "command", body.get("channel_id"), None, None, True)
    user = body.get("user") or {}
    if isinstance(user, dict) and user.get("id"):
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        return Asking(user["id"], str(body.get("type", "")), channel, user.get("team_id"), None, True)
    return None


def asker_of(context: Mapping[str, Any]) -> Admitted | None:
    """The admitted person of this request (set by the door)."""
    found = context.get(ASKER_KEY)
    return found if isinstance(found, Admitted) else None


async def door(body: dict[str, Any], context: dict[str, Any], ack: Ack, next: Next,  # noqa: A002 - Bolt's name
               respond: Respond | None = None) -> Any:
    """Let members in (with their role and scope in the context); answer everyone else with one line."""
    who = asking(body)
    if who is None:
        await next()
        return None
    deps = deps_of(context)
    shared = who.shared if who.shared is not None else await deps.members.is_shared(who.channel)
    verdict = await deps.access.admit(who.user, user_team=who.user_team, channel_shared=shared)
    if isinstance(verdict, Admitted):
        context[ASKER_KEY] = verdict
        await next()
        return None
    if not who.addressed and not await _in_bots_thread(deps, body):
        return await ack()  # someone else's chatter in a channel the bot is in: not a request
    # The log of decisions writes the refusal's line (request.refused) from the audit event below.
    log.debug("refused %s at the door (%s) on %s", who.user, verdict.reason, who.kind)
    deps.runner.spawn(lambda: _record(deps, who, verdict), name=f"refusal {who.user}")
    if who.kind == "command":
        return await ack(text=verdict.message, response_type="ephemeral")
    if who.kind == "view_submission":
        first = next_block(body)
        return await ack(response_action="errors", errors={first: verdict.message}) if first else await ack()
    response = await ack()
    deps.runner.spawn(lambda: _tell(deps, who, body, respond, verdict), name=f"tell {who.user}")
    return response


async def _in_bots_thread(deps: SlackDeps, body: Mapping[str, Any]) -> bool:
    """A reply in one of the bot's threads is written to the bot (a refusal gets an answer)."""
    event = body.get("event") or {}
    thread, channel = event.get("thread_ts"), event.get("channel")
    return bool(thread and channel) and await deps.conversations.knows(conversation_id(channel, thread))


def next_block(body: Mapping[str, Any]) -> str | None:
    """The first input block of a submitted modal (where Slack shows an error)."""
    values = ((body.get("view") or {}).get("state") or {}).get("values") or {}
    return next(iter(values), None)


async def _record(deps: SlackDeps, who: Asking, verdict: Refused) -> None:
    await asyncio.to_thread(deps.approvals.audit.record, "access.refused", actor=who.user,
                            data={"reason": verdict.reason, "entry": who.kind})


async def _tell(deps: SlackDeps, who: Asking, body: Mapping[str, Any], respond: Respond | None,
                verdict: Refused) -> None:
    """The one line, where the person asked: ephemeral in the conversation, or on the App Home."""
    if who.kind == "app_home_opened":
        view = {"type": "home", "blocks": [section(verdict.message)]}
        await deps.poster.client.views_publish(user_id=who.user, view=view)
    elif respond is not None and body.get("response_url"):  # Bolt's respond() works only with a response_url
        await respond(text=verdict.message, response_type="ephemeral", replace_original=False)
    elif who.channel:
        event = body.get("event") or {}
        await deps.poster.ephemeral(who.channel, who.user, plain(verdict.message),
                                    thread_ts=event.get("thread_ts") or event.get("ts"))

