"""What a proposal came to, as people read it: the requester's outcome message, a stale card's
"what changed", the Revert / Propose again buttons, the "Approve all" message and the App Home's
outcome per request.

Pure functions of stored proposals, so every replica draws the same thing. Proposals are named by
their summary, never by their id; people are mentions (Slack shows their names); field values that
may hold personal data are escaped and cut.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.records import ProposalStatus, ProposalView
from bot.slack.blocks.describe import LABELS, Facts, record_link, title, value_text
from bot.slack.blocks.links import Links, when
from bot.slack.blocks.messages import button
from bot.slack.mrkdwn import SECTION_LIMIT, escape, escape_fit, truncate
from bot.slack.types import SlackMessage

PROPOSE_AGAIN, REVERT = "proposal_propose_again", "proposal_revert"
APPROVE_ALL = "proposal_approve_all"  # the same action id the earlier "Approve all" buttons carried
TOLD = (ProposalStatus.EXECUTED, ProposalStatus.REJECTED, ProposalStatus.STALE, ProposalStatus.FAILED,
        ProposalStatus.EXPIRED)  # the end states a requester is told of
_WORD = {"executed": "done", "rejected": "rejected", "stale": "not applied", "failed": "failed",
         "expired": "expired", "pending": "waiting for a decision", "executing": "being applied",
         "superseded": "replaced by an edit"}


def name(proposal: ProposalView, limit: int = 200) -> str:
    """The proposal as a person names it: its summary, escaped and cut."""
    return escape_fit(proposal.summary, limit)


def label(field: str) -> str:
    """A field as words: `close_date` -> "close date"."""
    return field.replace("_id", "").replace("_", " ")


def _value(field: str, value: Any, proposal: ProposalView) -> str:
    """A field's value as its card prints it (a date as a date, an amount with its currency)."""
    if value is None or value == "":
        return "nothing"
    return truncate(value_text(field, value, proposal, Facts()), 120)


def what_moved(proposal: ProposalView) -> str:
    """"the deal's close date changed from 2026-11-30 to 2027-02-10" for each field that made it stale."""
    moved = (proposal.result or {}).get("moved") or []
    kind = escape(proposal.record_kind or "record")
    if not moved:
        return f"the {kind} changed since it was proposed"
    parts = [f"*{escape(LABELS.get(m['field'], label(m['field'])).lower())}* changed from "
             f"{_value(m['field'], m.get('planned'), proposal)} to {_value(m['field'], m.get('now'), proposal)}"
             for m in moved[:10]]
    return f"since it was proposed, the {kind}'s " + "; ".join(parts)


def email_state(proposal: ProposalView) -> str:
    """"Queued", "Sent" or "Not delivered", as the outbox last said (the sweep keeps it current)."""
    status = (proposal.result or {}).get("status")
    return {"sent": "Sent", "failed": "Not delivered"}.get(str(status), "Queued")


def email_outcome(proposal: ProposalView, who: str, at: str) -> str:
    """The card's outcome line for an approved e-mail: queued in the outbox or sent, never "executed"."""
    result = proposal.result or {}
    state = email_state(proposal)
    where = {"Queued": " (in the outbox, for delivery)", "Not delivered": " (the outbox reports it failed)"}.get(state, "")
    logged = " · logged on the contact" if result.get("activity") else ""
    return f"📤 *{state}*{where}: approved{who}{at}{logged}. An e-mail cannot be called back."


def followup_blocks(proposal: ProposalView, *, now: datetime, revert_until: datetime | None) -> list[dict[str, Any]]:
    """What a decided card shows under its outcome: for a stale one, what changed and "Propose again";
    for an executed update, "Revert" while it may be reverted; for a create, that it is not reverted."""
    block_id = f"followup:{proposal.id}"
    if proposal.status == ProposalStatus.STALE:
        return [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(
                    f"Why: {what_moved(proposal)}.", SECTION_LIMIT)}},
                {"type": "actions", "block_id": block_id,
                 "elements": [button("Propose again with current values", PROPOSE_AGAIN, proposal.id, "primary")]}]
    if proposal.status != ProposalStatus.EXECUTED:
        return []
    if revert_until is not None and now <= revert_until:
        return [{"type": "actions", "block_id": block_id, "elements": [button("Revert", REVERT, proposal.id)]},
                {"type": "context", "elements": [{"type": "mrkdwn", "text":
                    f"Revert proposes the old values back (same approval) until {when(revert_until)}."}]}]
    if proposal.tool.startswith("create_") or proposal.tool == "log_activity":
        return [{"type": "context", "elements": [{"type": "mrkdwn", "text":
                "A created record is not reverted by the bot; archive it in the CRM if it must go."}]}]
    return []


