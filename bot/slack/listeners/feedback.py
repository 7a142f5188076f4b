"""The feedback buttons under answers, the comment modal a thumbs-down opens, and the agent DM's
Messages tab (its suggested prompts).

A rating is acknowledged at once and recorded once per person and answer. On "down" the modal
is opened right after the acknowledgement (a trigger_id lasts 3 seconds), only on the first
such click, so a double click does not open it twice.
"""

from __future__ import annotations

import logging
from typing import Any

from bot.slack.blocks import feedback
from bot.slack.deps import deps_of
from bot.slack.types import Ack

log = logging.getLogger(__name__)


async def on_feedback(ack: Ack, body: dict[str, Any], client: Any, context: dict[str, Any]) -> None:
    """A click on Helpful / Not helpful under an answer."""
    await ack()
    deps = deps_of(context)
    action = (body.get("actions") or [{}])[0]
    parsed = feedback.parse(str(action.get("value") or ""))
    if parsed is None:
        return
    rating, key = parsed
    outcome = await deps.ratings.rate(key, user=body["user"]["id"], rating=rating)
    if rating == "down" and outcome in ("new", "changed") and body.get("trigger_id"):
        await client.views_open(trigger_id=body["trigger_id"], view=feedback.comment_modal(key))


async def on_feedback_comment(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: dict[str, Any]) -> None:
    """The comment modal was sent: its text is kept (masked) with the rating."""
    await ack()
    value = (view.get("state", {}).get("values", {}).get(feedback.COMMENT, {}).get("value", {}) or {}).get("value")
    if value:
        await deps_of(context).ratings.comment(str(view.get("private_metadata") or ""), user=body["user"]["id"],
                                               text=str(value))
