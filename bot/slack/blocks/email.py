"""An e-mail proposal as its approver must see it: recipient, subject, the whole body, the warnings.

The body is drawn from the proposal's stored arguments (what executes), never from its diff, as
plain text, so its line breaks are kept and nothing in it is read as markup; its links are written
out in full but defanged (`hxxps://evil[.]example/…`), so the approver reads where they go and
cannot follow them. A body that fits (`CARD_BODY` characters) is shown in full on the card; a
longer one shows its start and a "View e-mail" button opening a modal with all of it, over as
many sections as it takes. The Approve confirm dialog repeats the recipient, the subject and the
body's first lines. Warnings found when the e-mail was planned (personal data of others in the
body, a recipient the CRM does not know) are listed above the buttons.
"""

from __future__ import annotations

from typing import Any

from bot.records import ProposalView
from bot.slack.mrkdwn import defang_urls, escape_fit, split, truncate

VIEW_EMAIL = "proposal_view_email"
# Characters per plain-text section: below Slack's 3,000, with room to spare should the last gate
# before Slack rewrite anything in it.
PIECE = 2500
CARD_BODY = PIECE  # a body up to this long is shown in full on the card
CARD_START = 1500  # of a longer one, the card shows about this much
CONFIRM_TEXT = 280  # Slack's confirm text holds 300 characters
MODAL_PIECES = 95  # a modal holds 100 blocks: the heading, the pieces, the note
_WARNING = "warning"


def is_email(proposal: ProposalView) -> bool:
    """True for a send_email proposal (the card shows it with this module's blocks)."""
    return proposal.tool == "send_email" and isinstance(proposal.args.get("body"), str)


def shown_body(proposal: ProposalView) -> str:
    """The body as the approver reads it: every character, links written out but not clickable."""
    return defang_urls(str(proposal.args.get("body", "")).replace("\r\n", "\n"))


def body_pieces(body: str, limit: int = PIECE) -> list[str]:
    """The body cut at paragraph, line or word boundaries into pieces of at most limit characters."""
    return split(body, limit) or [""]


def warnings(proposal: ProposalView) -> list[str]:
    """The warnings stored with the proposal when it was planned."""
    return [str(d.get("after")) for d in proposal.diff if d.get("field") == _WARNING and d.get("after")]


def heading(proposal: ProposalView) -> dict[str, Any]:
    """Recipient and subject, escaped."""
    to, subject = str(proposal.args.get("to", "")), defang_urls(str(proposal.args.get("subject", "")))
    return {"type": "section", "text": {"type": "mrkdwn",
                                        "text": f"*To:* {escape_fit(to, 400)}\n*Subject:* {escape_fit(subject, 600)}"}}


def plain(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "plain_text", "text": text, "emoji": False}}


def card_blocks(proposal: ProposalView) -> list[dict[str, Any]]:
    """Heading, body (whole, or its start and a View e-mail button) and warnings, for the card."""
    body = shown_body(proposal)
    blocks = [heading(proposal)]
    if len(body) <= CARD_BODY:
        blocks.append(plain(body_pieces(body)[0] if body.strip() else "(empty)"))
    else:
        start = body_pieces(body, CARD_START)[0]
        blocks.append(plain(start + " …"))
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"Showing {len(start):,} of {len(body):,} characters: open the e-mail to read all of it.")}]})
        blocks.append({"type": "actions", "block_id": f"email:{proposal.id}", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "View e-mail"}, "action_id": VIEW_EMAIL,
             "value": proposal.id}]})
    return blocks + warnings_block(proposal)


def warnings_block(proposal: ProposalView) -> list[dict[str, Any]]:
    """The warnings as one section (none when there are none)."""
    found = warnings(proposal)
    if not found:
        return []
    lines = "\n".join(f"• {escape_fit(w, 2600 // len(found))}" for w in found)
    return [{"type": "section", "text": {"type": "mrkdwn", "text": f"⚠️ *Check before approving*\n{lines}"}}]


def confirm(proposal: ProposalView) -> dict[str, Any]:
    """The Approve button's confirm dialog: recipient, subject and the body's first lines."""
    to, subject = str(proposal.args.get("to", "")), defang_urls(str(proposal.args.get("subject", "")))
    head = truncate(f"Send to {to}\nSubject: {subject}", 150)
    lines = "\n".join(shown_body(proposal).strip().splitlines()[:4])
    flag = "\n⚠ It has warnings: read them before approving." if warnings(proposal) else ""
    room = CONFIRM_TEXT - len(head) - len(flag) - 2
    text = f"{head}\n\n{truncate(lines, room)}{flag}" if room > 10 else head + flag
    return {"title": {"type": "plain_text", "text": "Send this e-mail?"},
            "text": {"type": "plain_text", "text": text[:CONFIRM_TEXT], "emoji": False},
            "confirm": {"type": "plain_text", "text": "Approve and send"},
            "deny": {"type": "plain_text", "text": "Cancel"}, "style": "danger"}
