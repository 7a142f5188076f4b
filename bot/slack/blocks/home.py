"""The App Home tab: what awaits my decision, and my recent requests with their outcomes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.cron import describe
from bot.digests.sections import TITLES
from bot.records import ProposalView, Subscription
from bot.slack.blocks import email
from bot.slack.blocks.cards import APPROVE, REJECT
from bot.slack.blocks.digest import channel_ref
from bot.slack.blocks.links import Links, when
from bot.slack.blocks.messages import HELP, button, context, section
from bot.slack.mrkdwn import escape, escape_fit, truncate
from bot.store.requests import RequestView

MAX_BLOCKS = 100  # Slack's limit for a Home view
_STATUS = {"running": "⏳ working", "answered": "✅ answered", "failed": "❌ failed", "refused": "🚫 refused"}


def home_view(bot_name: str, awaiting: Sequence[ProposalView], requests: Sequence[RequestView],
              links: Links, *, extra: Sequence[dict[str, Any]] = (),
              outcomes: Mapping[str, str] | None = None, top: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """The Home view; `top` blocks (the usage) follow the help, `extra` blocks (e.g. digest
    subscriptions) go at the end, where the 100-block limit may cut them; `outcomes` (request key ->
    what its proposals came to, from bot.slack.blocks.outcomes) replace the proposal count."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(bot_name, 150)}},
        section(HELP),
        *top,
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": f"Awaiting your decision ({len(awaiting)})"}},
    ]
    if not awaiting:
        blocks.append(context("Nothing waits for you."))
    for proposal in awaiting[:20]:
        where = f" in <#{proposal.channel}>" if proposal.channel else ""
        blocks.append(section(f"*{escape_fit(proposal.summary, 500)}*\n{proposal.risk} risk · from "
                              f"<@{proposal.requester}>{where} · expires {when(proposal.expires_at)}"))
        blocks.append({"type": "actions", "block_id": f"home:{proposal.id}", "elements": _buttons(proposal)})
    if len(awaiting) > 20:
        blocks.append(context(f"… and {len(awaiting) - 20} more: `/crm pending` lists them."))
    blocks += [{"type": "divider"},
               {"type": "header", "text": {"type": "plain_text", "text": "Your recent requests"}}]
    if not requests:
        blocks.append(context("You have not asked me anything yet."))
    for request in requests[:15]:
        outcome = _STATUS.get(request.status, escape(request.status))
        extra_text = f" · {request.proposals} proposal{'s' if request.proposals != 1 else ''}" if request.proposals else ""
        if outcomes and request.key in outcomes:
            extra_text = f" · {outcomes[request.key]}"
        error = f" · {escape_fit(request.error, 200)}" if request.error else ""
        asked = f"“{escape_fit(request.summary, 200)}”" if request.summary.strip() else "(your question is being read)"
        blocks.append(context(f"{when(request.received_at)} in <#{request.channel}> · {outcome}{extra_text}{error}\n"
                              + asked))
    blocks += list(extra)
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


def failed_home_blocks(count: int) -> list[dict[str, Any]]:
    """The operators' line: work that could not be finished and waits on the dead-letter list."""
    text = ("Nothing is waiting on the failed list." if not count else
            f"⚠️ *{count} request{'s' if count != 1 else ''} could not be finished* and "
            f"{'are' if count != 1 else 'is'} kept on the failed list: `/crm failed` lists them.")
    return [{"type": "divider"}, {"type": "header", "text": {"type": "plain_text", "text": "Failed work"}},
            section(text) if count else context(text)]


def digest_home_blocks(subscriptions: Sequence[Any]) -> list[dict[str, Any]]:
    """The "Digests in your channels" part of the Home view."""
    blocks: list[dict[str, Any]] = [{"type": "divider"},
                                    {"type": "header", "text": {"type": "plain_text", "text": "Digests in your channels"}}]
    if not subscriptions:
        blocks.append(context("None yet: `/crm digest subscribe <kind> <when>` in a channel adds one."))
    for sub in subscriptions[:15]:
        blocks.append(section(schedule_text(sub)))
    return blocks


def schedule_text(sub: Subscription) -> str:
    """A digest as its readers say it: "*sales-morning* in #sales, every weekday at 08:00 (Europe/London)",
    then its sections by title ("Pipeline movement, Closing soon"). The name stays as it is: it is
    what `/crm digest preview` and `run now` take."""
    title = sub.name
    sections = ", ".join(TITLES.get(s, s.replace("_", " ").capitalize()) for s in sub.sections)
    return (f"*{escape_fit(title, 64)}* in {channel_ref(sub.channel)}, {escape(describe(sub.cron))} "
            f"({escape(sub.timezone)})\n{escape(sections)}")


def _buttons(proposal: ProposalView) -> list[dict[str, Any]]:
    """Approve and Reject; an e-mail is confirmed with its first lines and can be read in full first."""
    if not email.is_email(proposal):
        return [button("Approve", APPROVE, proposal.id, "primary"), button("Reject", REJECT, proposal.id, "danger")]
    return [button("View e-mail", email.VIEW_EMAIL, proposal.id),
            button("Approve", APPROVE, proposal.id, "primary", email.confirm(proposal)),
            button("Reject", REJECT, proposal.id, "danger")]

