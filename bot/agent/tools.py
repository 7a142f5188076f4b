"""The tool registry: what the model may call, with the JSON schema it sees.

A tool has a name, a description written for the model, a pydantic argument model, a kind
(read: runs at once; write: only ever becomes a proposal), a risk level and a handler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from bot.actions.operations import Operation


@dataclass(frozen=True)
class ToolOutput:
    """A read tool's result (JSON-ready) and the sources it came from (KB paths, CRM records)."""

    value: Any
    citations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[BaseModel]
    kind: Literal["read", "write"]
    risk: Literal["low", "medium", "high"]
    run: Callable[[BaseModel], ToolOutput] | None = None  # read tools
    operation: Operation | None = field(default=None, repr=False)  # write tools

    def schema(self) -> dict[str, Any]:
        """The Chat Completions tool definition (titles dropped: they cost tokens, say nothing)."""
        return {"type": "function", "function": {
            "name": self.name, "description": self.description,
            "parameters": _compact(self.args.model_json_schema()),
        }}


def _compact(schema: Any) -> Any:
    if isinstance(schema, dict):
        out = {k: _compact(v) for k, v in schema.items() if k != "title"}
        # Optional fields come out as anyOf [X, null] with a null default: say X, once.
        any_of = out.get("anyOf")
        if isinstance(any_of, list) and len(any_of) == 2 and {"type": "null"} in any_of:
            inner = next(s for s in any_of if s != {"type": "null"})
            out.pop("anyOf")
            out = {**inner, **out}
            if out.get("default", "missing") is None:
                out.pop("default")
        if out.get("additionalProperties") is False:
            out.pop("additionalProperties")
        return out
    if isinstance(schema, list):
        return [_compact(s) for s in schema]
    return schema


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool]) -> None:
        self._tools = {t.name: t for t in tools}
        self._schemas = [t.schema() for t in self._tools.values()]  # built once: pydantic takes ~15 ms

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return list(self._tools)

    def schemas(self) -> list[dict[str, Any]]:
        return self._schemas


def write_tools(operations: Mapping[str, Operation]) -> list[Tool]:
    """Write tools from the approval service's operations: the model can only propose them."""
    return [Tool(op.name, op.description, op.args, "write", op.risk, operation=op) for op in operations.values()]
