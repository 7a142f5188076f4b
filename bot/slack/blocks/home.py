"""The App Home tab: what awaits my decision, and my recent requests with their outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.records import ProposalView
from bot.slack.blocks import email
from bot.slack.blocks.cards import APPROVE, REJECT, button
from bot.slack.blocks.digest import subscription_text
from bot.slack.blocks.links import Links, when
from bot.slack.blocks.messages import HELP, context, section
from bot.slack.mrkdwn import escape, escape_fit, truncate
from bot.store.requests import RequestView

MAX_BLOCKS = 100  # Slack's limit for a Home view
_STATUS = {"running": "⏳ working", "answered": "✅ answered", "failed": "❌ failed", "refused": "🚫 refused"}


def home_view(bot_name: str, awaiting: Sequence[ProposalView], requests: Sequence[RequestView],
              links: Links, *, extra: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """The Home view; `extra` blocks (e.g. digest subscriptions) go at the end."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(bot_name, 150)}},
        section(HELP),
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
        error = f" · {escape_fit(request.error, 200)}" if request.error else ""
        blocks.append(context(f"{when(request.received_at)} in <#{request.channel}> · {outcome}{extra_text}{error}\n"
                              f"“{escape_fit(request.summary, 200)}”"))
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
        blocks.append(section(subscription_text(sub)))
    return blocks


def _buttons(proposal: ProposalView) -> list[dict[str, Any]]:
    """Approve and Reject; an e-mail is confirmed with its first lines and can be read in full first."""
    if not email.is_email(proposal):
        return [button("Approve", APPROVE, proposal.id, "primary"), button("Reject", REJECT, proposal.id, "danger")]
    return [button("View e-mail", email.VIEW_EMAIL, proposal.id),
            button("Approve", APPROVE, proposal.id, "primary", email.confirm(proposal)),
            button("Reject", REJECT, proposal.id, "danger")]

