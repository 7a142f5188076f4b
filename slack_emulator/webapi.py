"""The Web API front door: `/api/<method>` as slack_sdk calls it, with auth, faults and a record.

Arguments are accepted the ways Slack accepts them (query string, form, JSON body; structured
fields as JSON strings in forms), the bearer token is checked, injected faults are served before
anything else, and every call is recorded with its answer, so tests can assert what the bot asked.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from slack_emulator import api_assistant, api_chat, api_read, api_views
from slack_emulator.api_common import ApiError
from slack_emulator.records import Call
from slack_emulator.state import Workspace

Handler = Callable[[Workspace, dict[str, Any]], dict[str, Any]]
METHODS: dict[str, Handler] = {**api_chat.METHODS, **api_views.METHODS, **api_read.METHODS, **api_assistant.METHODS}
JSON_FIELDS = ("blocks", "attachments", "view", "metadata", "chunks", "loading_messages", "prompts")
FLAG_FIELDS = ("unfurl_links", "unfurl_media", "reply_broadcast", "as_user", "mrkdwn", "inclusive", "include_locale")


@dataclass(frozen=True)
class Fault:
    status: int
    retry_after: int
    error: str | None


class WebApi:
    """Serves Web API methods against a workspace."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace
        self._faults: dict[str, deque[Fault]] = {}

    def fail_next(self, method: str, *, status: int = 429, retry_after: int = 1, error: str | None = None, count: int = 1) -> None:
        """Make the next `count` calls of `method` fail: HTTP 429/5xx, or 200 with `error`."""
        queue = self._faults.setdefault(method, deque())
        queue.extend(Fault(status, int(retry_after), error) for _ in range(count))

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await parse_args(request)
        token = _bearer(request) or args.pop("token", None)
        args.pop("token", None)
        status, headers = 200, {}
        fault = self._take_fault(method)
        if fault is not None:
            status, body, headers = _fault_answer(fault)
        elif method not in METHODS:
            body = {"ok": False, "error": "unknown_method", "req_method": method}
        elif not token:
            body = {"ok": False, "error": "not_authed"}
        elif token != (self._ws.config.app_token if method == "apps.connections.open" else self._ws.config.bot_token):
            body = {"ok": False, "error": "invalid_auth"}
        else:
            try:
                body = {"ok": True, **METHODS[method](self._ws, args)}
            except ApiError as exc:
                body = {"ok": False, "error": exc.error, **exc.extra}
        self._ws.record("calls", Call(method, args, time.time(), status, body))
        return web.json_response(body, status=status, headers=headers)

    def _take_fault(self, method: str) -> Fault | None:
        queue = self._faults.get(method)
        return queue.popleft() if queue else None


async def parse_args(request: web.Request) -> dict[str, Any]:
    """Query string, then form or JSON body, with Slack's JSON-in-form fields decoded."""
    args: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                body = None
            if isinstance(body, dict):
                args.update(body)
        else:
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key in JSON_FIELDS:
        if isinstance(args.get(key), str):
            try:
                args[key] = json.loads(args[key])
            except ValueError:
                pass  # left as a string: the method answers invalid_blocks / invalid_arguments
    for key in FLAG_FIELDS:
        if isinstance(args.get(key), str):
            args[key] = args[key].lower() in ("1", "true", "yes")
    return args


def _bearer(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth[7:].strip() if auth.lower().startswith("bearer ") else None


def _fault_answer(fault: Fault) -> tuple[int, dict[str, Any], dict[str, str]]:
    if fault.error is not None:
        return 200, {"ok": False, "error": fault.error}, {}
    if fault.status == 429:
        return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(fault.retry_after)}
    return fault.status, {"ok": False, "error": "internal_error"}, {}
