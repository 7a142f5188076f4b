"""The `response_url` endpoint: how an app answers a command or a click after acknowledging it.

A post lands where Slack would put it: an ephemeral for the person (the default), a message in
the channel (`in_channel`), or in place of the message that was clicked (`replace_original`,
`delete_original`). A URL works five times within thirty minutes.
"""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from slack_emulator import limits
from slack_emulator.api_chat import bot_message
from slack_emulator.records import ResponsePost
from slack_emulator.state import ResponseUrl, Workspace


class ResponseUrls:
    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace

    async def handle(self, request: web.Request) -> web.Response:
        url_id = request.match_info["url_id"]
        try:
            body = json.loads(await request.text())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._answer(url_id, {}, 400, "invalid_payload", None)
        target = self._ws.use_response_url(url_id)
        if target is None:
            known = url_id in self._ws.response_urls
            return self._answer(url_id, body, 404, "expired_url" if known else "no_such_url", None)
        problems = limits.block_problems(body["blocks"]) if "blocks" in body else []
        if problems:
            return self._answer(url_id, body, 400, "invalid_blocks", target)
        return self._answer(url_id, body, 200, self.apply(target, body), target)

    def apply(self, target: ResponseUrl, body: dict[str, Any]) -> str:
        """Put the post where Slack would; returns what was done."""
        ws = self._ws
        text = limits.truncate_text(body.get("text") or "")
        blocks = body.get("blocks") or []
        if body.get("delete_original") and target.source_ts:
            if target.source_ephemeral:
                ws.messages.delete_ephemeral(target.user, target.source_ts)
            else:
                ws.messages.delete(target.channel, target.source_ts)
            return "deleted"
        if body.get("replace_original") and target.source_ts:
            if target.source_ephemeral:
                ws.messages.replace_ephemeral(target.user, target.source_ts, text, blocks)
            elif ws.messages.get(target.channel, target.source_ts) is not None:
                # The new message replaces the old one whole: no blocks given means none kept.
                changes = {"text": text, "blocks": blocks} if blocks else {"text": text}
                ws.messages.update(target.channel, target.source_ts, changes, drop=() if blocks else ("blocks",))
            return "replaced"
        thread_ts = body.get("thread_ts") or None
        if body.get("response_type") == "in_channel":
            msg = bot_message(ws.config, ts=ws.next_ts(), text=text, blocks=blocks, thread_ts=thread_ts)
            ws.messages.add(target.channel, msg)
            return "in_channel"
        ws.messages.add_ephemeral(target.user, target.channel, text, blocks, thread_ts=thread_ts, source="response_url")
        return "ephemeral"

    def _answer(self, url_id: str, body: dict[str, Any], status: int, outcome: str, target: ResponseUrl | None) -> web.Response:
        user, channel = (target.user, target.channel) if target else ("", "")
        self._ws.record("responses", ResponsePost(url_id, body, status, outcome, user, channel, time.time()))
        if status == 200:
            return web.json_response({"ok": True})
        return web.json_response({"ok": False, "error": outcome}, status=status)
