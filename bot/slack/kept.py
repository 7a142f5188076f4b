"""Keeping what could not be finished: a request whose turn or answer failed goes on the dead-letter list.

Guarantee: nothing accepted from Slack is dropped silently. A turn that failed because the model
or the CRM was down, or on an error of the bot's, is kept with its reason and what redoes it (the
request's key, where to answer, the question masked: real values stay in the conversation's
vault); an answer Slack would not take is kept with the answer masked. The person is told in one
sentence that their request was not lost and whether it will be retried or is listed as failed;
the reason (which may name a variable to set) is for the operator only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from bot.agent.model import UNAVAILABLE
from bot.config import DeadLettersSection
from bot.privacy.gateway import Gateway
from bot.privacy.vault import Vault
from bot.store.dead_letters import Kind, SqlDeadLetters, next_try

log = logging.getLogger(__name__)
WILL_RETRY = UNAVAILABLE.rstrip(".") + ": it is saved and will be retried."
LISTED = UNAVAILABLE.rstrip(".") + ": it is listed as failed, and the bot's operator can retry it."


class Request(Protocol):
    """What is kept of an incoming request (bot.slack.conversations.Incoming)."""

    key: str
    kind: str
    user: str
    channel: str
    text: str
    conversation_id: str
    thread_ts: str | None


class Kept:
    def __init__(self, letters: SqlDeadLetters, settings: DeadLettersSection, gateway: Gateway,
                 vaults: Callable[[str], Vault], clock: Callable[[], datetime]) -> None:
        self.letters, self._settings, self._gateway, self._vaults, self._clock = (
            letters, settings, gateway, vaults, clock)

    async def turn(self, request: Request, reason: str, *, partial: bool = False) -> str:
        """Keep a turn that could not be run; the sentence to tell its asker. A `partial` turn made
        proposals before it failed: running it again could propose them twice, so it is listed
        for an operator rather than retried automatically."""
        if partial:
            reason = f"{reason} (after making proposals: not retried automatically)"
        return await self._keep("turn", request, reason, lambda vault: {
            "text": self._gateway.mask_user_text(vault, request.text)}, automatic=not partial)

    async def after_error(self, request: Request, exc: BaseException, result: Any) -> str:
        """Keep what an error interrupted: the answer, when the agent had one (Slack refused it), else the turn."""
        if result is not None and getattr(result, "unavailable", False):
            return str(result.answer)  # the turn was kept already, with the reason that matters
        reason = _what_failed(exc)
        if result is not None and not getattr(result, "unavailable", False) and result.masked_answer:
            return await self._keep("answer", request, f"posting the answer failed ({reason})", lambda vault: {
                "answer": result.masked_answer, "citations": list(result.citations)})
        return await self.turn(request, f"internal error ({reason})")

    async def _keep(self, kind: Kind, request: Request, reason: str,
                    masked: Callable[[Vault], dict[str, Any]], *, automatic: bool = True) -> str:
        try:
            return await asyncio.to_thread(self._record, kind, request, reason, masked, automatic)
        except Exception:  # noqa: BLE001 - the database may be what failed; say so in the log at least
            log.exception("request %s could not be kept on the dead-letter list", request.key)
            return UNAVAILABLE

    def _record(self, kind: Kind, request: Request, reason: str, masked: Callable[[Vault], dict[str, Any]],
                automatic: bool) -> str:
        vault = self._vaults(request.conversation_id)
        payload = {"kind": request.kind, "conversation_id": request.conversation_id, "thread_ts": request.thread_ts,
                   **masked(vault)}
        before = self.letters.find(kind, request.key)
        attempts = before.attempts if before is not None else 0
        now = self._clock()
        retry_at = next_try(self._settings, attempts, now) if automatic else None
        retry = retry_at is not None
        letter = self.letters.record(kind, request.key, reason=reason, payload=payload, user=request.user,
                                     channel=request.channel, retry_at=retry_at, now=now)
        log.warning("request %s kept as failed item %d (%s): %s", request.key, letter, kind,
                    "will be retried" if retry else "listed as failed")
        return WILL_RETRY if retry else LISTED


def _what_failed(exc: BaseException) -> str:
    """The exception's type, and Slack's error code when Slack refused: never its text, which may
    quote the question or a record (the reason is stored unmasked and shown by `/crm failed`)."""
    code = getattr(getattr(exc, "response", None), "get", lambda _key: None)("error")
    return f"{type(exc).__name__}: {code}" if isinstance(code, str) and code.isidentifier() else type(exc).__name__
