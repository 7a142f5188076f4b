"""Retrying what the dead-letter list keeps: a turn re-runs and answers in its thread, an answer is
posted again, an execution goes through the approval service again, a digest is posted now.

Guarantees: an item is retried by one process (claimed in the database); a turn is not retried
while the model's or the CRM's breaker is open (it would fail at once and spend an attempt),
and items are retried one at a time, so a half-open breaker's probe is a real request; an
execution retried here is the approval service's retry of a transient failure, claimed with a
conditional update like any approval, so it still executes at most once; the asker of a turn
passes the door again (a person removed since is not answered).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.access.service import Admitted
from bot.breaker import Breakers
from bot.slack.blocks import messages
from bot.slack.conversations import Destination, Incoming, ThreadDestination
from bot.slack.deps import SlackDeps
from bot.slack.mrkdwn import from_model
from bot.store.dead_letters import Letter, SqlDeadLetters

log = logging.getLogger(__name__)
UNFINISHED = "retried, not finished"


class Redo:
    def __init__(self, deps: SlackDeps, letters: SqlDeadLetters, breakers: Breakers, *, instance: str,
                 clock: Callable[[], datetime]) -> None:
        self._deps, self._letters, self._breakers = deps, letters, breakers
        self._instance, self._clock = instance, clock

    async def sweep(self) -> int:
        """Retry every item whose time has come; returns how many were finished."""
        now = self._clock()
        # An item claimed longer ago than a turn may last belongs to a process that stopped.
        stuck_before = now - timedelta(seconds=self._deps.settings.agent.max_seconds + 60)
        await asyncio.to_thread(self._letters.requeue_stuck, claimed_before=stuck_before, now=now)
        kinds = ["execution", "digest"]
        if self._breakers.blocked() is None:
            kinds += ["turn", "answer"]
        letters = await asyncio.to_thread(self._letters.claim_due, by=self._instance, now=now, kinds=kinds)
        finished = 0
        for letter in letters:
            try:
                done = await self.redo(letter)
            except Exception as exc:  # noqa: BLE001 - the item goes back on the list, with the reason
                log.exception("retrying failed item %d did not work", letter.id)
                await asyncio.to_thread(self._letters.record, letter.kind, letter.ref,  # type: ignore[arg-type]
                                        reason=f"retry failed ({type(exc).__name__})", payload=letter.payload,
                                        now=self._clock())
                continue
            if done:
                await asyncio.to_thread(self._letters.done, letter.id, now=self._clock())
                finished += 1
            else:
                await asyncio.to_thread(self._unfinished, letter)
        return finished

    def _unfinished(self, letter: Letter) -> None:
        """A retry that did not finish and that nothing recorded again (a digest that no longer
        exists or failed as a run of its own, an approval the database did not answer) is listed as
        failed: left "retrying", it would be requeued as stuck and tried again without end."""
        current = self._letters.get(letter.id)
        if current is None or current.status != "retrying":
            return
        reason = current.reason if current.reason.startswith(UNFINISHED) else f"{UNFINISHED}: {current.reason}"
        self._letters.record(letter.kind, letter.ref, reason=reason, payload=letter.payload,  # type: ignore[arg-type]
                             user=letter.user, channel=letter.channel, now=self._clock())

    async def redo(self, letter: Letter) -> bool:
        """One retry; True when the work is done now. A failure records itself again (with its reason)."""
        log.info("retrying failed item %d (%s %s, attempt %d)", letter.id, letter.kind, letter.ref, letter.attempts)
        if letter.kind == "turn":
            return await self._turn(letter)
        if letter.kind == "answer":
            return await self._answer(letter)
        if letter.kind == "execution":
            decision = await self._deps.decisions.approve(str(letter.payload["proposal_id"]),
                                                          str(letter.payload.get("approver") or letter.user),
                                                          tell_clicker=False)
            # failed again: the approval service listed it again; anything else is the end of it
            return decision.outcome != "failed"
        if letter.kind == "digest":
            outcome = await self._deps.digests.run_now(str(letter.payload["digest"]))
            return outcome.status == "posted"
        log.warning("failed item %d has an unknown kind %s", letter.id, letter.kind)
        return False

    async def _turn(self, letter: Letter) -> bool:
        deps, payload = self._deps, letter.payload
        user, channel = letter.user or "", letter.channel or ""
        asker = await deps.access.admit(user)
        if not isinstance(asker, Admitted):
            await asyncio.to_thread(self._letters.record, "turn", letter.ref, payload=payload, user=user,
                                    channel=channel, reason="the asker may no longer use the bot; not retried")
            return False
        conversation = str(payload["conversation_id"])
        text = await asyncio.to_thread(self._real, conversation, str(payload.get("text") or ""))
        incoming = Incoming(key=letter.ref, kind=str(payload.get("kind") or "mention"), user=user, channel=channel,
                            text=text, conversation_id=conversation, thread_ts=payload.get("thread_ts"), asker=asker)
        return await deps.conversations.retry(incoming, await self._destination(channel, payload.get("thread_ts"), user))

    async def _answer(self, letter: Letter) -> bool:
        deps, payload = self._deps, letter.payload
        conversation = str(payload["conversation_id"])
        answer = await asyncio.to_thread(self._real, conversation, str(payload.get("answer") or ""))
        destination = await self._destination(letter.channel or "", payload.get("thread_ts"), letter.user or "")
        await destination.answer(messages.answer(from_model(answer, deps.links.allowed_hosts),
                                                 tuple(payload.get("citations") or ()), deps.links))
        await asyncio.to_thread(deps.requests.finish, letter.ref, status="answered")
        return True

    async def _destination(self, channel: str, thread_ts: object, user: str) -> Destination:
        """The original thread; a request answered privately before (no thread) is answered by DM."""
        deps = self._deps
        if isinstance(thread_ts, str) and thread_ts:
            return ThreadDestination(deps.poster, deps.decisions, channel, thread_ts, False)
        return ThreadDestination(deps.poster, deps.decisions, await deps.poster.dm(user), None, False)

    def _real(self, conversation_id: str, masked: str) -> str:
        """Masked text with its real values back, from the conversation's vault (blocking)."""
        conversations = self._deps.conversations
        return conversations.shown(conversation_id, masked)