def outcome_message(proposal: ProposalView, links: Links, facts: Facts | None = None) -> SlackMessage:
    """What the requester is told of an end state: who decided, why, with a link to the record.
    With `facts` (the card's names) the proposal is called what its card calls it."""
    who = f"<@{proposal.decided_by}>" if proposal.decided_by and proposal.decided_by != "recovery" else "someone"
    you = f"<@{proposal.requester}>"
    what = f"*{escape_fit(title(proposal, facts), 200)}*" if facts is not None else f"*{name(proposal)}*"
    result = proposal.result or {}
    kind, _, made = str(result.get("record") or "").partition(":")
    record = (f": {record_link(kind, made, facts)}" if facts is not None and made else
              f": {links.record_ref(result['record'])}" if result.get("record") else "")
    blocks: list[dict[str, Any]] = []
    status = proposal.status
    if status == ProposalStatus.EXECUTED and proposal.tool == "send_email":
        text = f"📤 {you}, {who} approved your e-mail {what}: {email_state(proposal).lower()}."
    elif status == ProposalStatus.EXECUTED:
        text = f"✅ {you}, {who} approved {what}. It is done{record}."
    elif status == ProposalStatus.REJECTED:
        reason = f" Reason: {escape_fit(proposal.reason, 500)}" if proposal.reason else " No reason was given."
        text = f"🚫 {you}, {who} rejected {what}.{reason}"
    elif status == ProposalStatus.STALE:
        text = f"⚠️ {you}, {what} was approved by {who} but not applied: {what_moved(proposal)}."
        blocks.append({"type": "actions", "block_id": f"told:{proposal.id}", "elements": [
            button("Propose again with current values", PROPOSE_AGAIN, proposal.id, "primary")]})
    elif status == ProposalStatus.FAILED:
        retry = " Its card has a Retry button." if result.get("retryable") else ""
        text = f"❌ {you}, {what} failed after {who} approved it: {escape_fit(proposal.error or 'unknown error', 300)}.{retry}"
    elif status == ProposalStatus.EXPIRED:
        text = f"⌛ {you}, {what} expired: nobody decided on it in time. Ask again if it is still needed."
    else:
        text = f"{you}, {what} is {escape(_WORD.get(status, status))}."
    word = email_state(proposal).lower() if status == ProposalStatus.EXECUTED and proposal.tool == "send_email" \
        else _WORD.get(status, status)
    fallback = f"Your proposal is {word}: {truncate(proposal.summary, 150)}"
    return escape_fit(fallback, 300), [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(
        text, SECTION_LIMIT)}}, *blocks]


def group_message(proposals: Sequence[ProposalView]) -> SlackMessage | None:
    """The "Approve all" message: what it covers by name, each one's state, and the button while two
    or more are still pending (each is still checked on its own); None when fewer than two qualify."""
    if len(proposals) < 2:
        return None
    pending = [p for p in proposals if p.status == ProposalStatus.PENDING]
    lines = [f"• {name(p, 150)}: {'⏳ pending' if p.status == ProposalStatus.PENDING else _WORD.get(p.status, p.status)}"
             for p in proposals[:20]]
    if len(pending) >= 2:
        head = f"*Approve these {len(pending)} together* (low and medium risk; each is still checked on its own):"
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": truncate(head + "\n" + "\n".join(lines), SECTION_LIMIT)}},
            {"type": "actions", "block_id": "approve_all", "elements": [
                button(f"Approve all {len(pending)}", APPROVE_ALL, ",".join(p.id for p in pending), "primary")]}]
        return f"{len(pending)} proposals can be approved together", blocks
    head = "*All decided:*" if not pending else "*Decided; the one left needs its own click on its card:*"
    return "Proposals decided", [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(
        head + "\n" + "\n".join(lines), SECTION_LIMIT)}}]


def group_done(outcomes: Sequence[tuple[ProposalView | None, str]]) -> SlackMessage:
    """The clicker's summary of an "Approve all": each proposal by name and what became of it."""
    lines = [f"• {name(p, 150) if p is not None else 'A proposal that no longer exists'}: {said}"
             for p, said in outcomes]
    fallback = f"{len(lines)} proposal{'s' if len(lines) != 1 else ''} decided"
    return fallback, [{"type": "section", "text": {"type": "mrkdwn", "text": truncate("\n".join(lines), SECTION_LIMIT)}}]


def _final(proposal: ProposalView, by_id: Mapping[str, ProposalView], replaced_by: Mapping[str, str]) -> ProposalView:
    """The latest version of a proposal (edits and "Propose again" replace it)."""
    seen = {proposal.id}
    while proposal.id in replaced_by and replaced_by[proposal.id] not in seen:
        proposal = by_id[replaced_by[proposal.id]]
        seen.add(proposal.id)
    return proposal


def request_outcomes(requests: Sequence[Any], proposals: Sequence[ProposalView]) -> dict[str, str]:
    """The App Home's line per request that made proposals ("1 proposal: rejected by @alice"), by
    request key. A conversation's proposals are given to its requests in order, as many as each made;
    edited or re-proposed versions count as the proposal they replace."""
    by_id = {p.id: p for p in proposals}
    replaced_by = {p.supersedes_id: p.id for p in proposals if p.supersedes_id}
    roots: dict[str, list[ProposalView]] = {}
    for p in sorted(proposals, key=lambda p: (p.created_at, p.id)):
        if p.conversation_id and not p.supersedes_id and not p.reverts_id:
            roots.setdefault(p.conversation_id, []).append(p)
    out: dict[str, str] = {}
    for request in sorted(requests, key=lambda r: r.received_at):
        if not request.proposals or not request.conversation_id:
            continue
        queue = roots.get(request.conversation_id, [])
        mine, roots[request.conversation_id] = queue[:request.proposals], queue[request.proposals:]
        finals = [_final(p, by_id, replaced_by) for p in mine]
        if finals:
            out[request.key] = _summary(finals, request.proposals)
    return out


def _summary(finals: Sequence[ProposalView], count: int) -> str:
    noun = f"{count} proposal{'s' if count != 1 else ''}"
    if len(finals) == 1:
        p = finals[0]
        by = f" by <@{p.decided_by}>" if p.decided_by and p.status in (ProposalStatus.EXECUTED,
                                                                       ProposalStatus.REJECTED) else ""
        return f"{noun}: {_WORD.get(p.status, p.status)}{by}"
    counts = Counter(_WORD.get(p.status, p.status) for p in finals)
    return f"{noun}: " + ", ".join(f"{n} {word}" for word, n in counts.items())
