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
from datetime import date, timedelta
from typing import Any

from bot.config import DIGEST_SECTIONS
from bot.digests import schedule
from bot.access.service import Admitted
from bot.records import PlanError, Subscription
from bot.slack.blocks import digest as digest_blocks
from bot.slack.blocks.links import when
from bot.slack.blocks.messages import section
from bot.slack.deps import SlackDeps, deps_of
from bot.slack.mrkdwn import escape, escape_fit
from bot.slack.types import Ack, Respond
from bot.store.digests import DuplicateName

log = logging.getLogger(__name__)

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
    """Handle `/crm digest <text>` after the acknowledgement; whatever happens, the caller hears back."""
    try:
        await _command(deps, body, text, respond)
    except Exception:  # noqa: BLE001 - a traceback is a bug, but the user still gets an answer
        log.exception("/crm digest %s failed", text[:100])
        await respond(text="Sorry, that digest command failed on my side; the error is logged for the bot's "
                           "operator. Try again, or `/crm digest list`.", response_type="ephemeral")


async def _may_manage(deps: SlackDeps, body: dict[str, Any]) -> str | None:
    """Why this person may not subscribe, unsubscribe or run digests here (None: they may)."""
    admitted = await deps.access.admit(str(body.get("user_id", "")))
    if not isinstance(admitted, Admitted) or not admitted.grant.digests:
        role = admitted.grant.role if isinstance(admitted, Admitted) else "guest"
        return f"Managing digests needs a role with the digests right; yours is {role}. Ask a manager."
    if await deps.members.is_shared(body.get("channel_id")):
        return "Digests are not posted in channels shared with other organisations."
    return None


async def _command(deps: SlackDeps, body: dict[str, Any], text: str, respond: Respond) -> None:
    service = deps.digests
    verb, _, rest = text.strip().partition(" ")
    verb, rest = verb.lower(), rest.strip()
    if verb == "run":
        rest = re.sub(r"^now\b\s*", "", rest, flags=re.IGNORECASE)
    if verb in ("subscribe", "unsubscribe", "run"):
        refusal = await _may_manage(deps, body)
        if refusal:
            await respond(text=refusal, response_type="ephemeral")
            return
    if verb == "subscribe":
        await _subscribe(deps, body, rest, respond)
        return
    if verb == "list":
        await _list(deps, respond)
        return
    if verb not in ("unsubscribe", "preview", "run") or not rest:
        await respond(text=USAGE, response_type="ephemeral")
        return
    sub = await asyncio.to_thread(service.subscription, rest)
    name = escape_fit(rest, 64)
    if sub is None:
        await respond(text=f"No digest named `{name}`; `/crm digest list` shows them.", response_type="ephemeral")
        return
    if not _here(sub, body):
        # What a digest shows belongs to its channel: it is managed from there.
        await respond(text=f"`{name}` posts in {digest_blocks.channel_ref(sub.channel)}: use this command there.",
                      response_type="ephemeral")
        return
    if verb in ("preview", "run") and sub.filters.get("summary"):
        refusal = await _over_limit(deps, str(body.get("user_id", "")))
        if refusal:
            await respond(text=refusal, response_type="ephemeral")
            return
    if verb == "unsubscribe":
        if await asyncio.to_thread(service.store.unsubscribe, sub.name):
            await respond(text=f"<@{body['user_id']}> unsubscribed `{name}`.", response_type="in_channel")
        else:
            await respond(text=f"Cannot unsubscribe `{name}`: it is defined in app.toml; remove it there.",
                          response_type="ephemeral")
    elif verb == "preview":
        digest = await service.preview(sub.name)
        assert digest is not None
        (fallback, blocks), _thread = digest_blocks.render(
            digest, deps.links, lines_per_section=deps.settings.digest_sections.lines_per_section, interactive=False)
        await respond(text=fallback, blocks=blocks, response_type="ephemeral")
    else:
        outcome = await service.run_now(sub.name)
        await respond(text=f"Digest `{name}`: {escape(outcome.message)}", response_type="ephemeral")


async def _over_limit(deps: SlackDeps, user: str) -> str | None:
    """A digest with a model-written summary costs a model call on each preview or run: it counts as
    a request of the person asking, so the per-minute limit cannot be dodged through it."""
    if deps.limits is None:
        return None
    refusal = await asyncio.to_thread(deps.limits.admit, user)
    return refusal.message if refusal is not None else None


def _here(sub: Subscription, body: dict[str, Any]) -> bool:
    """Whether the command comes from the digest's own channel (by id, or by #name for app.toml's)."""
    return sub.channel in (body.get("channel_id"), f"#{body.get('channel_name', '')}")


