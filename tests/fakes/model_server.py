"""A scripted, OpenAI-compatible Chat Completions server on loopback, for tests and benchmarks.

Strict script: the N-th `POST /v1/chat/completions` gets step N. A step is a `Reply` (built with
`text`, `tool_calls`, `raw_tool_call`, `error`, `delay`) or a function of the parsed request body
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
every request, after sleeping `latency` seconds; requests are handled on threads of their own, so
hundreds of slow requests overlap instead of queueing.

Every request (method, path, lower-cased headers, parsed JSON body, raw text) is kept, in order of
arrival, in `server.requests`.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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


Step = Union[Reply, str, Callable[[dict[str, Any]], Union[Reply, str]]]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased: headers["authorization"]
    body: Any  # parsed JSON, or None when absent or not JSON
    raw: str


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
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

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

    def start(self) -> ScriptedModelServer:
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        name="model-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes delayed replies still sleeping
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> ScriptedModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- called by the handler threads --

    def _record(self, request: RecordedRequest | None, failure: str | None = None) -> None:
        with self._lock:
            self._requests += [request] if request else []
            self._failures += [failure] if failure else []

    def _reply_to(self, body: dict[str, Any]) -> Reply:
        if self._responder is not None:
            step: Step = self._responder
            if self._latency:
                self._stopping.wait(self._latency)
        else:
            with self._lock:
                index, self._next = self._next, self._next + 1
            if index >= len(self._steps):
                message = f"unexpected call #{index + 1}: the script has {len(self._steps)} steps"
                self._record(None, message)
                return _no_retry(error(500, message))
            step = self._steps[index]
        try:
            reply = step(body) if callable(step) else step
        except Exception as exc:  # noqa: BLE001 - reported through assert_done
            self._record(None, f"step raised {exc!r}")
            return _no_retry(error(500, f"step raised {exc!r}"))
        return text(reply) if isinstance(reply, str) else reply


def _no_retry(reply: Reply) -> Reply:
    return dataclasses.replace(reply, headers={**reply.headers, "x-should-retry": "false"})


def _completion(reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
    assert reply.message is not None
    prompt = json.dumps([body.get("messages"), body.get("tools")], ensure_ascii=False)
    output = reply.message["content"] or json.dumps(reply.message.get("tool_calls"))
    prompt_tokens, completion_tokens = max(1, len(prompt) // 4), max(1, len(output) // 4)
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


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a burst of concurrent connections must not overflow the backlog
    owner: ScriptedModelServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that gave up (timeouts) leave broken sockets behind; nothing to report


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a client's pool reuses connections
    # Headers and body go out in separate writes; with Nagle's algorithm on, the body waits for
    # the client's delayed ACK and every reply takes 40 ms longer.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        request = self._read()
        if self.path.split("?")[0] == MODELS_PATH:
            self.server.owner._record(request)
            models = {"object": "list", "data": [{"id": "scripted", "object": "model", "created": 0,
                                                  "owned_by": "tests"}]}
            self._send(200, models)
        else:
            self._unknown(request)

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        request = self._read()
        owner = self.server.owner
        if self.path.split("?")[0] != COMPLETIONS_PATH:
            return self._unknown(request)
        if not isinstance(request.body, dict):
            owner._record(request, "request body is not a JSON object")
            return self._send_reply(_no_retry(error(400, "request body must be a JSON object")))
        if request.body.get("stream"):
            owner._record(request, "streaming requested")
            return self._send_reply(_no_retry(error(400, "stream=true is not supported by this server")))
        owner._record(request)
        reply = owner._reply_to(request.body)
        if reply.delay and owner._stopping.wait(reply.delay):
            return  # stopping: drop the reply
        self._send_reply(reply, request.body)

    def _read(self) -> RecordedRequest:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {name.lower(): value for name, value in self.headers.items()}
        return RecordedRequest(self.command, self.path, headers, body, raw)

    def _unknown(self, request: RecordedRequest) -> None:
        self.server.owner._record(request, f"unknown endpoint {request.method} {request.path}")
        self._send_reply(_no_retry(error(404, f"unknown endpoint {request.method} {request.path}")))

    def _send_reply(self, reply: Reply, body: dict[str, Any] | None = None) -> None:
        payload = {"error": reply.error} if reply.error is not None else _completion(reply, body or {})
        self._send(reply.status, payload, reply.headers)

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("x-request-id", f"req_{secrets.token_hex(8)}")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base
        pass
