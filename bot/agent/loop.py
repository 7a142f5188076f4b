"""The ReAct loop: model -> tool calls (concurrently) -> observations -> ... -> final answer.

Everything bound for the model passes the privacy gateway first; tool arguments are unmasked
value by value just before a tool runs. Read tools run at once; a write tool needs approval, so
its call is handed to the proposal sink (the approval service) and never executed here. Budgets
(steps, tool calls, tokens, time, invalid outputs) end a run with an honest partial answer. The
loop posts nothing: it returns a result.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from adapters.crm.base import CrmAdapter, CrmError, CrmUnavailable
from adapters.crm.fields import describe_error
from bot.agent import prompts
from bot.agent.arguments import InvalidArguments, parse_arguments
from bot.agent.audit_trail import AgentAudit, AuditLog
from bot.agent.base import History, HistoryTurn, ProposalSink
from bot.agent.budget import Answered, Budget, BudgetName, Ending, Failed, StoppedByBudget
from bot.agent.model import UNAVAILABLE, Message, Model, ModelError, ModelReply, ToolCall, Usage
from bot.agent.tools import Tool, ToolOutput, ToolRegistry
from bot.config import AgentSection
from bot.privacy.gateway import Gateway, UnknownPlaceholder
from bot.privacy.spans import DetectionError
from bot.privacy.vault import Vault
from bot.records import PlanError, ProposalView

log = logging.getLogger(__name__)
Progress = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class ToolEvent:
    """A tool call starting or finished, for a live account of the run (a timeline, a status line).

    `arguments` are the call's real values (shown only where the asker alone reads); a finished
    event carries only its outcome and how many items a read returned, never the records."""

    call_id: str
    name: str
    phase: Literal["started", "finished"]
    arguments: Mapping[str, Any] = field(default_factory=dict)
    outcome: Literal["ok", "failed", "proposed", "invalid"] | None = None
    found: int | None = None


ToolWatcher = Callable[[ToolEvent], Awaitable[None]]


@dataclass(frozen=True)
class Request:
    conversation_id: str
    user: str
    text: str
    channel: str | None = None
    thread_ts: str | None = None
    # The CRM as the asker may see it: every read tool and every plan of a write reads through it.
    # None only for callers that speak for the whole CRM (the agent then reads its own CRM).
    reader: CrmAdapter | None = None
    may_propose: bool = True  # False: write tools answer that the asker's role may not propose changes
    owner: str | None = None  # the asker's CRM owner: the activities their proposals log are theirs


@dataclass(frozen=True)
class AgentResult:
    """answer is for a person (real values); masked_answer is what the model wrote."""

    answer: str
    masked_answer: str
    proposals: tuple[ProposalView, ...] = ()
    citations: tuple[str, ...] = ()
    usage: Usage = Usage()
    steps: int = 0
    tool_calls: int = 0
    stopped: BudgetName | None = None
    error: str | None = None  # for the operator and the request's record, never shown to the asker
    source_names: Mapping[str, str] = field(default_factory=dict)  # citation -> what a person calls it
    unavailable: bool = False  # the model or the CRM was down: worth running again later


@dataclass
class _ToolResult:
    """What one tool call came to: the observation the model reads, and what the run keeps."""

    text: str
    invalid: bool = False  # the model's call was malformed (counts against max_errors)
    failed: bool = False  # the call was fine but the tool refused or failed
    proposal: ProposalView | None = None
    citations: tuple[str, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)
    found: int | None = None  # items a read returned (0 for a record not found)
    down: bool = False  # the CRM could not be reached: the run ends, to be run again later

    @property
    def outcome(self) -> Literal["ok", "failed", "proposed", "invalid"]:
        if self.invalid:
            return "invalid"
        if self.failed:
            return "failed"
        return "proposed" if self.proposal is not None else "ok"


class _CrmDown(Exception):
    """A tool found the CRM unreachable: an answer now would be built on nothing."""


@dataclass
class _Run:
    """One run's state; its counters are what the budget checks (see budget.Spending)."""

    request: Request
    vault: Vault
    reader: CrmAdapter
    started: float = 0.0
    usage: Usage = Usage()
    steps: int = 0
    tool_calls: int = 0
    pending: int = 0
    errors: int = 0
    watcher: ToolWatcher | None = None
    proposals: list[ProposalView] = field(default_factory=list)
    citations: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)


