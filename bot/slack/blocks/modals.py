"""Modals: reject with an optional reason and read an e-mail proposal in full (its body over as
many plain-text sections as it takes). The Edit form is bot.slack.blocks.edit_form's."""

from __future__ import annotations

from typing import Any

from bot.records import ProposalView
from bot.slack.blocks import describe, email
from bot.slack.blocks.describe import Facts
from bot.slack.mrkdwn import escape_fit

REJECT_VIEW = "proposal_reject_view"
VALUE = "value"  # the action_id of the reason input


def reject_modal(proposal: ProposalView, facts: Facts | None = None) -> dict[str, Any]:
    """Reject, with an optional reason (Slack marks an optional input so itself)."""
    title = describe.title(proposal, facts or Facts())
    return {
        "type": "modal", "callback_id": REJECT_VIEW, "private_metadata": proposal.id,
        "title": {"type": "plain_text", "text": "Reject proposal"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{escape_fit(title, 2900)}*"}}, {
            "type": "input", "block_id": "reason", "optional": True,
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {"type": "plain_text_input", "action_id": VALUE, "max_length": 500},
        }],
    }


def email_modal(proposal: ProposalView) -> dict[str, Any]:
    """The whole e-mail of a send_email proposal: recipient, subject, every line of the body, warnings.
    Read-only: it has no submit button and nothing to handle when closed."""
    pieces = email.body_pieces(email.shown_body(proposal))
    blocks = [email.heading(proposal), {"type": "divider"}]
    blocks += [email.plain(piece) for piece in pieces[:email.MODAL_PIECES]]
    if len(pieces) > email.MODAL_PIECES:  # unreachable for the 20,000 characters a body may hold
        blocks.append({"type": "context", "elements": [{"type": "plain_text", "text": "… (cut: too long to show)"}]})
    return {"type": "modal", "private_metadata": proposal.id,
            "title": {"type": "plain_text", "text": "E-mail to approve"},
            "close": {"type": "plain_text", "text": "Close"}, "blocks": blocks + email.warnings_block(proposal)}


