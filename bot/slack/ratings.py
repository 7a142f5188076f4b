"""Feedback on answers: a click on the thumbs under an answer, recorded once with its conversation.

A rating names a request the bot answered (a button value naming anything else is ignored), is
stored once per person and answer (a double click, or Slack redelivering the click, changes
nothing), and is written to the audit log with who, up or down, and the optional comment, masked
like everything in the audit log. `on_rated` is where a metrics counter plugs in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Literal

from bot.privacy.gateway import Gateway
from bot.privacy.vault import Vault
from bot.store.audit import SqlAuditLog
from bot.store.feedback import Rated, SqlFeedback
from bot.store.requests import SqlRequests

log = logging.getLogger(__name__)
Outcome = Literal["new", "changed", "same", "unknown"]


class Ratings:
    """Records ratings and comments of answers."""

    def __init__(self, *, feedback: SqlFeedback, requests: SqlRequests, audit: SqlAuditLog, gateway: Gateway,
                 vaults: Callable[[str], Vault], on_rated: Callable[[str], None] | None = None) -> None:
        self._feedback, self._requests, self._audit = feedback, requests, audit
        self._gateway, self._vaults, self._on_rated = gateway, vaults, on_rated

    async def rate(self, request_key: str, *, user: str, rating: str) -> Outcome:
        """user rated the answer to request_key; "unknown" when no such request was answered."""
        return await asyncio.to_thread(self._rate, request_key, user, rating)

    def _rate(self, request_key: str, user: str, rating: str) -> Outcome:
        request = self._requests.get(request_key)
        if request is None:
            log.info("a rating of an unknown request was ignored")
            return "unknown"
        outcome: Rated = self._feedback.rate(request_key, user=user, rating=rating,
                                             conversation_id=request.conversation_id)
        if outcome != "same":
            self._audit.record("feedback", actor=user, conversation_id=request.conversation_id,
                               data={"request": request_key, "rating": rating, "changed": outcome == "changed"})
            if self._on_rated is not None:
                self._on_rated(rating)  # e.g. crm_copilot_feedback_total{rating}
        return outcome

    async def comment(self, request_key: str, *, user: str, text: str) -> bool:
        """Attach user's comment (masked) to their rating of the answer to request_key."""
        return await asyncio.to_thread(self._comment, request_key, user, text)

    def _comment(self, request_key: str, user: str, text: str) -> bool:
        request = self._requests.get(request_key)
        if request is None or not text.strip():
            return False
        try:
            vault = self._vaults(request.conversation_id) if request.conversation_id else None
            masked = self._gateway.mask_user_text(vault, text) if vault is not None else "(not kept)"
        except Exception:  # noqa: BLE001 - keep no text rather than unmasked text
            masked = "(not kept: it could not be checked for personal data)"
        if not self._feedback.comment(request_key, user=user, comment=masked):
            return False
        self._audit.record("feedback.comment", actor=user, conversation_id=request.conversation_id,
                           data={"request": request_key, "comment": masked[:1000]})
        return True
