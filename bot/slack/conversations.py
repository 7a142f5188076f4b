"""A request from Slack, from acceptance to answer: claim it once, show progress, answer, post cards.

Listeners call `accept()` after acknowledging; it claims the request under its key (a redelivery,
or the second event Slack sends for one mention, finds it claimed and stops there), lets the gate
(the limits) count it or refuse it with one line, and starts the run in the background; the run's
tokens are charged to the gate afterwards. Where the answer goes is a `Destination`: a thread (mentions, DMs,
thread replies, `/crm` in the channel) or the caller's response_url (`/crm`, ephemeral). An
answer is cut at `slack.max_answer_chars` with a note, and everything sent is guarded (the
Poster, and `guarded_respond` for the response_url) whoever calls the destination.

In a thread, with `slack.agent_surfaces` on, the signs of work are Slack's own: the native
status with loading messages in words, then the answer streamed under a timeline of the tool
calls (bot.slack.native_status, bot.slack.answer_stream). Where the workspace refuses the status,
and for ephemeral answers, the status message is posted and edited as before. Every answer ends
with a disclaimer and feedback buttons.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from adapters.crm.base import CrmAdapter
from bot.access.scope import Scope
from bot.access.scoped_crm import ScopedCrm
from bot.access.service import Admitted
from bot.agent.loop import Agent, AgentResult, Request, ToolEvent
from bot.agent.model import Usage
from bot.ops.journal import Journal
from bot.privacy.gateway import Gateway
from bot.privacy.vault import Vault
from bot.slack import activity
from bot.slack.answer_stream import AnswerStream
from bot.slack.audience import Audience
from bot.slack.blocks import feedback, messages
from bot.slack.blocks.cards import proposal_card
from bot.slack.blocks.links import Links
from bot.slack.decisions import CardDecisions
from bot.slack.mrkdwn import cap, from_model
from bot.slack.native_status import NativeStatus
from bot.slack.poster import Poster, guarded_respond
from bot.slack.runner import Runner
from bot.slack.types import Respond, SlackMessage
from bot.slack.waiting import Waiting
from bot.store.requests import SqlRequests

if TYPE_CHECKING:
    from bot.slack.kept import Kept

log = logging.getLogger(__name__)
PRIVATE_NOTE = ("🔒 <@{user}>, I sent you my answer privately: it uses CRM records that not everyone "
                "in this channel may see.")
PROGRESS_INTERVAL_S = 1.0  # chat.update allows about 50 calls a minute; one a second per run is plenty
WORKING = "Working on it…"
WRITING = "Reading what it found…"


@dataclass(frozen=True)
class Surfaces:
    """How a thread shows work and answers ([slack] agent_surfaces, status_refresh_seconds)."""

    enabled: bool = False  # native status and streamed answers; off: the status message, edited
    refresh_seconds: float = 60.0


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
    team: str | None = None  # the asker's workspace (a streamed answer in a channel names its recipient)


class Destination(Protocol):
    async def status(self, text: str) -> None: ...

    async def privately(self, user: str, note: str) -> Destination:
        """Where to deliver instead when not everyone here may read the answer (the note stays here)."""
        ...

    async def progress(self, text: str) -> None: ...

    async def answer(self, parts: list[SlackMessage]) -> None:
        """Messages of our own wording in place of an answer (a failure, a note)."""
        ...

    async def reply(self, answer: messages.Answer) -> None:
        """The agent's answer, with its footer."""
        ...

    async def activity(self, event: ToolEvent) -> None:
        """A tool call started or finished; never waits for Slack."""
        ...

    async def cards(self, result: AgentResult) -> None: ...


class Gate(Protocol):
    """What a request passes after it is claimed and before it runs (the limits), and what a run's
    tokens are charged to afterwards."""

    async def admit(self, incoming: Incoming) -> str | None:
        """None: the request may run; else the line that refuses it (kept with the request, and
        told to the person by `refuse`)."""
        ...

    async def refuse(self, incoming: Incoming, destination: Destination, line: str) -> None: ...

    async def charge(self, user: str, usage: Usage) -> None: ...


