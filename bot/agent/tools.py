"""The tool registry: what the model may call, with the JSON schema it sees.

A tool has a name, a description written for the model, a pydantic argument model, a kind
(read: runs at once; write: needs approval, so it only ever becomes a proposal), a risk level and,
for a read tool, a handler. How a write is planned and executed is the approval service's business.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel

Risk = Literal["low", "medium", "high"]


@dataclass(frozen=True)
class ToolOutput:
    """A read tool's result (JSON-ready), the sources it came from (KB paths, CRM records as "kind:id")
    and what a person calls them ("deal:12" -> "Acme renewal"), so an answer can list what it used."""

    value: Any
    citations: tuple[str, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[BaseModel]
    kind: Literal["read", "write"]
    risk: Risk
    run: Callable[[BaseModel, Any], ToolOutput] | None = None  # read tools: (arguments, the run's CRM view)

    @property
    def needs_approval(self) -> bool:
        """A write tool's call becomes a proposal that a person must approve; it never runs here."""
        return self.kind == "write"

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


class WriteSpec(Protocol):
    """What the model is told of a write: its name, description, arguments and risk."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def args(self) -> type[BaseModel]: ...

    @property
    def risk(self) -> Risk: ...


def write_tools(specs: Iterable[WriteSpec]) -> list[Tool]:
    """Write tools as the model sees them; the model can only propose them."""
    return [Tool(spec.name, spec.description, spec.args, "write", spec.risk) for spec in specs]
