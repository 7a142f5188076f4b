"""A request from Slack, from acceptance to answer: claim it once, show progress, answer, post cards.

Listeners call `accept()` after acknowledging; it claims the request under its key (a redelivery,
or the second event Slack sends for one mention, finds it claimed and stops there) and starts
the run in the background. Where the answer goes is a `Destination`: a thread (mentions, DMs,
thread replies, `/crm` in the channel) or the caller's response_url (`/crm`, ephemeral). An
answer is cut at `slack.max_answer_chars` with a note, and everything sent is guarded (the
Poster, and `guarded_respond` for the response_url) whoever calls the destination.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from adapters.crm.base import CrmAdapter
from bot.access.scope import Scope
from bot.access.scoped_crm import ScopedCrm
from bot.access.service import Admitted
from bot.agent.loop import Agent, AgentResult, Request
from bot.privacy.gateway import Gateway
from bot.privacy.vault import Vault
from bot.slack.audience import Audience
from bot.slack.blocks import messages
from bot.slack.blocks.cards import proposal_card
from bot.slack.blocks.links import Links
from bot.slack.decisions import CardDecisions
from bot.slack.mrkdwn import cap, from_model
from bot.slack.poster import Poster, guarded_respond
from bot.slack.runner import Runner
from bot.slack.types import Respond, SlackMessage
from bot.store.requests import SqlRequests

if TYPE_CHECKING:
    from bot.slack.kept import Kept

log = logging.getLogger(__name__)
PRIVATE_NOTE = ("🔒 <@{user}>, I sent you my answer privately: it uses CRM records that not everyone "
                "in this channel may see.")
PROGRESS_INTERVAL_S = 1.0  # chat.update allows about 50 calls a minute; one a second per run is plenty


@dataclass(frozen=True)
class Incoming:
    key: str  # what makes it unique: "<channel>:<message ts>" or "command:<trigger id>"
    kind: str  # mention, dm, thread, command
    user: str
    channel: str
    text: str
    conversation_id: str
    thread_ts: str | None = None
    event_id: str | None = None
    asker: Admitted | None = None  # who passed the door: their role and the records they may see


class Destination(Protocol):
    async def status(self, text: str) -> None: ...

    async def privately(self, user: str, note: str) -> Destination:
        """Where to deliver instead when not everyone here may read the answer (the note stays here)."""
        ...

    async def progress(self, text: str) -> None: ...

    async def answer(self, parts: list[SlackMessage]) -> None: ...

    async def cards(self, result: AgentResult) -> None: ...


class ThreadDestination:
    """Status message in the thread, edited as the agent works and replaced by the answer."""

    def __init__(self, poster: Poster, decisions: CardDecisions, channel: str, thread_ts: str | None,
                 progress_updates: bool) -> None:
        self._poster, self._decisions = poster, decisions
        self.channel, self.thread_ts, self._progress_updates = channel, thread_ts, progress_updates
        self._status_ts: str | None = None
        self._latest: str | None = None
        self._updating: asyncio.Task[None] | None = None

    async def status(self, text: str) -> None:
        message = messages.status(text)
        if self._status_ts is None:
            self._status_ts = await self._poster.post(self.channel, message, thread_ts=self.thread_ts)
        else:
            await self._poster.update(self.channel, self._status_ts, message)

    async def progress(self, text: str) -> None:
        """Called from inside the agent loop: never waits for Slack, coalesces bursts."""
        if not self._progress_updates or self._status_ts is None:
            return
        self._latest = text
        if self._updating is None or self._updating.done():
            self._updating = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._latest is not None:
            text, self._latest = self._latest, None
            await self.status(text)
            await asyncio.sleep(PROGRESS_INTERVAL_S)

    async def answer(self, parts: list[SlackMessage]) -> None:
        if self._updating is not None:  # a late progress edit must not overwrite the answer
            self._updating.cancel()
            await asyncio.gather(self._updating, return_exceptions=True)
        first, rest = parts[0], parts[1:]
        if self._status_ts is None or not await self._poster.update(self.channel, self._status_ts, first):
            await self._poster.post(self.channel, first, thread_ts=self.thread_ts)
        for part in rest:
            await self._poster.post(self.channel, part, thread_ts=self.thread_ts)

    async def cards(self, result: AgentResult) -> None:
        await self._decisions.post_cards(self.channel, self.thread_ts, result.proposals)

    async def privately(self, user: str, note: str) -> Destination:
        """The thread gets the note (in place of the status message); the answer goes to the asker's DM."""
        await self.answer([messages.plain(note)])
        opened = await self._poster.client.conversations_open(users=user)
        return ThreadDestination(self._poster, self._decisions, opened["channel"]["id"], None, False)


class EphemeralDestination:
    """Only the caller sees it: everything goes through the command's response_url."""

    def __init__(self, respond: Respond, links: Links) -> None:
        self._respond, self._links = guarded_respond(respond, links.allowed_hosts), links

    async def status(self, text: str) -> None:
        text, blocks = messages.status(text)
        await self._respond(text=text, blocks=blocks, response_type="ephemeral")

    async def progress(self, text: str) -> None:
        return None  # each response_url allows only five messages: keep them for the answer

    async def privately(self, user: str, note: str) -> Destination:
        return self  # only the caller sees what goes through the response_url

    async def answer(self, parts: list[SlackMessage]) -> None:
        for text, blocks in parts[:3]:
            await self._respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)

    async def cards(self, result: AgentResult) -> None:
        for proposal in result.proposals[:2]:  # the response_url's remaining uses
            text, blocks = proposal_card(proposal, self._links)
            await self._respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
        if len(result.proposals) > 2:
            await self._respond(text="More proposals were made: `/crm pending` lists them all.",
                                response_type="ephemeral", replace_original=False)