def estimate_tokens(text: str) -> int:
    """A rough count (4 characters a token) for budgeting history; usage comes from the server."""
    return len(text) // 4 + 1


class Agent:
    def __init__(self, *, model: Model, gateway: Gateway, vaults: Callable[[str], Vault], registry: ToolRegistry,
                 history: History, audit: AuditLog, proposals: ProposalSink, crm: CrmAdapter, settings: AgentSection,
                 bot_name: str, clock: Callable[[], datetime]) -> None:
        self._model, self._gateway, self._vaults, self._registry = model, gateway, vaults, registry
        self._crm = crm
        self._history, self._proposals = history, proposals
        self._settings, self._bot_name, self._clock = settings, bot_name, clock
        self._budget = Budget.from_settings(settings)
        self._audit = AgentAudit(audit, model_name=model.name)

    async def run(self, request: Request, *, on_progress: Progress | None = None,
                  on_tool: ToolWatcher | None = None) -> AgentResult:
        """Answer one message of a conversation; on_tool hears each tool call start and finish."""
        limit = self._settings.max_message_chars
        if len(request.text) > limit:
            text = f"Your message has {len(request.text):,} characters; the limit is {limit:,}. Please shorten it."
            return AgentResult(answer=text, masked_answer=text, error="message too long")
        try:
            vault, masked_user, history = await asyncio.to_thread(self._begin, request)
        except DetectionError:
            log.exception("personal-data detection failed; the model was not called")
            text = ("I could not check your message for personal data, so I did not send it to the model. "
                    "Please try again; if it keeps happening, tell the bot's operator.")
            await self._audit.refused(request.user, request.conversation_id, "detection failed")
            return AgentResult(answer=text, masked_answer=text, error="detection failed")
        run = _Run(request, vault, request.reader if request.reader is not None else self._crm, watcher=on_tool)
        system = prompts.SYSTEM.format(bot_name=self._bot_name, today=self._clock().date().isoformat(),
                                       user=request.user)
        messages = [Message("system", system), *(Message(t.role, t.content) for t in history),
                    Message("user", masked_user)]
        try:
            ending = await self._loop(run, messages, on_progress)
        except DetectionError:
            log.exception("personal-data detection failed on a tool result; the run was stopped")
            ending = Failed("personal-data detection failed on a tool result")
        except _CrmDown as exc:
            ending = Failed(str(exc), unavailable=True)
        match ending:
            case Failed(error, unavailable=True):
                log.warning("conversation %s: the turn failed: %s", request.conversation_id, error)
                return _result(run, answer=UNAVAILABLE, masked_answer="", error=error, unavailable=True)
            case Failed(error):
                return _result(run, answer=f"Sorry, I could not answer: {error}.", masked_answer="", error=error)
            case Answered(text):
                masked_answer, stopped = text, None
            case StoppedByBudget(budget, partial):
                masked_answer, stopped = prompts.stopped_answer(budget, partial), budget
        await asyncio.to_thread(self._history.append, request.conversation_id, [
            HistoryTurn("user", masked_user, estimate_tokens(masked_user)),
            HistoryTurn("assistant", masked_answer, estimate_tokens(masked_answer)),
        ])
        answer = self._gateway.unmask_text(vault, masked_answer)
        return _result(run, answer=answer, masked_answer=masked_answer, stopped=stopped)

    # Blocking steps are grouped so that a turn makes few thread hops: under load each hop costs
    # more than the sub-millisecond database work it carries (the worker and the event loop pass
    # the interpreter lock back and forth).

    def _begin(self, request: Request) -> tuple[Vault, str, Sequence[Any]]:
        """The conversation (created once), its vault, the message masked (raises DetectionError)
        and the history that fits the budget."""
        created = self._history.ensure(request.conversation_id, channel=request.channel,
                                       thread_ts=request.thread_ts, started_by=request.user)
        vault = self._vaults(request.conversation_id)
        # Read here, in a worker thread: unmasking later runs on the event loop. The first turn of a
        # conversation has no placeholders and no turns to read yet.
        if created:
            vault.assume_new()
        else:
            vault.load()
        masked = self._gateway.mask_user_text(vault, request.text)
        history = [] if created else self._history.recent(request.conversation_id,
                                                          token_budget=self._settings.history_tokens)
        return vault, masked, history

    async def _loop(self, run: _Run, messages: list[Message], on_progress: Progress | None) -> Ending:
        """Model step, then the tool calls it asked for, then the next model step..., until the model
        answers, a budget runs out (checked before every step) or the model fails."""
        budget, schemas = self._budget, self._registry.schemas()
        run.started = budget.clock()
        partial: str | None = None  # the text the model wrote beside its latest tool calls
        asked: ModelReply | None = None  # a reply whose tool calls have not run yet
        sent = 0  # messages already audited
        while True:
            run.pending = len(asked.tool_calls) if asked is not None else 0
            stop = budget.exceeded(run)
            if stop:
                return StoppedByBudget(stop, partial)
            if asked is not None:
                await self._run_tools(run, asked, messages, on_progress)
                asked = None
                continue
            remaining = budget.remaining(run)
            started = time.perf_counter()
            try:
                reply = await asyncio.wait_for(self._model.complete(messages, schemas, timeout=remaining), remaining)
            except (TimeoutError, asyncio.TimeoutError):
                return StoppedByBudget("time", partial)
            except ModelError as exc:
                await self._audit.model_call(run.request.user, run.request.conversation_id, messages[sent:], None,
                                             str(exc), started)
                # Whatever the cause, the asker hears only that the assistant is unavailable: the
                # cause (a variable to set, a server down) is the operator's, logged and kept.
                return Failed(str(exc), unavailable=True)
            run.steps += 1
            run.usage += reply.usage
            await self._audit.model_call(run.request.user, run.request.conversation_id, messages[sent:], reply,
                                         None, started)
            sent = len(messages)
            if not reply.tool_calls:
                return Answered((reply.content or "").strip() or "(no answer)")
            if reply.content and reply.content.strip():
                partial = reply.content.strip()
            asked = reply

    async def _run_tools(self, run: _Run, reply: ModelReply, messages: list[Message],
                         on_progress: Progress | None) -> None:
        """Run one reply's tool calls concurrently; their observations join the conversation."""
        run.tool_calls += len(reply.tool_calls)
        if on_progress is not None:
            await on_progress(", ".join(dict.fromkeys(c.name for c in reply.tool_calls)))
        first = run.tool_calls - len(reply.tool_calls)
        results = await asyncio.gather(*(self._call(run, c, f"t{first + n + 1}") for n, c in enumerate(reply.tool_calls)))
        down = next((r for r in results if r.down), None)
        if down is not None:
            raise _CrmDown(down.text)
        messages.append(Message("assistant", reply.content, reply.tool_calls))
        for tool_call, result in zip(reply.tool_calls, results, strict=True):
            messages.append(Message("tool", result.text, tool_call_id=tool_call.id))
            run.errors += result.invalid
            run.citations.extend(result.citations)
            run.names.update(result.names)
            if result.proposal is not None:
                run.proposals.append(result.proposal)

    async def _call(self, run: _Run, call: ToolCall, call_id: str) -> _ToolResult:
        started = time.perf_counter()
        await self._tell(run, ToolEvent(call_id, call.name, "started", self._shown_arguments(run, call)))
        result = await self._dispatch(run, call)
        await self._audit.tool_call(run.request.user, run.request.conversation_id, call, started=started,
                                    error=result.text if result.invalid or result.failed else None)
        await self._tell(run, ToolEvent(call_id, call.name, "finished", outcome=result.outcome, found=result.found))
        return result

    async def _tell(self, run: _Run, event: ToolEvent) -> None:
        if run.watcher is None:
            return
        try:
            await run.watcher(event)
        except Exception:  # noqa: BLE001 - telling the user how it goes must never stop the run
            log.exception("the tool watcher failed on %s", event.name)

    def _shown_arguments(self, run: _Run, call: ToolCall) -> Mapping[str, Any]:
        """The call's arguments with their real values, or none when they cannot be read."""
        if run.watcher is None:
            return {}
        try:
            real = self._gateway.unmask_arguments(run.vault, parse_arguments(call.name, call.arguments))
        except Exception:  # noqa: BLE001 - a malformed call is _dispatch's to answer
            return {}
        return real if isinstance(real, Mapping) else {}

    async def _dispatch(self, run: _Run, call: ToolCall) -> _ToolResult:
        tool = self._registry.get(call.name)
        if tool is None:
            return _invalid(f"unknown tool {call.name!r}; use one of: {', '.join(self._registry.names())}")
        try:
            raw = parse_arguments(call.name, call.arguments)  # size and nesting checked before parsing
        except InvalidArguments as exc:
            return _invalid(str(exc))
        try:
            real = self._gateway.unmask_arguments(run.vault, raw)
        except UnknownPlaceholder as exc:
            return _invalid(str(exc))
        try:
            args = tool.args.model_validate(real)
        except ValidationError as exc:
            problem = await self._mask(run, describe_error(exc))  # it may quote the (real) value
            return _invalid(f"invalid arguments for {call.name}: {problem}")
        if tool.needs_approval and not run.request.may_propose:
            return _ToolResult(self._observation({"error": "the asker's role may not propose changes; say so and "
                                                           "suggest asking someone who may"}), failed=True)
        try:
            if not tool.needs_approval:
                masked, output = await asyncio.to_thread(self._read, run, tool, args)
                return _ToolResult(self._observation({"result": masked}), citations=output.citations,
                                   names=output.names, found=_count(output.value))
            proposal, summary = await asyncio.to_thread(self._propose, run, tool, real)
            text = self._observation({"status": "awaiting_approval", "proposal_id": proposal.id, "summary": summary,
                                      "note": "Nothing has changed yet: a person must approve this proposal."})
            return _ToolResult(text, proposal=proposal)
        except CrmUnavailable as exc:
            return _ToolResult(str(exc), failed=True, down=True)
        except (PlanError, CrmError) as exc:
            return _ToolResult(self._observation({"error": await self._mask(run, str(exc))}), failed=True)
        except DetectionError:
            raise  # fail closed: nothing of this result may reach the model
        except Exception as exc:  # noqa: BLE001 - a failing tool is an observation, not a crash
            log.exception("tool %s failed", call.name)
            problem = f"{call.name} failed ({type(exc).__name__}); try another way"
            return _ToolResult(self._observation({"error": problem}), failed=True)

    def _read(self, run: _Run, tool: Tool, args: BaseModel) -> tuple[Any, ToolOutput]:
        """A read tool's result masked (raises DetectionError), and the output with its citations."""
        assert tool.run is not None
        output = tool.run(args, run.reader)
        return self._gateway.mask_value(run.vault, output.value), output

    def _propose(self, run: _Run, tool: Tool, real: Mapping[str, Any]) -> tuple[ProposalView, str]:
        """A write tool's call (real values) stored as a proposal for approval, and its summary masked."""
        proposal = self._proposals.propose_call(tool.name, real, requester=run.request.user,
                                                conversation_id=run.request.conversation_id,
                                                channel=run.request.channel, reader=run.reader,
                                                owner=run.request.owner)
        return proposal, self._gateway.mask_text(run.vault, proposal.summary).text

    async def _mask(self, run: _Run, text: str) -> str:
        # Detection is CPU work and may write the vault: off the event loop.
        return (await asyncio.to_thread(self._gateway.mask_text, run.vault, text)).text

    def _observation(self, value: dict[str, Any]) -> str:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
        limit = self._settings.max_result_chars
        if len(text) > limit:
            return text[:limit] + f"... [cut: {len(text) - limit} more characters; ask for fewer results]"
        return text


def _count(value: Any) -> int:
    """Items in a read's result: a list's length, 0 for a record not found, else 1."""
    if isinstance(value, list):
        return len(value)
    return 0 if isinstance(value, dict) and set(value) == {"error"} else 1


def _invalid(message: str) -> _ToolResult:
    return _ToolResult(json.dumps({"error": message}, ensure_ascii=False), invalid=True)


def _result(run: _Run, *, answer: str, masked_answer: str, stopped: BudgetName | None = None,
            error: str | None = None, unavailable: bool = False) -> AgentResult:
    return AgentResult(answer=answer, masked_answer=masked_answer, proposals=tuple(run.proposals),
                       citations=tuple(dict.fromkeys(run.citations)), source_names=dict(run.names), usage=run.usage,
                       steps=run.steps, tool_calls=run.tool_calls, stopped=stopped, error=error, unavailable=unavailable)
