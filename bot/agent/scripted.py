"""A scripted Model for unit tests: an ordered list of steps, every call recorded.

A step is a ModelReply, a ModelError to raise, or a function of the messages returning one of
those. A call beyond the script fails loudly; assert_done() fails if steps were left unused.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Union

from bot.agent.model import Message, ModelError, ModelReply, ToolCall, Usage

Step = Union[ModelReply, ModelError, Callable[[Sequence[Message]], Union[ModelReply, ModelError]]]


def reply(text: str, *, tokens: int = 10) -> ModelReply:
    """A final answer."""
    return ModelReply(text, (), Usage(tokens, tokens), "scripted")


def call(*calls: tuple[str, dict[str, Any] | str], tokens: int = 10) -> ModelReply:
    """Tool calls; a str instead of a dict is sent as raw (possibly invalid) JSON."""
    made = tuple(
        ToolCall(f"call_{i}", name, args if isinstance(args, str) else json.dumps(args))
        for i, (name, args) in enumerate(calls)
    )
    return ModelReply(None, made, Usage(tokens, tokens), "scripted")


@dataclass(frozen=True)
class Recorded:
    messages: tuple[Message, ...]
    tools: tuple[dict[str, Any], ...]


class ScriptedModel:
    name = "scripted"

    def __init__(self, steps: Sequence[Step]) -> None:
        self._steps = list(steps)
        self.calls: list[Recorded] = []

    async def complete(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]], *,
                       timeout: float | None = None) -> ModelReply:
        self.calls.append(Recorded(tuple(messages), tuple(tools)))
        if len(self.calls) > len(self._steps):
            raise AssertionError(f"unexpected model call #{len(self.calls)}; the script has {len(self._steps)} steps")
        step = self._steps[len(self.calls) - 1]
        outcome = step(messages) if callable(step) else step
        if isinstance(outcome, ModelError):
            raise outcome
        return outcome

    async def aclose(self) -> None:
        return None

    def assert_done(self) -> None:
        if len(self.calls) != len(self._steps):
            raise AssertionError(f"the script has {len(self._steps)} steps but {len(self.calls)} were used")

    def sent_text(self) -> str:
        """Everything sent to the model, as one string (for checks that a value never leaked)."""
        return "\n".join(json.dumps([m.to_openai() for m in c.messages], ensure_ascii=False) for c in self.calls)