class Conversations:
    def __init__(self, *, agent: Agent, gateway: Gateway, vaults: Callable[[str], Vault], requests: SqlRequests,
                 runner: Runner, links: Links, crm: CrmAdapter, audience: Audience,
                 max_answer_chars: int = 12_000, kept: Kept | None = None) -> None:
        self._agent, self._gateway, self._vaults = agent, gateway, vaults
        self._max_answer_chars = max_answer_chars
        self._requests, self._runner, self._links = requests, runner, links
        self._crm, self._audience = crm, audience
        self._kept = kept  # the dead-letter list: what could not be finished is kept there

    async def accept(self, incoming: Incoming, destination: Destination) -> bool:
        """Claim the request and start it; False when it was already claimed (a duplicate)."""
        claimed = await asyncio.to_thread(
            self._requests.claim, incoming.key, kind=incoming.kind, user=incoming.user, channel=incoming.channel,
            thread_ts=incoming.thread_ts, conversation_id=incoming.conversation_id, event_id=incoming.event_id)
        if not claimed:
            log.info("duplicate delivery of %s ignored", incoming.key)
            return False
        self._runner.spawn(lambda: self._run(incoming, destination), name=f"request {incoming.key}")
        return True

    async def knows(self, conversation_id: str) -> bool:
        """True if the bot has taken part in this conversation (so a thread reply is for it)."""
        return await asyncio.to_thread(self._requests.has_conversation, conversation_id)

    async def retry(self, incoming: Incoming, destination: Destination) -> bool:
        """Run a kept request again (its key already claimed); True when it was answered this time."""
        await asyncio.to_thread(self._requests.reopen, incoming.key)
        return await self._run(incoming, destination)

    async def _run(self, incoming: Incoming, destination: Destination) -> bool:
        result: AgentResult | None = None
        try:
            ahead = self._runner.waiting
            await destination.status("Working on it…" if not self._runner.full else
                                      f"Queued: {ahead + 1} request{'s' if ahead else ''} ahead of yours…")
            # Without an admitted asker (no door in front) the run may read no CRM record at all.
            scope = incoming.asker.scope if incoming.asker else Scope(frozenset(), unowned=False)
            reader = ScopedCrm(self._crm, scope)
            async with self._runner.slot():
                result = await self._agent.run(
                    Request(incoming.conversation_id, incoming.user, incoming.text, incoming.channel,
                            incoming.thread_ts, reader=reader,
                            may_propose=incoming.asker.grant.propose if incoming.asker else False),
                    on_progress=lambda names: destination.progress(f"Running {names}…"))
            if result.unavailable and self._kept is not None:  # the model or the CRM is down: keep it
                result = replace(result, answer=await self._kept.turn(incoming, result.error or "unavailable",
                                                                      partial=bool(result.proposals)))
            if not await self._audience.everyone_may_read(incoming.channel, reader.seen):
                destination = await destination.privately(incoming.user, PRIVATE_NOTE.format(user=incoming.user))
            note = _note(result)
            answer = cap(result.answer, self._max_answer_chars)
            await destination.answer(messages.answer(from_model(answer, self._links.allowed_hosts),
                                                     result.citations, self._links, note))
            if result.proposals:
                await destination.cards(result)
            summary = await asyncio.to_thread(self._summary, incoming)
            await asyncio.to_thread(self._requests.finish, incoming.key,
                                    status="failed" if result.error else "answered", proposals=len(result.proposals),
                                    error="the assistant was not available" if result.unavailable else result.error,
                                    summary=summary)
            return not result.unavailable
        except Exception as exc:
            log.exception("request %s failed", incoming.key)
            await asyncio.to_thread(self._requests.finish, incoming.key, status="failed",
                                    error=f"internal error ({type(exc).__name__})")
            said = ("Sorry, something went wrong while answering. Please try again; if it keeps happening, "
                    "tell the bot's operator.")
            if self._kept is not None:  # kept: the turn, or only its answer when Slack would not take it
                said = await self._kept.after_error(incoming, exc, result)
            try:
                await destination.answer([messages.plain(said)])
            except Exception:  # noqa: BLE001 - Slack itself may be what failed
                log.exception("could not tell the user that request %s failed", incoming.key)
            return False

    def _summary(self, incoming: Incoming) -> str:
        """The question masked, as kept for the App Home (shown unmasked to its asker only)."""
        vault = self._vaults(incoming.conversation_id)
        try:
            return self._gateway.mask_user_text(vault, incoming.text[:300])
        except Exception:  # noqa: BLE001 - keep no text rather than unmasked text
            return "(not shown)"

    def shown(self, conversation_id: str | None, summary: str) -> str:
        """A stored summary with its real values back, for the asker's App Home."""
        if not conversation_id:
            return summary
        return self._gateway.unmask_text(self._vaults(conversation_id), summary)


def _note(result: AgentResult) -> str | None:
    if result.stopped:
        return f"Stopped early ({result.stopped} budget reached); the answer may be incomplete."
    if result.proposals:
        n = len(result.proposals)
        return f"{n} proposed change{'s' if n > 1 else ''} below: nothing happens until someone approves."
    return None
