"""The Model interface over the openai client: OpenAI, Azure, vLLM, Ollama... (the only openai importer)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx2
import openai
from openai import AsyncOpenAI

from bot.agent.model import Message, ModelError, ModelReply, ToolCall, Usage
from bot.config import ModelSection

# The client's connection pool (httpcore) walks every connection it holds, probing each idle
# socket, whenever a request starts and whenever a response is released. With one pool and 200
# calls in flight that bookkeeping cost more CPU than the rest of the call. Calls are spread over
# up to this many clients, each with its own pool, so a walk covers a few connections; together
# they keep as many connections open as there are calls in flight.
POOLS = 16


@dataclass
class _Clients:
    """The clients of one event loop and the calls each has in flight.

    A call goes to the least busy client, the first of equals: one at a time, every call uses
    the first client and its kept-alive connection (no new TLS handshake per call); under load
    the calls spread evenly."""

    clients: list[AsyncOpenAI]
    busy: list[int]

    @contextlib.contextmanager
    def least_busy(self) -> Iterator[AsyncOpenAI]:
        index = self.busy.index(min(self.busy))
        self.busy[index] += 1
        try:
            yield self.clients[index]
        finally:
            self.busy[index] -= 1


class OpenAIModel:
    """Chat completions with tools. The client's own retries (408/409/429/5xx, honouring
    retry-after, max_retries from app.toml) are the only retry layer."""

    def __init__(self, section: ModelSection, *, api_key: str | None, base_url: str | None) -> None:
        self.name = section.name
        self._section = section
        # Local servers (vLLM, Ollama) need no key, but the client insists on one.
        self._api_key, self._base_url = api_key or "not-needed", base_url
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Clients] = weakref.WeakKeyDictionary()
        # Loading the CA certificates takes about 30 ms: once, at start-up, shared by every client.
        self._tls = httpx2.create_ssl_context()
        # The tool schemas are 8 KB of JSON, the same on every call (the registry builds its list
        # once): encoded once per list. A list is never changed once handed to complete().
        self._tools_json: tuple[Sequence[dict[str, Any]], bytes] | None = None

    def _client(self) -> contextlib.AbstractContextManager[AsyncOpenAI]:
        # A connection pool belongs to the event loop it first ran on: clients per loop (the bot
        # has one loop; tests and benchmarks may run several in turn).
        loop = asyncio.get_running_loop()
        clients = self._clients.get(loop)
        if clients is None:
            clients = _Clients([
                AsyncOpenAI(api_key=self._api_key, base_url=self._base_url, timeout=self._section.timeout_seconds,
                            max_retries=self._section.max_retries,
                            http_client=openai.DefaultAsyncHttpxClient(verify=self._tls))
                for _ in range(POOLS)
            ], [0] * POOLS)
            self._clients[loop] = clients
        return clients.least_busy()

    async def aclose(self) -> None:
        """Close this event loop's connections (call before the loop ends)."""
        clients = self._clients.pop(asyncio.get_running_loop(), None)
        for client in clients.clients if clients is not None else ():
            await client.close()

    def _body(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]]) -> bytes:
        """The request body as the client would encode it (compact JSON, UTF-8)."""
        body = {"model": self.name, "messages": [m.to_openai() for m in messages],
                "temperature": self._section.temperature, "max_tokens": self._section.max_output_tokens}
        data = _json(body)
        if not tools:
            return data
        if self._tools_json is None or self._tools_json[0] is not tools:
            self._tools_json = (tools, _json(list(tools)))
        return data[:-1] + b',"tools":' + self._tools_json[1] + b"}"

    async def complete(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]], *,
                       timeout: float | None = None) -> ModelReply:
        options: dict[str, Any] = {}
        if timeout is not None:
            options["timeout"] = max(0.1, min(timeout, self._section.timeout_seconds))
        try:
            # The client's own POST to the chat completions endpoint, with the body already JSON:
            # create() would transform and encode the same parameters again on every call.
            with self._client() as client:
                raw = await client.post("/chat/completions", content=self._body(messages, tools),
                                        cast_to=bytes, options=options)  # type: ignore[arg-type]
        except openai.APITimeoutError:
            raise ModelError("the model server did not answer in time") from None
        except openai.AuthenticationError:
            raise ModelError("the model server refused the API key (check OPENAI_API_KEY)", transient=False) from None
        except openai.RateLimitError:
            raise ModelError("the model server is rate limiting requests; try again in a minute") from None
        except openai.APIStatusError as exc:
            # 4xx other than 408/409/429 is a request the server will refuse again: not transient.
            raise ModelError(f"the model server answered with an error (HTTP {exc.status_code})",
                             transient=exc.status_code >= 500 or exc.status_code in (408, 409)) from None
        except openai.APIConnectionError:
            raise ModelError("the model server cannot be reached (check OPENAI_BASE_URL)") from None
        return _reply(raw, self.name)


def _reply(raw: bytes, asked: str) -> ModelReply:
    """The reply from a chat completion's JSON, checked field by field.

    Read here rather than by the client's models: they build a typed object per field without
    validating it (a quarter of the client's time per call), and only these fields are used."""
    try:
        data = json.loads(raw)
        choices = data["choices"]
        if not choices:
            raise ModelError("the model server sent an empty reply")
        message = choices[0]["message"]
        content = message.get("content")
        calls = tuple(
            ToolCall(str(c.get("id") or f"call_{i}"), _text(c["function"]["name"]), _text(c["function"].get("arguments")))
            for i, c in enumerate(message.get("tool_calls") or ())
            if isinstance(c.get("function"), dict)
        )
        usage = data.get("usage") or {}
        if content is not None and not isinstance(content, str):
            raise TypeError("content is not text")
        return ModelReply(
            content=content, tool_calls=calls,
            usage=Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)),
            model=_text(data.get("model")) or asked,
        )
    except (ValueError, LookupError, TypeError, AttributeError):
        raise ModelError("the model server sent a reply that is not a chat completion") from None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError("expected text")
    return value


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
