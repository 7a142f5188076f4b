"""A scripted, OpenAI-compatible Chat Completions server on loopback, for tests and benchmarks.

Strict script: the N-th `POST /v1/chat/completions` gets step N. A step is a `Reply` (built with
`text`, `tool_calls`, `raw_tool_call`, `error`, `garbage`, `delay`) or a function of the parsed request body
returning one (a plain string is shorthand for `text(...)`)::

    with ScriptedModelServer([
        tool_calls(("search_contacts", {"text": "Zoë"})),
        lambda body: text(f"{len(body['messages'])} messages so far"),
    ]) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test")
        ...  # run the code under test against the client
    server.assert_done()  # every step used, nothing unexpected

A call beyond the script gets HTTP 500 ("unexpected call", with `x-should-retry: false` so the
client fails at once) and is recorded as a failure, as are streaming requests, unknown paths,
bodies that are not JSON and exceptions raised by step functions: `assert_done()` reports them.

Responder mode, for load: `ScriptedModelServer(responder=fn, latency=1.0)` calls `fn(body)` for
every request, after sleeping `latency` seconds. Connections are served by one event loop on a
thread of its own, so hundreds of slow requests overlap instead of queueing and a request costs
the server a fraction of a millisecond (a benchmark shares the machine with it); step functions
run on worker threads, so one that blocks (a barrier) holds up only its own request.

Every request (method, path, lower-cased headers, parsed JSON body, raw text, the client's port) is
kept, in order of arrival, in `server.requests`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import email.utils
import http
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

COMPLETIONS_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"


@dataclass(frozen=True)
class Reply:
    """One scripted answer: an assistant message (status 200) or an error body."""

    message: dict[str, Any] | None = None
    finish_reason: str = "stop"
    status: int = 200
    error: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw: bytes | None = None  # sent as the body instead of JSON (a broken server or proxy)


Step = Union[Reply, str, Callable[[dict[str, Any]], Union[Reply, str]]]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased: headers["authorization"]
    body: Any  # parsed JSON, or None when absent or not JSON
    raw: str
    peer_port: int = 0  # the client's port: requests on one keep-alive connection share it


def text(content: str, finish_reason: str = "stop") -> Reply:
    """An assistant message with `content`."""
    return Reply(message=_message(content), finish_reason=finish_reason)


def tool_calls(*calls: tuple[str, Any]) -> Reply:
    """Assistant tool calls: `tool_calls(("get_deal", {"deal_id": 3}), ...)`; arguments JSON-encoded."""
    return _tool_reply([(name, json.dumps(arguments)) for name, arguments in calls])


def raw_tool_call(name: str, arguments: str) -> Reply:
    """One tool call whose `arguments` string is sent verbatim (e.g. malformed JSON)."""
    return _tool_reply([(name, arguments)])


def error(status: int, message: str, retry_after: float | None = None, *,
          type: str | None = None, code: str | None = None) -> Reply:  # noqa: A002 - API field name
    """An OpenAI error body with HTTP `status`, and a `retry-after` header when given."""
    if type is None:
        type = "requests" if status == 429 else "server_error" if status >= 500 else "invalid_request_error"
    if code is None and status == 429:
        code = "rate_limit_exceeded"
    headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
    body = {"message": message, "type": type, "param": None, "code": code}
    return Reply(status=status, error=body, headers=headers)


def garbage(body: bytes = b"<html><body>502 Bad Gateway</body></html>", status: int = 200) -> Reply:
    """A reply whose body is not a chat completion (what a misbehaving proxy sends), with `status`."""
    return Reply(status=status, raw=body)


def delay(seconds: float, reply: Step) -> Step:
    """`reply`, sent after sleeping `seconds` (for latency and client timeouts)."""
    if callable(reply):
        return lambda body: delay(seconds, reply(body))  # type: ignore[return-value]
    reply = text(reply) if isinstance(reply, str) else reply
    return dataclasses.replace(reply, delay=reply.delay + seconds)


def _message(content: str | None, **extra: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content, "refusal": None, "annotations": [], **extra}


def _tool_reply(calls: list[tuple[str, str]]) -> Reply:
    encoded = [{"id": f"call_{secrets.token_hex(12)}", "type": "function",
                "function": {"name": name, "arguments": arguments}} for name, arguments in calls]
    return Reply(message=_message(None, tool_calls=encoded), finish_reason="tool_calls")


class ScriptedModelServer:
    """The server; a context manager that starts it on an ephemeral port and stops it on exit."""

    def __init__(self, steps: Sequence[Step] | None = None, *,
                 responder: Callable[[dict[str, Any]], Reply | str] | None = None,
                 latency: float = 0.0) -> None:
        if (steps is None) == (responder is None):
            raise ValueError("give either a list of steps or a responder")
        self._steps = list(steps or [])
        self._responder = responder
        self._latency = latency
        self._next = 0
        self._requests: list[RecordedRequest] = []
        self._failures: list[str] = []
        self._lock = threading.Lock()
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._workers: concurrent.futures.ThreadPoolExecutor | None = None
        self._stopped: asyncio.Event | None = None

    @property
    def base_url(self) -> str:
        assert self._port is not None, "server not started"
        return f"http://127.0.0.1:{self._port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def failures(self) -> list[str]:
        with self._lock:
            return list(self._failures)

    def assert_done(self) -> None:
        """Raise AssertionError if a failure was recorded or scripted steps were left unused."""
        with self._lock:
            problems = list(self._failures)
            if self._responder is None and self._next < len(self._steps):
                problems.append(f"{len(self._steps) - self._next} of {len(self._steps)} steps unused")
        if problems:
            raise AssertionError("scripted model server: " + "; ".join(problems))

    _start_error: BaseException | None = None  # what stopped the server's thread, if it failed

    def start(self) -> ScriptedModelServer:
        listener = socket.create_server(("127.0.0.1", 0), backlog=1024)  # a burst must not overflow it
        self._port = listener.getsockname()[1]
        # Step functions may block (a barrier across requests): each runs on a worker thread.
        self._workers = concurrent.futures.ThreadPoolExecutor(max_workers=256, thread_name_prefix="model-step")
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(listener, ready), name="model-server", daemon=True)
        self._thread.start()
        if not ready.wait(10) or self._start_error is not None:
            raise RuntimeError(f"the scripted model server did not start: {self._start_error!r}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stopped is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)  # drops replies still sleeping
        if self._thread is not None:
            self._thread.join()
        if self._workers is not None:
            self._workers.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> ScriptedModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- on the server's thread --

    def _serve(self, listener: socket.socket, ready: threading.Event) -> None:
        async def main() -> None:
            self._loop, self._stopped = asyncio.get_running_loop(), asyncio.Event()
            connections: set[asyncio.Task[None]] = set()

            async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                task = asyncio.current_task()
                assert task is not None
                connections.add(task)
                try:
                    await _Connection(self, reader, writer).serve()
                except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
                    pass  # stopping, or a client that gave up (timeouts) and left a broken socket
                finally:
                    connections.discard(task)
                    writer.close()

            server = await asyncio.start_server(connected, sock=listener, limit=1 << 24)
            ready.set()
            await self._stopped.wait()
            server.close()
            for task in list(connections):
                task.cancel()
            await asyncio.gather(*connections, return_exceptions=True)

        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - handed to start(), which would otherwise wait forever
            self._start_error = exc
        finally:
            ready.set()

    def _record(self, request: RecordedRequest | None, failure: str | None = None) -> None:
        with self._lock:
            self._requests += [request] if request else []
            self._failures += [failure] if failure else []

    async def _reply_to(self, body: dict[str, Any]) -> Reply:
        if self._responder is not None:
            step: Step = self._responder
            if self._latency:
                await asyncio.sleep(self._latency)
        else:
            with self._lock:
                index, self._next = self._next, self._next + 1
            if index >= len(self._steps):
                message = f"unexpected call #{index + 1}: the script has {len(self._steps)} steps"
                self._record(None, message)
                return _no_retry(error(500, message))
            step = self._steps[index]
        try:
            if callable(step):
                assert self._workers is not None
                reply = await asyncio.get_running_loop().run_in_executor(self._workers, step, body)
            else:
                reply = step
        except Exception as exc:  # noqa: BLE001 - reported through assert_done
            self._record(None, f"step raised {exc!r}")
            return _no_retry(error(500, f"step raised {exc!r}"))
        return text(reply) if isinstance(reply, str) else reply


def _no_retry(reply: Reply) -> Reply:
    return dataclasses.replace(reply, headers={**reply.headers, "x-should-retry": "false"})


def _completion(reply: Reply, body: dict[str, Any], request_chars: int) -> dict[str, Any]:
    assert reply.message is not None
    output = reply.message["content"] or json.dumps(reply.message.get("tool_calls"))
    # Usage as a real server reports it, estimated at 4 characters a token (of the request body:
    # the messages and tools are nearly all of it).
    prompt_tokens, completion_tokens = max(1, request_chars // 4), max(1, len(output) // 4)
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "unknown"),
        "choices": [{"index": 0, "message": reply.message, "finish_reason": reply.finish_reason,
                     "logprobs": None}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
        "service_tier": "default",
        "system_fingerprint": None,
    }


class _Connection:
    """One keep-alive HTTP/1.1 connection: requests read and answered in turn."""

    def __init__(self, owner: ScriptedModelServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._owner, self._reader, self._writer = owner, reader, writer
        self._peer_port = (writer.get_extra_info("peername") or ("", 0))[1]

    async def serve(self) -> None:
        while True:
            head = await self._reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                return await self._send(400, {"error": {"message": "malformed request line"}}, close=True)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name:
                    headers[name.strip().lower()] = value.strip()
            raw = (await self._body(headers)).decode("utf-8", "replace")
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            close = headers.get("connection", "").lower() == "close" or version != "HTTP/1.1"
            await self._handle(RecordedRequest(method, target, headers, parsed, raw, self._peer_port), close)
            if close:
                return

    async def _body(self, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append((await self._reader.readexactly(size + 2))[:-2])
            await self._reader.readuntil(b"\r\n")  # no trailers are sent by the clients used here
            return b"".join(chunks)
        length = int(headers.get("content-length") or 0)
        return await self._reader.readexactly(length) if length else b""

    async def _handle(self, request: RecordedRequest, close: bool) -> None:
        owner = self._owner
        path = request.path.split("?")[0]
        if request.method == "GET" and path == MODELS_PATH:
            owner._record(request)
            models = {"object": "list", "data": [{"id": "scripted", "object": "model", "created": 0,
                                                  "owned_by": "tests"}]}
            return await self._send(200, models, close=close)
        if request.method != "POST" or path != COMPLETIONS_PATH:
            owner._record(request, f"unknown endpoint {request.method} {request.path}")
            return await self._send_reply(_no_retry(error(404, f"unknown endpoint {request.method} {request.path}")),
                                          close=close)
        if not isinstance(request.body, dict):
            owner._record(request, "request body is not a JSON object")
            return await self._send_reply(_no_retry(error(400, "request body must be a JSON object")), close=close)
        if request.body.get("stream"):
            owner._record(request, "streaming requested")
            return await self._send_reply(_no_retry(error(400, "stream=true is not supported by this server")),
                                          close=close)
        owner._record(request)
        reply = await owner._reply_to(request.body)
        if reply.delay:
            await asyncio.sleep(reply.delay)  # cancelled, reply dropped, when the server stops
        await self._send_reply(reply, request.body, len(request.raw), close=close)

    async def _send_reply(self, reply: Reply, body: dict[str, Any] | None = None, request_chars: int = 0, *,
                          close: bool) -> None:
        if reply.raw is not None:
            return await self._send(reply.status, reply.raw, reply.headers, close=close)
        payload = {"error": reply.error} if reply.error is not None else _completion(reply, body or {}, request_chars)
        await self._send(reply.status, payload, reply.headers, close=close)

    async def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None, *, close: bool) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        head = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}", "server: scripted-model-server",
                f"date: {email.utils.formatdate(usegmt=True)}", "content-type: application/json",
                f"content-length: {len(data)}", f"x-request-id: req_{secrets.token_hex(8)}",
                *(f"{name}: {value}" for name, value in (headers or {}).items())]
        if close:
            head.append("connection: close")
        if self._writer.is_closing():
            return  # the client gave up (a timeout); nobody is waiting for this reply
        # One write: headers and body in one segment, so no Nagle/delayed-ACK stall between them.
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)
        with contextlib.suppress(ConnectionError):
            await self._writer.drain()
