"""A text ReAct protocol (Thought / Action / Action Input / Observation) for servers without
tool calling. It wraps any Model and speaks native tool calls to the loop, so the tools, the
budgets and the privacy guarantees are the same."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from bot.agent.model import Message, Model, ModelReply, ToolCall

FORMAT = """
You can use these tools:
{tools}

To use a tool, reply with exactly:
Thought: <your reasoning>
Action: <tool name>
Action Input: <JSON object of arguments>
Then stop and wait for the Observation. When you can answer, reply with:
Thought: <your reasoning>
Final Answer: <the answer for the user>"""

_ACTION = re.compile(r"Action:\s*([A-Za-z_][\w]*)\s*\n\s*Action Input:\s*(.*?)(?:\n\s*Observation:|\Z)", re.DOTALL)
_FINAL = re.compile(r"Final Answer:\s*(.*)\Z", re.DOTALL)


def describe_tools(tools: Sequence[dict[str, Any]]) -> str:
    lines = []
    for tool in tools:
        fn = tool["function"]
        params = fn.get("parameters", {}).get("properties", {})
        lines.append(f"- {fn['name']}: {fn['description']} Arguments: {json.dumps(params, separators=(',', ':'))}")
    return "\n".join(lines)


class TextProtocolModel:
    """Turns tool definitions into prompt text and Action lines back into tool calls."""

    def __init__(self, inner: Model) -> None:
        self._inner = inner
        self.name = inner.name

    async def complete(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]], *,
                       timeout: float | None = None) -> ModelReply:
        reply = await self._inner.complete(self._as_text(messages, tools), (), timeout=timeout)
        text = reply.content or ""
        action = _ACTION.search(text)
        final = _FINAL.search(text)
        if action and (not final or action.start() < final.start()):
            call = ToolCall(f"text_{len(messages)}", action.group(1), action.group(2).strip())
            return ModelReply(None, (call,), reply.usage, reply.model)
        answer = final.group(1).strip() if final else re.sub(r"^\s*Thought:.*?\n", "", text, flags=re.DOTALL).strip()
        return ModelReply(answer or text.strip(), (), reply.usage, reply.model)

    async def aclose(self) -> None:
        await self._inner.aclose()

    @staticmethod
    def _as_text(messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> list[Message]:
        out: list[Message] = []
        for m in messages:
            if m.role == "system":
                out.append(Message("system", (m.content or "") + FORMAT.format(tools=describe_tools(tools))))
            elif m.role == "assistant" and m.tool_calls:
                call = m.tool_calls[0]
                out.append(Message("assistant", f"Action: {call.name}\nAction Input: {call.arguments}"))
            elif m.role == "tool":
                out.append(Message("user", f"Observation: {m.content}"))
            else:
                out.append(Message(m.role, m.content))
        return out
