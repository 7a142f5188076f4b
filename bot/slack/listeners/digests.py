"""`/crm digest …` and the buttons on digest lines.

Subscriptions made here are stored in the database; every replica's scheduler reads them on its
next tick, so they take effect without a restart. A click on "Log follow-up" or "Snooze 7 days"
becomes a create_task proposal, posted as a card in the digest's thread: it executes only when
someone allowed approves it, like every other change.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.actions.operations import PlanError
from bot.config import DIGEST_SECTIONS
from bot.digests import schedule
from bot.digests.model import Subscription
from bot.slack.blocks import digest as digest_blocks
from bot.slack.blocks.links import when
from bot.slack.blocks.messages import section
from bot.slack.deps import SlackDeps
from bot.slack.mrkdwn import escape, escape_fit
from bot.store.digests import DuplicateName

log = logging.getLogger(__name__)
Ack = Callable[..., Awaitable[None]]
Respond = Callable[..., Awaitable[Any]]

ALIASES = {"pipeline": "pipeline_movement", "closing": "closing_soon", "stale": "stale_deals", "leads": "new_leads",
           "risk": "at_risk_accounts", "tickets": "ticket_alerts", "pending": "pending_proposals"}
USAGE = (
    "*Digests*\n"
    "• `/crm digest subscribe <kind> <when>`: post a digest in this channel. Kinds: `all`, "
    + ", ".join(f"`{k}`" for k in ALIASES) + " (or several, comma-separated).\n"
    f"  When: {schedule.WHEN_HELP}. Example: `/crm digest subscribe stale weekdays 09:00 Europe/Berlin`\n"
    "• `/crm digest list`: digests, their schedules and last runs\n"
    "• `/crm digest unsubscribe <name>` · `/crm digest preview <name>` · `/crm digest run now <name>`"
)


def sections_of(kind: str) -> tuple[str, ...]:
    """Section names from `all`, aliases and full names, comma-separated; ValueError names the bad one."""
    if kind.lower() == "all":
        return DIGEST_SECTIONS
    found = []
    for word in filter(None, (w.strip().lower() for w in kind.split(","))):
        name = ALIASES.get(word, word)
        if name not in DIGEST_SECTIONS:
            raise ValueError(f"unknown kind `{escape_fit(word, 40)}`; use `all`, "
                             + ", ".join(f"`{a}`" for a in ALIASES))
        found.append(name)
    if not found:
        raise ValueError("say which kind of digest: `all`, " + ", ".join(f"`{a}`" for a in ALIASES))
    return tuple(dict.fromkeys(found))


async def command(deps: SlackDeps, body: dict[str, Any], text: str, respond: Respond) -> None:
    """Handle `/crm digest <text>` after the acknowledgement."""
    service = deps.digests
    if service is None:
        await respond(text="Digests are not available in this process.", response_type="ephemeral")
        return
    verb, _, rest = text.strip().partition(" ")
    verb, rest = verb.lower(), rest.strip()
    if verb == "subscribe":
        await _subscribe(deps, body, rest, respond)
    elif verb == "list":
        await _list(deps, respond)
    elif verb == "unsubscribe" and rest:
        gone = await asyncio.to_thread(service.store.unsubscribe, rest)
        if gone:
            await respond(text=f"<@{body['user_id']}> unsubscribed `{escape_fit(rest, 64)}`.", response_type="in_channel")
        else:
            sub = await asyncio.to_thread(service.store.get, rest)
            reason = ("it is defined in app.toml; remove it there" if sub else "there is no digest by that name; "
                      "`/crm digest list` shows them")
            await respond(text=f"Cannot unsubscribe `{escape_fit(rest, 64)}`: {reason}.", response_type="ephemeral")
    elif verb == "preview" and rest:
        digest = await service.preview(rest)
        if digest is None:
            await respond(text=f"No digest named `{escape_fit(rest, 64)}`.", response_type="ephemeral")
            return
        (fallback, blocks), _thread = digest_blocks.render(digest, deps.links,
                                                           lines_per_section=deps.settings.digest_sections.lines_per_section)
        await respond(text=fallback, blocks=blocks, response_type="ephemeral")
    elif verb == "run" and rest:
        name = re.sub(r"^now\s+", "", rest, flags=re.IGNORECASE).strip()
        outcome = await service.run_now(name)
        await respond(text=f"Digest `{escape_fit(name, 64)}`: {escape(outcome.message)}", response_type="ephemeral")
    else:
        await respond(text=USAGE, response_type="ephemeral")


async def _subscribe(deps: SlackDeps, body: dict[str, Any], rest: str, respond: Respond) -> None:
    kind, _, when_text = rest.partition(" ")
    try:
        sections = sections_of(kind)
        cron, tz = schedule.parse_when(when_text, await _user_tz(deps, body["user_id"]))
    except ValueError as exc:
        await respond(text=f"Cannot subscribe: {exc}\n\n{USAGE}", response_type="ephemeral")
        return
    channel = body["channel_id"]
    name = _name(body.get("channel_name") or channel, "all" if sections == DIGEST_SECTIONS else kind)
    sub = Subscription(name, channel, cron, tz, sections, source="slack", created_by=body["user_id"])
    assert deps.digests is not None
    try:
        await asyncio.to_thread(deps.digests.store.subscribe, sub, now=deps.digests.now())
    except DuplicateName:
        await respond(text=f"`{name}` exists already: `/crm digest unsubscribe {name}` first, or pick another kind.",
                      response_type="ephemeral")
        return
    upcoming = schedule.next_slot(cron, tz, after=deps.digests.now())
    await respond(response_type="in_channel", text=(
        f"<@{body['user_id']}> subscribed this channel to the digest `{name}` "
        f"({', '.join(sections)}), `{cron}` in {tz}; next: {when(upcoming)}."))


async def _list(deps: SlackDeps, respond: Respond) -> None:
    assert deps.digests is not None
    store = deps.digests.store
    subs = await asyncio.to_thread(store.subscriptions)
    if not subs:
        await respond(text="No digests yet. " + USAGE, response_type="ephemeral")
        return
    lines = []
    for sub in subs[:40]:
        last = await asyncio.to_thread(store.last_run, sub.name)
        state = "never ran" if last is None else f"last run {when(last.scheduled_for)}: {last.status}"
        if last is not None and last.status == "failed" and last.error:
            state += f" ({escape_fit(last.error, 200)})"
        lines.append(f"• `{sub.name}` in {_channel(sub.channel)}: `{sub.cron}` {sub.timezone}, "
                     f"{', '.join(sub.sections)} ({sub.source}); {state}")
    await respond(text="Digests", blocks=[section("*Digests*\n" + "\n".join(lines))], response_type="ephemeral")


def _channel(channel: str) -> str:
    return escape(channel) if channel.startswith("#") else f"<#{channel}>"


def _name(channel: str, kind: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", f"{channel}-{kind}".lower()).strip("-_")
    return slug[:63] or "digest"


async def _user_tz(deps: SlackDeps, user: str) -> str:
    try:
        info = await deps.poster.client.users_info(user=user)
        return str((info.get("user") or {}).get("tz") or "UTC")
    except SlackApiError:
        return "UTC"


# -- buttons on digest lines ---------------------------------------------------------------------


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def on_click(ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        action = body["actions"][0]
        parsed = digest_blocks.parse_action_value(str(action.get("value") or ""))
        user = body["user"]["id"]
        channel = (body.get("channel") or {}).get("id") or body.get("container", {}).get("channel_id")
        thread = body.get("container", {}).get("message_ts")
        if parsed is None or not channel:
            log.warning("ignored a digest button with value %r", action.get("value"))
            return
        snooze = action.get("action_id") == digest_blocks.SNOOZE
        deps.runner.spawn(lambda: _propose(deps, user, channel, thread, parsed[1], parsed[2], snooze=snooze),
                          name="digest follow-up")

    app.action(digest_blocks.FOLLOW_UP)(on_click)
    app.action(digest_blocks.SNOOZE)(on_click)


async def _propose(deps: SlackDeps, user: str, channel: str, thread: str | None, kind: str, record_id: int, *,
                   snooze: bool) -> None:
    """A create_task proposal for the record, as a card in the digest's thread."""
    approvals = deps.approvals
    record = await asyncio.to_thread(deps.crm.get, kind, record_id)  # type: ignore[arg-type]
    if record is None:
        await deps.poster.ephemeral(channel, user, ("gone", [section(f"{kind} {record_id} no longer exists.")]))
        return
    today = approvals.targets.clock().date()
    label = getattr(record, "name", f"{kind} {record_id}")
    due = today + timedelta(days=7) if snooze else _next_working_day(today)
    subject = f"Check {label} again (snoozed from the digest)" if snooze else f"Follow up on {label}"
    operation = approvals.operations["create_task"]
    try:
        args = operation.parse({f"{kind}_id": record_id, "subject": subject, "due_date": due.isoformat(), "owner": user})
        draft = await asyncio.to_thread(operation.plan, approvals.targets, args)
    except PlanError as exc:
        await deps.poster.ephemeral(channel, user, ("refused", [section(escape(str(exc)))]))
        return
    proposal = await asyncio.to_thread(approvals.propose, draft, requester=user, channel=channel)
    await deps.decisions.post_cards(channel, thread, [proposal])


def _next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