async def _subscribe(deps: SlackDeps, body: dict[str, Any], rest: str, respond: Respond) -> None:
    kind, _, when_text = rest.partition(" ")
    try:
        sections = sections_of(kind)
        cron, tz = schedule.parse_when(when_text, await _user_tz(deps, body["user_id"]))
    except ValueError as exc:
        await respond(text=f"Cannot subscribe: {escape(str(exc))}\n\n{USAGE}", response_type="ephemeral")
        return
    channel = body["channel_id"]
    name = _name(body.get("channel_name") or "", channel, "all" if sections == DIGEST_SECTIONS else kind)
    sub = Subscription(name, channel, cron, tz, sections, source="slack", created_by=body["user_id"])
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


MAX_LISTED = 45  # one section per digest, under Slack's 50 blocks with the header and the "more" line


async def _list(deps: SlackDeps, respond: Respond) -> None:
    service = deps.digests
    subs = await asyncio.to_thread(service.subscriptions)
    if not subs:
        await respond(text="No digests yet. " + USAGE, response_type="ephemeral")
        return
    blocks = [section(f"*Digests* ({len(subs)})")]
    for sub in subs[:MAX_LISTED]:
        last = await asyncio.to_thread(service.store.last_run, sub.name)
        blocks.append(section(digest_blocks.subscription_text(sub, last, with_state=True)))
    if len(subs) > MAX_LISTED:
        blocks.append(section(f"… and {len(subs) - MAX_LISTED} more: `python -m bot digest list` shows all."))
    await respond(text=f"Digests ({len(subs)})", blocks=blocks, response_type="ephemeral")


def _name(channel_name: str, channel_id: str, kind: str) -> str:
    # Private channels and DMs have no usable name in the payload ("privategroup", "directmessage").
    where = channel_id if channel_name in ("", "privategroup", "directmessage") else channel_name
    slug = re.sub(r"[^a-z0-9_-]+", "-", f"{where}-{kind}".lower()).strip("-_")
    return slug[:63] or "digest"


async def _user_tz(deps: SlackDeps, user: str) -> str:
    try:
        info = await deps.poster.client.users_info(user=user)
        return str((info.get("user") or {}).get("tz") or "UTC")
    except Exception:  # noqa: BLE001 - missing scope, unknown user, network: UTC is a fine default
        return "UTC"


# -- buttons on digest lines ---------------------------------------------------------------------


async def on_digest_button(ack: Ack, body: dict[str, Any], context: dict[str, Any]) -> None:
    """Log follow-up and Snooze on a digest line: a create_task proposal, made in the background."""
    await ack()
    deps = deps_of(context)
    action = body["actions"][0]
    parsed = digest_blocks.parse_action_value(str(action.get("value") or ""))
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id") or body.get("container", {}).get("channel_id")
    thread = body.get("container", {}).get("message_ts")
    if parsed is None or not channel:
        log.warning("ignored a digest button with value %r", action.get("value"))
        return
    snooze = action.get("action_id") == digest_blocks.SNOOZE

    async def job() -> None:
        try:
            await _propose(deps, user, channel, thread, parsed[1], parsed[2], snooze=snooze)
        except Exception:  # noqa: BLE001 - logged for the operator; the clicker is told
            log.exception("digest button %s on %s %s failed", action.get("action_id"), parsed[1], parsed[2])
            await deps.poster.ephemeral(channel, user, ("failed", [section(
                "Sorry, I could not make that proposal; the error is logged for the bot's operator.")]))

    deps.runner.spawn(job, name="digest follow-up")


async def _propose(deps: SlackDeps, user: str, channel: str, thread: str | None, kind: str, record_id: int, *,
                   snooze: bool) -> None:
    """A create_task proposal for the record, as a card in the digest's thread."""
    approvals = deps.approvals
    record = await asyncio.to_thread(deps.crm.get, kind, record_id)  # type: ignore[arg-type]
    if record is None:
        await deps.poster.ephemeral(channel, user, ("gone", [section(f"{kind} {record_id} no longer exists.")]))
        return
    today = approvals.now().date()
    label = getattr(record, "name", f"{kind} {record_id}")
    due = today + timedelta(days=7) if snooze else _next_working_day(today)
    subject = f"Check {label} again (snoozed from the digest)" if snooze else f"Follow up on {label}"
    args = {f"{kind}_id": record_id, "subject": subject, "due_date": due.isoformat()}
    owner = (await deps.decisions.actor(user)).owner_id  # the task is the clicker's: their CRM owner
    try:
        proposal = await asyncio.to_thread(approvals.propose_call, "create_task", args, requester=user,
                                           channel=channel, owner=owner)
    except PlanError as exc:
        await deps.poster.ephemeral(channel, user, ("refused", [section(escape(str(exc)))]))
        return
    await deps.decisions.post_cards(channel, thread, [proposal])


def _next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