class ThreadDestination:
    """Signs of work in the thread, then the answer there.

    With surfaces on and accepted by the workspace: the native status (loading messages from the
    tool calls, refreshed on long runs) and the answer streamed under a timeline of the calls.
    Otherwise a status message, edited as the agent works and replaced by the answer."""

    def __init__(self, poster: Poster, decisions: CardDecisions, channel: str, thread_ts: str | None,
                 progress_updates: bool, *, surfaces: Surfaces = Surfaces(),
                 recipient: tuple[str, str | None] | None = None, private: bool = False) -> None:
        self._poster, self._decisions = poster, decisions
        self.channel, self.thread_ts, self._progress_updates = channel, thread_ts, progress_updates
        self._status_ts: str | None = None
        self._latest: str | None = None
        self._updating: asyncio.Task[None] | None = None
        self._private = private  # only the asker reads here (a DM): the timeline may quote what they searched
        self._native: NativeStatus | None = None
        self._stream: AnswerStream | None = None
        self._running: dict[str, str] = {}  # loading message of each tool call in flight
        self._titles: dict[str, str] = {}  # each call's title, from its start (the finish has no arguments)
        if surfaces.enabled and thread_ts:
            self._native = NativeStatus(poster.client, channel, thread_ts, refresh_seconds=surfaces.refresh_seconds)
            user, team = recipient or (None, None)
            self._stream = AnswerStream(poster.client, poster, channel, thread_ts,
                                        recipient_user=None if private else user, recipient_team=None if private else team)

    @property
    def _surfaces(self) -> bool:
        """Native status accepted (a workspace that refuses it gets the status message and no stream)."""
        return self._native is not None and not self._native.refused

    async def status(self, text: str) -> None:
        if self._surfaces and await self._native.show([text]):  # type: ignore[union-attr]
            return
        if self._stream is not None and self._stream.ts is not None:
            return  # the timeline in the thread is the sign of work now
        message = messages.status(text)
        if self._status_ts is None:
            self._status_ts = await self._poster.post(self.channel, message, thread_ts=self.thread_ts)
        else:
            await self._poster.update(self.channel, self._status_ts, message)

    async def progress(self, text: str) -> None:
        """Called from inside the agent loop: never waits for Slack, coalesces bursts."""
        if not self._progress_updates or (self._status_ts is None and not self._surfaces):
            return
        self._latest = text
        if self._updating is None or self._updating.done():
            self._updating = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._latest is not None:
            text, self._latest = self._latest, None
            if self._surfaces and self._running and text.startswith("Still"):
                await self._native.show([text, *self._running.values()])  # type: ignore[union-attr]
            elif self._surfaces and self._running:
                await self._native.show(list(self._running.values()))  # type: ignore[union-attr]
            else:
                await self.status(text)
            await asyncio.sleep(PROGRESS_INTERVAL_S)

    async def activity(self, event: ToolEvent) -> None:
        """The timeline's row for the call, and the status's loading messages."""
        if not self._surfaces:
            if event.phase == "started":
                await self.progress(activity.loading(event, private=self._private))
            return
        if event.phase == "started":
            self._titles[event.call_id] = activity.title(event, private=self._private)
            self._running[event.call_id] = activity.loading(event, private=self._private)
        else:
            self._running.pop(event.call_id, None)
        title = self._titles.get(event.call_id) or activity.title(event, private=self._private)
        if self._stream is not None:
            self._stream.task(event.call_id, title, activity.status(event),
                              activity.output(event) if event.phase == "finished" else None)
        if event.phase == "started":
            await self.progress(self._running[event.call_id])
        elif not self._running:
            await self.progress(WRITING)  # every call is done: the model is at work again

    async def _quiet(self) -> None:
        """No more progress: a late edit or status must not land after the answer."""
        if self._updating is not None:
            self._updating.cancel()
            await asyncio.gather(self._updating, return_exceptions=True)
        if self._native is not None:
            await self._native.stop()

    async def reply(self, answer: messages.Answer) -> None:
        if self._surfaces and self._stream is not None and not self._stream.broken:
            await self._quiet()
            await self._stream.finish(answer.body, list(answer.footer), answer.parts())
            return
        await self.answer(answer.parts())

    async def answer(self, parts: list[SlackMessage]) -> None:
        await self._quiet()
        if self._stream is not None and self._stream.ts is not None and not self._stream.done:
            body = "\n\n".join(b["text"]["text"] for _t, blocks in parts for b in blocks if b.get("type") == "section")
            rest = [b for _t, blocks in parts for b in blocks if b.get("type") != "section"]
            await self._stream.finish(body, rest, parts)
            return
        if self._stream is not None:
            await self._stream.close()
        first, rest_parts = parts[0], parts[1:]
        if self._status_ts is None or not await self._poster.update(self.channel, self._status_ts, first):
            await self._poster.post(self.channel, first, thread_ts=self.thread_ts)
        for part in rest_parts:
            await self._poster.post(self.channel, part, thread_ts=self.thread_ts)

    async def cards(self, result: AgentResult) -> None:
        await self._decisions.post_cards(self.channel, self.thread_ts, result.proposals)

    async def privately(self, user: str, note: str) -> Destination:
        """The thread gets the note (in place of the status message); the answer goes to the asker's DM."""
        await self.answer([messages.plain(note)])
        return ThreadDestination(self._poster, self._decisions, await self._poster.dm(user), None, False, private=True)


