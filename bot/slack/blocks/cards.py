"""Proposal cards: what will change, who asked, until when, and the buttons for the current state.

A card is always drawn from the proposal as stored, never from a click's payload, so every
replica draws the same card for the same state. Buttons carry only the proposal id. People are
named as people read them: Slack users as mentions (in mrkdwn, where Slack shows their names),
CRM owners by their CRM name when an `owner_name` look-up is given. An e-mail is shown whole,
with what to check before sending it (bot.slack.blocks.email).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from bot.records import ProposalStatus, ProposalView
from bot.slack.blocks import email, outcomes
from bot.slack.blocks.links import Links, when
from bot.slack.mrkdwn import SECTION_LIMIT, escape, escape_fit, truncate

APPROVE, REJECT, EDIT, RETRY, APPROVE_ALL = (
    "proposal_approve", "proposal_reject", "proposal_edit", "proposal_retry", "proposal_approve_all")
_RISK = {"low": "🟢 low", "medium": "🟡 medium", "high": "🔴 high"}
_MAX_DIFF_LINES = 25
OwnerName = Callable[[str], str]  # CRM owner id -> the owner's name (the id itself when unknown)
_OWNER_FIELDS = ("owner",)


def _value(value: Any) -> str:
    if value is None or value == "":
        return "_empty_"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return escape(truncate(" ".join(text.split()), 300))


def diff_lines(diff: Sequence[dict[str, Any]], current: dict[str, Any] | None = None, *,
               owner_name: OwnerName | None = None) -> str:
    """`field: before → after` per changed field (and the value now, for a stale card); owners by name."""

    def shown(field: str, value: Any) -> str:
        if owner_name is not None and field in _OWNER_FIELDS and isinstance(value, str) and value:
            value = owner_name(value)
        return _value(value)

    lines = []
    for change in diff[:_MAX_DIFF_LINES]:
        field = change["field"]
        line = f"• *{escape(field)}*: {shown(field, change['before'])} → {shown(field, change['after'])}"
        if current is not None and field in current:
            line += f"  (now {shown(field, current[field])})"
        lines.append(line)
    if len(diff) > _MAX_DIFF_LINES:
        lines.append(f"… and {len(diff) - _MAX_DIFF_LINES} more fields")
    return truncate("\n".join(lines), SECTION_LIMIT)


def button(text: str, action_id: str, value: str, style: str | None = None,
            confirm: dict[str, Any] | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": text},
                              "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = confirm
    return button


def _high_risk_confirm(proposal: ProposalView) -> dict[str, Any]:
    return {"title": {"type": "plain_text", "text": "Approve a high-risk action?"},
            "text": {"type": "mrkdwn", "text": escape_fit(proposal.summary, 280)},
            "confirm": {"type": "plain_text", "text": "Approve"},
            "deny": {"type": "plain_text", "text": "Cancel"}, "style": "danger"}


def _outcome(proposal: ProposalView, links: Links) -> str:
    """One line on what happened, for a card that is no longer pending."""
    who = f" by <@{proposal.decided_by}>" if proposal.decided_by and proposal.decided_by != "recovery" else ""
    at = f" at {when(proposal.decided_at)}" if proposal.decided_at else ""
    result = proposal.result or {}
    if proposal.status == ProposalStatus.EXECUTING:
        return f"⏳ Executing (approved{who}{at})…"
    if proposal.status == ProposalStatus.EXECUTED and email.is_email(proposal):
        return outcomes.email_outcome(proposal, who, at)  # queued or sent, as the outbox said
    if proposal.status == ProposalStatus.EXECUTED:
        record = f" · {links.record_ref(result['record'])}" if result.get("record") else ""
        return f"✅ *Executed*{who}{at}{record}"
    if proposal.status == ProposalStatus.REJECTED:
        reason = f": {escape_fit(proposal.reason, 300)}" if proposal.reason else ""
        return f"🚫 *Rejected*{who}{at}{reason}"
    if proposal.status == ProposalStatus.EXPIRED:
        return f"⌛ *Expired*{at}: nobody decided in time. Ask again for a fresh proposal."
    if proposal.status == ProposalStatus.SUPERSEDED:
        return f"✏️ *Edited*{who}{at}: replaced by the new version posted below."
    if proposal.status == ProposalStatus.STALE:
        return f"⚠️ *Not applied* (approved{who}{at}): nothing was written."
    if proposal.status == ProposalStatus.FAILED:
        hint = " It may work if you retry." if result.get("retryable") else ""
        return f"❌ *Failed*{who}{at}: {escape_fit(proposal.error or 'unknown error', 500)}.{hint}"
    return escape(proposal.status)


def proposal_card(proposal: ProposalView, links: Links, *, owner_name: OwnerName | None = None,
                  followups: Sequence[dict[str, Any]] = ()) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) of the card for the proposal's current state; `owner_name` names the
    CRM owners its changes mention (without it, their ids are shown); `followups` (from
    bot.slack.blocks.outcomes) go under a decided card's outcome."""
    target = (links.record(proposal.record_kind, proposal.record_id)
              if proposal.record_kind and proposal.record_id else "new record")
    fields = [
        {"type": "mrkdwn", "text": f"*Record*\n{target}"},
        {"type": "mrkdwn", "text": f"*Risk*\n{_RISK.get(proposal.risk, escape(proposal.risk))}"},
        {"type": "mrkdwn", "text": f"*Requested by*\n<@{proposal.requester}>"},
        {"type": "mrkdwn", "text": f"*Expires*\n{when(proposal.expires_at)}"},
    ]
    current = (proposal.result or {}).get("current") if proposal.status == ProposalStatus.STALE else None
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate(f"Proposal: {proposal.tool}", 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": escape_fit(proposal.summary, SECTION_LIMIT)},
         "fields": fields},
    ]
    if email.is_email(proposal):
        blocks.extend(email.card_blocks(proposal))
    elif proposal.diff:
        changes = diff_lines(proposal.diff, current, owner_name=owner_name)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": changes}})
    block_id = f"proposal:{proposal.id}"
    if proposal.status == ProposalStatus.PENDING:
        approve_confirm = (email.confirm(proposal) if email.is_email(proposal)
                           else _high_risk_confirm(proposal) if proposal.risk == "high" else None)
        blocks.append({"type": "actions", "block_id": block_id, "elements": [
            button("Approve", APPROVE, proposal.id, "primary", approve_confirm),
            button("Reject", REJECT, proposal.id, "danger"),
            button("Edit", EDIT, proposal.id),
        ]})
    else:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _outcome(proposal, links)}]})
        if proposal.status == ProposalStatus.FAILED and (proposal.result or {}).get("retryable"):
            blocks.append({"type": "actions", "block_id": block_id,
                           "elements": [button("Retry", RETRY, proposal.id, "primary")]})
        blocks.extend(followups)
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"Proposal `{proposal.id}`"}]})
    text = escape_fit(f"Proposal ({proposal.status}): {proposal.summary}", 300)
    return text, blocks
