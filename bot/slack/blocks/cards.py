"""Proposal cards: what will change, in business language, who asked, and the state's buttons.

A card is always drawn from the proposal as stored, never from a click's payload, so every
replica draws the same card for the same state. Buttons carry only the proposal id. The wording
(title, labels, values, risk and approval rule) is bot.slack.blocks.describe's; this module lays
it out, one function per part of the card, so a part can be added without touching the others.
People are named as people read them: Slack users as mentions (in mrkdwn, where Slack shows their
names), CRM owners by their CRM names. An e-mail is shown whole, with what to check before
sending it (bot.slack.blocks.email).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from bot.records import ProposalStatus, ProposalView
from bot.slack.blocks import describe, email, outcomes
from bot.slack.blocks.describe import Facts
from bot.slack.blocks.links import Links, when
from bot.slack.blocks.messages import button
from bot.slack.mrkdwn import SECTION_LIMIT, escape, escape_fit, truncate

APPROVE, REJECT, EDIT, RETRY, APPROVE_ALL = (
    "proposal_approve", "proposal_reject", "proposal_edit", "proposal_retry", "proposal_approve_all")
OwnerName = Callable[[str], str]  # CRM owner id -> the owner's name (the id itself when unknown)


def _high_risk_confirm(proposal: ProposalView, facts: Facts) -> dict[str, Any]:
    return {"title": {"type": "plain_text", "text": "Approve a high-risk change?"},
            "text": {"type": "plain_text", "text": truncate(describe.title(proposal, facts), 280)},
            "confirm": {"type": "plain_text", "text": "Approve"},
            "deny": {"type": "plain_text", "text": "Cancel"}, "style": "danger"}


def _outcome(proposal: ProposalView, links: Links, facts: Facts | None = None) -> str:
    """One line on what happened, for a card that is no longer pending."""
    who = f" by <@{proposal.decided_by}>" if proposal.decided_by and proposal.decided_by != "recovery" else ""
    at = f" at {when(proposal.decided_at)}" if proposal.decided_at else ""
    result = proposal.result or {}
    if proposal.status == ProposalStatus.EXECUTING:
        return f"⏳ Executing (approved{who}{at})…"
    if proposal.status == ProposalStatus.EXECUTED and email.is_email(proposal):
        return outcomes.email_outcome(proposal, who, at)  # queued or sent, as the outbox said
    if proposal.status == ProposalStatus.EXECUTED:
        kind, _, record_id = str(result.get("record") or "").partition(":")
        record = f" · {describe.record_link(kind, record_id, facts or Facts(links))}" if record_id else ""
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
                  facts: Facts | None = None, followups: Sequence[dict[str, Any]] = ()) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, blocks) of the card for the proposal's current state. `facts` names its
    records and owners and says who may approve (without them, records are described, not named);
    `followups` (from bot.slack.blocks.outcomes) go under a decided card's outcome.
    Each part of the card is one function below, in the order it is drawn."""
    facts = replace(facts or Facts(), links=links)
    if owner_name is not None and not facts.owners:
        names = {o: owner_name(o) for d in proposal.diff if d.get("field") == "owner"
                 for o in (d.get("before"), d.get("after")) if isinstance(o, str)}
        facts = replace(facts, owners=names)
    blocks = [*_title(proposal, facts), *_record(proposal, facts), *_fields(proposal, facts),
              *_edited(proposal, facts), *_risk(proposal, facts), *_state(proposal, facts, followups), _footer(proposal, facts)]
    text = truncate(f"{describe.title(proposal, facts)} ({_STATUS.get(proposal.status, proposal.status)})", 300)
    return text, blocks


_STATUS = {"pending": "waiting for approval", "executing": "being applied", "executed": "done",
           "rejected": "rejected", "expired": "expired", "superseded": "edited", "stale": "not applied",
           "failed": "failed"}


def _title(proposal: ProposalView, facts: Facts) -> list[dict[str, Any]]:
    return [{"type": "header", "block_id": f"card:{proposal.id}",
             "text": {"type": "plain_text", "text": truncate(describe.title(proposal, facts), 150)}}]


def _record(proposal: ProposalView, facts: Facts) -> list[dict[str, Any]]:
    line = describe.record_line(proposal, facts)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(line, SECTION_LIMIT)}}] if line else []


def _fields(proposal: ProposalView, facts: Facts) -> list[dict[str, Any]]:
    """The e-mail itself, or the fields with their values (before → after for an update)."""
    if email.is_email(proposal):
        return email.card_blocks(proposal)
    current = (proposal.result or {}).get("current") if proposal.status == ProposalStatus.STALE else None
    lines = describe.rows(proposal, facts, current)
    if not lines:
        return []
    return [{"type": "section", "text": {"type": "mrkdwn", "text": truncate("\n".join(lines), SECTION_LIMIT)}}]


def _edited(proposal: ProposalView, facts: Facts) -> list[dict[str, Any]]:
    """For an edited version: what the editor changed against the proposal they edited."""
    lines = describe.edited_rows(proposal, facts)
    if not lines or facts.replaced is None:
        return []
    head = f"✏️ *Edited* by <@{proposal.requester}> (first proposed by <@{facts.replaced.requester}>):"
    return [{"type": "section", "text": {"type": "mrkdwn", "text": truncate("\n".join([head, *lines]), SECTION_LIMIT)}}]


def _risk(proposal: ProposalView, facts: Facts) -> list[dict[str, Any]]:
    """The risk and why, and who may approve, in words."""
    lines = [describe.risk_line(proposal, facts)]
    if proposal.status == ProposalStatus.PENDING and (rule := describe.approval_line(proposal, facts)):
        lines.append(rule)
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": "\n".join(lines)}]}]


def _state(proposal: ProposalView, facts: Facts, followups: Sequence[dict[str, Any]] = ()) -> list[dict[str, Any]]:
    """The buttons while it is pending; afterwards what happened (and Retry after a transient
    failure), then the follow-ups (Revert, Propose again)."""
    block_id = f"proposal:{proposal.id}"
    if proposal.status == ProposalStatus.PENDING:
        approve_confirm = (email.confirm(proposal) if email.is_email(proposal)
                           else _high_risk_confirm(proposal, facts) if proposal.risk == "high" else None)
        return [{"type": "actions", "block_id": block_id, "elements": [
            button("Approve", APPROVE, proposal.id, "primary", approve_confirm),
            button("Reject", REJECT, proposal.id, "danger"),
            button("Edit", EDIT, proposal.id),
        ]}]
    blocks: list[dict[str, Any]] = [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _outcome(proposal, facts.links, facts)}]}]
    if proposal.status == ProposalStatus.FAILED and (proposal.result or {}).get("retryable"):
        blocks.append({"type": "actions", "block_id": block_id,
                       "elements": [button("Retry", RETRY, proposal.id, "primary")]})
    blocks.extend(followups)
    return blocks


def _footer(proposal: ProposalView, facts: Facts) -> dict[str, Any]:
    expires = f" · expires {when(proposal.expires_at, facts.timezone)}" if proposal.status == ProposalStatus.PENDING else ""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": (
        f"Asked by <@{proposal.requester}> {when(proposal.created_at, facts.timezone)}{expires} · ref `{proposal.id}`")}]}

