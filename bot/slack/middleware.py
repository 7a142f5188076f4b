"""Global Bolt middleware: what holds before any listener runs.

`provide` puts the process's SlackDeps into every request's context, so listeners are plain
module-level functions that read `context["deps"]`, and hands them a guarded `respond` and the
guarded Web API client (bot.slack.poster), so nothing a listener sends escapes the last gate.
`only_people` drops the message and app_mention events no person wrote to the bot (edits,
deletions, bots' messages, this bot's own) with an acknowledgement, before a listener sees
them; the coming access check belongs beside it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.slack.deps import CONTEXT_KEY, SlackDeps, deps_of
from bot.slack.poster import guarded_respond
from bot.slack.types import Ack

Next = Callable[[], Awaitable[Any]]
Middleware = Callable[..., Awaitable[Any]]
# Message subtypes that carry something a person wrote to the bot; everything else is ignored.
PERSON_SUBTYPES = (None, "file_share", "thread_broadcast")
_PEOPLE_ONLY_EVENTS = ("message", "app_mention")


def provide(deps: SlackDeps) -> Middleware:
    """Middleware that hands every listener the same dependencies as `context["deps"]`."""

    async def provide_deps(context: dict[str, Any], next: Next) -> None:  # noqa: A002 - Bolt's argument name
        context[CONTEXT_KEY] = deps
        respond = context.get("respond") or getattr(context, "respond", None)
        if respond is not None and not getattr(respond, "guarded", False):
            context["respond"] = guarded_respond(respond, deps.links.allowed_hosts)
        context["client"] = deps.poster.client  # Bolt's per-request client would skip the guard
        await next()

    return provide_deps


async def only_people(body: dict[str, Any], context: dict[str, Any], ack: Ack, next: Next) -> Any:  # noqa: A002
    """Acknowledge and drop message and app_mention events that a person did not write."""
    event = body.get("event") or {}
    if event.get("type") in _PEOPLE_ONLY_EVENTS and not from_person(event, deps_of(context).bot_user_id):
        return await ack()  # handled: Slack must not redeliver it
    await next()
    return None


def from_person(event: dict[str, Any], bot_user_id: str) -> bool:
    """A new message by a person: not an edit, a deletion, a bot (this one or another)."""
    return (event.get("subtype") in PERSON_SUBTYPES and not event.get("bot_id") and bool(event.get("user"))
            and event.get("user") != bot_user_id and "channel" in event and "ts" in event)
