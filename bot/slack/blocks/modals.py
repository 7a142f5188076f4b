"""Modals: reject with an optional reason, edit a proposal's fields before approving, and read an
e-mail proposal in full (its body over as many plain-text sections as it takes)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.records import ProposalView
from bot.slack.blocks import email
from bot.slack.mrkdwn import escape_fit, truncate

REJECT_VIEW, EDIT_VIEW = "proposal_reject_view", "proposal_edit_view"
VALUE = "value"  # the action_id of every input, so a submission reads state.values[field]["value"]
_LONG_FIELDS = ("body", "description", "notes")


PREFILL_CHARS = 3000  # Slack's limit on a text input's initial value


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _summary(proposal: ProposalView) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": escape_fit(proposal.summary, 2900)}}


def reject_modal(proposal: ProposalView) -> dict[str, Any]:
    return {
        "type": "modal", "callback_id": REJECT_VIEW, "private_metadata": proposal.id,
        "title": {"type": "plain_text", "text": "Reject proposal"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [_summary(proposal), {
            "type": "input", "block_id": "reason", "optional": True,
            "label": {"type": "plain_text", "text": "Reason"},
            "element": {"type": "plain_text_input", "action_id": VALUE, "max_length": 500},
        }],
    }


def edit_modal(proposal: ProposalView, fields: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """fields: (name, hint) of each editable argument, prefilled from the proposal."""
    blocks: list[dict[str, Any]] = [_summary(proposal)]
    for name, hint in fields[:90]:
        element: dict[str, Any] = {"type": "plain_text_input", "action_id": VALUE,
                                   "multiline": name in _LONG_FIELDS}
        current = _text(proposal.args.get(name))
        if current:
            element["initial_value"] = truncate(current, PREFILL_CHARS)
        block: dict[str, Any] = {"type": "input", "block_id": name, "optional": True, "element": element,
                                 "label": {"type": "plain_text", "text": truncate(name.replace("_", " "), 2000)}}
        if hint:
            block["hint"] = {"type": "plain_text", "text": truncate(hint, 2000)}
        blocks.append(block)
    return {
        "type": "modal", "callback_id": EDIT_VIEW, "private_metadata": proposal.id,
        "title": {"type": "plain_text", "text": "Edit proposal"},
        "submit": {"type": "plain_text", "text": "Save as new"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
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


def submitted(values: Mapping[str, Any]) -> dict[str, str | None]:
    """A view_submission's state.values as {block_id: text or None}."""
    out: dict[str, str | None] = {}
    for block_id, actions in values.items():
        action = actions.get(VALUE) if isinstance(actions, Mapping) else None
        if isinstance(action, Mapping):
            value = action.get("value")
            out[block_id] = value.strip() if isinstance(value, str) and value.strip() else None
    return out


def changed_fields(proposal: ProposalView, values: Mapping[str, str | None]) -> dict[str, str]:
    """The inputs that differ from what the proposal holds (empty inputs leave a field as it is).
    An input left as the form filled it in is no change, also when the form could show only the
    start of a long value (an e-mail body): the stored value is kept whole."""
    changed = {}
    for name, value in values.items():
        current = _text(proposal.args.get(name))
        if value is not None and value not in (current, truncate(current, PREFILL_CHARS).strip()):
            changed[name] = value
    return changed
