"""Under every answer: a one-line AI disclaimer and Slack's feedback buttons; the comment modal
that a thumbs-down opens.

A button's value names the request it rates ("up C0SALES:1700000000.000100") and nothing else:
everyone in the conversation sees the buttons, and the value is no place for personal data.
"""

from __future__ import annotations

from typing import Any

from bot.slack.mrkdwn import truncate

FEEDBACK = "answer_feedback"
FEEDBACK_VIEW = "answer_feedback_view"
COMMENT = "comment"
DISCLAIMER = "Written by AI from your CRM and knowledge base: check it before you act on it."
RATINGS = ("up", "down")
MAX_REF = 200


def footer(request_key: str) -> list[dict[str, Any]]:
    """The disclaimer and the feedback buttons for the answer to request_key."""
    ref = truncate(request_key, MAX_REF)
    return [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": DISCLAIMER}]},
        {"type": "context_actions", "block_id": "feedback", "elements": [{
            "type": "feedback_buttons", "action_id": FEEDBACK,
            "positive_button": {"text": {"type": "plain_text", "text": "Helpful"},
                                "accessibility_label": "Mark this answer as helpful", "value": f"up {ref}"},
            "negative_button": {"text": {"type": "plain_text", "text": "Not helpful"},
                                "accessibility_label": "Mark this answer as not helpful", "value": f"down {ref}"},
        }]},
    ]


def parse(value: str) -> tuple[str, str] | None:
    """(rating, request key) of a clicked button's value; None when it is not one of ours."""
    rating, _, key = (value or "").partition(" ")
    if rating not in RATINGS or not key or len(key) > MAX_REF:
        return None
    return rating, key


def comment_modal(request_key: str) -> dict[str, Any]:
    """Asks what was wrong with an answer rated down (optional); private_metadata is the request key."""
    return {
        "type": "modal", "callback_id": FEEDBACK_VIEW, "private_metadata": truncate(request_key, MAX_REF),
        "title": {"type": "plain_text", "text": "What went wrong?"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Skip"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "Thanks: your rating is recorded. A short note "
                                                                    "on what was wrong helps us fix it."}},
            {"type": "input", "block_id": COMMENT, "optional": True,
             "label": {"type": "plain_text", "text": "What was wrong"},
             "element": {"type": "plain_text_input", "action_id": "value", "multiline": True, "max_length": 1000}},
        ],
    }
