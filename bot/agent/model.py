"""The small model interface the agent talks to, and the messages it exchanges.

Implementations: OpenAIModel (any OpenAI-compatible server), TextProtocolModel (a text ReAct
protocol over a server without tool calling) and ScriptedModel (unit tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class ToolCall:
    """A call the model asked for; arguments is the raw JSON text (untrusted)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    def to_openai(self) -> dict[str, Any]:
        """The Chat Completions form of this message."""
        data: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            data["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                for c in self.tool_calls
            ]
        if self.tool_call_id is not None:
            data["tool_call_id"] = self.tool_call_id
        return data


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)


@dataclass(frozen=True)
class ModelReply:
    """One completion; model is the name the server says answered (it may differ from the one asked)."""

    content: str | None
    tool_calls: tuple[ToolCall, ...]
    usage: Usage
    model: str


class ModelError(Exception):
    """The model could not be reached, refused or answered nonsense. The message is for the
    operator (it may name a variable to set); people in Slack are told only that the assistant is
    not available. `transient` failures (5xx, timeouts, lost connections, 429s, garbage) count
    towards opening the model's circuit breaker and are worth retrying later."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class ModelUnavailable(ModelError):
    """The model's circuit breaker is open: no call was made."""


# What a person is told when the model (or the CRM) cannot serve their request; the operator's
# reason is logged and kept with the request.
UNAVAILABLE = "The assistant is not available right now; your request was not lost."


class Model(Protocol):
    name: str

    async def complete(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]], *,
                       timeout: float | None = None) -> ModelReply:
        """One chat completion; raises ModelError on any failure."""
        ...

    async def aclose(self) -> None:
        """Release connections held for the running event loop."""
        ...


class MissingModel:
    """Stands in when no model server is configured: every call explains what to set."""

    name = "none"

    async def complete(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]], *,
                       timeout: float | None = None) -> ModelReply:
        raise ModelError("no model server is configured: set OPENAI_API_KEY (OpenAI) or OPENAI_BASE_URL "
                         "(any OpenAI-compatible server) and restart the bot", transient=False)

    async def aclose(self) -> None:
        return None