class EphemeralDestination:
    """Only the caller sees it: everything goes through the command's response_url."""

    def __init__(self, respond: Respond, links: Links, decisions: CardDecisions | None = None) -> None:
        self._respond, self._links = guarded_respond(respond, links.allowed_hosts), links
        self._decisions = decisions  # names the cards' records and owners, as in a thread

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

    async def reply(self, answer: messages.Answer) -> None:
        await self.answer(answer.parts())  # a response_url cannot stream

    async def activity(self, event: ToolEvent) -> None:
        return None  # the response_url's few uses are kept for the answer

    async def cards(self, result: AgentResult) -> None:
        for proposal in result.proposals[:2]:  # the response_url's remaining uses
            text, blocks = (await self._decisions.card(proposal) if self._decisions is not None
                            else proposal_card(proposal, self._links))
            await self._respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
        if len(result.proposals) > 2:
            await self._respond(text="More proposals were made: `/crm pending` lists them all.",
                                response_type="ephemeral", replace_original=False)


class Conversations:
    def __init__(self, *, agent: Agent, gateway: Gateway, vaults: Callable[[str], Vault], requests: SqlRequests,
                 runner: Runner, links: Links, crm: CrmAdapter, audience: Audience,
                 max_answer_chars: int = 12_000, waiting_note_seconds: float = 20.0,
                 journal: Journal | None = None, gate: Gate | None = None, kept: Kept | None = None) -> None:
        self._gate = gate
        self._agent, self._gateway, self._vaults = agent, gateway, vaults
        self._journal = journal or Journal(None, log_decisions=False)
        self._max_answer_chars, self._waiting_note_seconds = max_answer_chars, waiting_note_seconds
        self._requests, self._runner, self._links = requests, runner, links
        self._crm, self._audience = crm, audience
        self._kept = kept  # the dead-letter list: what could not be finished is kept there

    async def accept(self, incoming: Incoming, destination: Destination) -> bool:
        """Claim the request and start it (or refuse it, recorded as refused); False when it was
        already claimed (a duplicate)."""
        claimed = await asyncio.to_thread(
            self._requests.claim, incoming.key, kind=incoming.kind, user=incoming.user, channel=incoming.channel,
            thread_ts=incoming.thread_ts, conversation_id=incoming.conversation_id, event_id=incoming.event_id)
        if not claimed:
            log.info("duplicate delivery of %s ignored", incoming.key)
            return False
        self._journal.received(incoming.kind, user=incoming.user, channel=incoming.channel,
                               conversation_id=incoming.conversation_id)
        refused = await self._gate.admit(incoming) if self._gate is not None else None
        if refused is not None and self._gate is not None:
            self._journal.refused(incoming.kind, user=incoming.user, channel=incoming.channel, reason="over a limit")
            await asyncio.to_thread(self._requests.finish, incoming.key, status="refused", error=refused)
            await self._gate.refuse(incoming, destination, refused)
            return True
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
        waiting = Waiting(destination.progress, every=self._waiting_note_seconds)
        try:
            ahead = self._runner.waiting
            if self._runner.full:
                self._journal.queued(incoming.kind, conversation_id=incoming.conversation_id, ahead=ahead)
                waiting.queued(ahead + 1)
            await destination.status(WORKING if not self._runner.full else
                                     f"Queued: {ahead + 1} request{'s' if ahead else ''} ahead of yours…")
            waiting.start()
            # The question, masked, is recorded at once: the App Home shows what is in progress.
            summary = await asyncio.to_thread(self._summary, incoming)
            await asyncio.to_thread(self._requests.describe, incoming.key, summary)
            # Without an admitted asker (no door in front) the run may read no CRM record at all.
            scope = incoming.asker.scope if incoming.asker else Scope(frozenset(), unowned=False)
            reader = ScopedCrm(self._crm, scope)
            tools: list[str] = []

            async def on_tool(event: ToolEvent) -> None:
                waiting.tool(event.phase == "started")
                if event.phase == "started":
                    tools.append(event.name)
                await destination.activity(event)

            async with self._runner.slot():
                started = time.perf_counter()
                waiting.running()
                result = await self._agent.run(
                    Request(incoming.conversation_id, incoming.user, incoming.text, incoming.channel,
                            incoming.thread_ts, reader=reader,
                            may_propose=incoming.asker.grant.propose if incoming.asker else False,
                            owner=_owner_id(incoming.asker)),
                    on_tool=on_tool)
            ran = time.perf_counter() - started
            await waiting.stop()
            if self._gate is not None:
                await self._gate.charge(incoming.user, result.usage)
            if result.unavailable and self._kept is not None:  # the model or the CRM is down: keep it
                result = replace(result, answer=await self._kept.turn(incoming, result.error or "unavailable",
                                                                      partial=bool(result.proposals)))
            if not await self._audience.everyone_may_read(incoming.channel, reader.seen):
                destination = await destination.privately(incoming.user, PRIVATE_NOTE.format(user=incoming.user))
            note = _note(result)
            answer = cap(result.answer, self._max_answer_chars)
            await destination.reply(messages.answer_of(from_model(answer, self._links.allowed_hosts),
                                                       result.citations, self._links, note,
                                                       extra=feedback.footer(incoming.key), names=result.source_names))
            if result.proposals:
                await destination.cards(result)
            self._journal.finished(incoming.kind, conversation_id=incoming.conversation_id, seconds=ran,
                                   steps=result.steps, error=result.error, stopped=result.stopped)
            await asyncio.to_thread(self._requests.finish, incoming.key,
                                    status="failed" if result.error else "answered", proposals=len(result.proposals),
                                    error="the assistant was not available" if result.unavailable else result.error,
                                    summary=summary, tools=tuple(dict.fromkeys(tools)))
            return not result.unavailable
        except Exception as exc:
            await waiting.stop()
            log.exception("request %s failed", incoming.key)
            self._journal.crashed(incoming.kind, conversation_id=incoming.conversation_id, error=exc)
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


def _owner_id(asker: Admitted | None) -> str | None:
    owner = asker.person.owner if asker else None
    return owner.id if owner else None


def _note(result: AgentResult) -> str | None:
    if result.stopped:
        return f"Stopped early ({result.stopped} budget reached); the answer may be incomplete."
    if result.proposals:
        n = len(result.proposals)
        return f"{n} proposed change{'s' if n > 1 else ''} below: nothing happens until someone approves."
    return None
