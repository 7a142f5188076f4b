"""What the agent writes to the audit log: every model call, tool call and refusal, masked.

Records of concurrent runs share transactions (group commit), and each run waits until its own
record is stored before it goes on: what a run has done past a record is never missing from the
log, and a record that cannot be stored stops the run with the error.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from bot.agent.group_commit import GroupCommit
from bot.agent.model import Message, ModelReply, ToolCall


class AuditLog(Protocol):
    def record_many(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Append events in one transaction; each maps field names (kind, actor, conversation_id,
        data...) to values."""
        ...


class AgentAudit:
    """The agent's side of the audit log; data holds only what the model saw or wrote (masked)."""

    def __init__(self, log: AuditLog, *, model_name: str) -> None:
        self._commit: GroupCommit[Mapping[str, Any]] = GroupCommit(log.record_many)
        self._model_name = model_name

    async def model_call(self, actor: str, conversation_id: str, sent: Sequence[Message],
                         reply: ModelReply | None, error: str | None, started: float) -> None:
        """One model call: the messages new since the last call, the reply or the error, latency
        since started (a perf_counter reading, so it includes the client's own retries)."""
        data: dict[str, Any] = {
            "model": reply.model if reply is not None else self._model_name,
            "sent": [m.to_openai() for m in sent if m.role != "system"],
            "latency_ms": _ms_since(started),
        }
        if reply is not None:
            data["reply"] = {"content": reply.content,
                             "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in reply.tool_calls]}
            data["usage"] = {"prompt_tokens": reply.usage.prompt_tokens,
                             "completion_tokens": reply.usage.completion_tokens}
        if error is not None:
            data["error"] = error
        await self._write("model.call", actor, conversation_id, data)

    async def tool_call(self, actor: str, conversation_id: str, call: ToolCall, *, error: str | None,
                        started: float) -> None:
        """One tool call, with its arguments as the model sent them (masked)."""
        await self._write("tool.call", actor, conversation_id, {
            "tool": call.name, "arguments": call.arguments[:2000], "duration_ms": _ms_since(started),
            "error": error[:500] if error is not None else None,
        })

    async def refused(self, actor: str, conversation_id: str, reason: str) -> None:
        """A message the model was not sent."""
        await self._write("agent.refused", actor, conversation_id, {"reason": reason})

    async def _write(self, kind: str, actor: str, conversation_id: str, data: dict[str, Any]) -> None:
        await self._commit.submit({"kind": kind, "actor": actor, "conversation_id": conversation_id, "data": data})


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
