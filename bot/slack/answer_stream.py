"""One answer streamed into a thread (`chat_stream`): a task timeline while the agent works, then
the answer's text, then the blocks under it. Delivered once, whatever Slack does.

Tool calls become `task_update` chunks as they start and finish; they are queued and sent by one
flusher, so the agent never waits for Slack. The answer's text arrives whole, already unmasked,
escaped and checked (no placeholder is ever streamed half-replaced), and is appended in slices of
at most 12,000 characters, Slack's limit per call. If any stream call fails (an idle stream
expires with `message_not_in_streaming_state`, a rate limit outlasts its retries, the workspace
refuses streaming) no further stream call is made and the answer goes out as a normal message:
`chat.update` on the stream's message when it was started, else a new post, so it is never lost
and never posted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.poster import Poster, guard_chunks
from bot.slack.types import SlackMessage

log = logging.getLogger(__name__)
APPEND_LIMIT = 12_000  # characters of markdown_text per chat.appendStream
_LINK = re.compile(r"<(https?://[^|>\s]+)(?:\|([^>]*))?>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")


class AnswerStream:
    """The streamed reply to one request in one thread."""

    def __init__(self, client: AsyncWebClient, poster: Poster, channel: str, thread_ts: str, *,
                 recipient_user: str | None = None, recipient_team: str | None = None) -> None:
        self._client, self._poster = client, poster
        self.channel, self.thread_ts = channel, thread_ts
        # Slack needs the recipient in channels; a DM has only one.
        self._recipient = {"recipient_user_id": recipient_user, "recipient_team_id": recipient_team} \
            if recipient_user and recipient_team else {}
        self._streamer: Any = None
        self._queued: list[dict[str, Any]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.broken = False
        self.done = False

    @property
    def ts(self) -> str | None:
        """The streamed message's ts once the stream has started."""
        return self._streamer.ts if self._streamer is not None else None

    def task(self, task_id: str, title: str, status: str, output: str | None = None) -> None:
        """Queue a task_update chunk; sent soon, in order, without the caller waiting."""
        if self.broken or self.done:
            return
        chunk = {"type": "task_update", "id": task_id, "title": title, "status": status}
        if output:
            chunk["output"] = output
        self._queued.append(chunk)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush(), name=f"stream {self.thread_ts}")

    async def _flush(self) -> None:
        while self._queued and not self.broken:
            chunks, self._queued = self._queued, []
            await self._send(chunks)

    async def _streaming(self) -> Any:
        if self._streamer is None:
            self._streamer = await self._client.chat_stream(channel=self.channel, thread_ts=self.thread_ts,
                                                            task_display_mode="timeline", **self._recipient)
        return self._streamer

    async def _send(self, chunks: list[dict[str, Any]], *, stop: bool = False,
                    blocks: list[dict[str, Any]] | None = None) -> bool:
        """One stream call; False (and the stream given up) when Slack refuses or fails."""
        try:
            streamer = await self._streaming()
            safe = guard_chunks(chunks, self._poster.allowed_hosts)
            if stop:
                await streamer.stop(chunks=safe or None, blocks=blocks)
            else:
                await streamer.append(chunks=safe)
        except SlackApiError as exc:
            log.warning("streaming in %s stopped (%s); the answer is posted instead",
                        self.channel, exc.response.get("error"))
            self.broken = True
        except Exception as exc:  # noqa: BLE001 - any failure ends in the fallback, never in a lost answer
            log.warning("streaming in %s failed (%s); the answer is posted instead", self.channel, type(exc).__name__)
            self.broken = True
        return not self.broken

    async def finish(self, text: str, blocks: list[dict[str, Any]], fallback: list[SlackMessage]) -> str | None:
        """Deliver the answer: its mrkdwn text streamed (as Markdown), then the blocks under it; or,
        if the stream cannot, the fallback messages. Returns the ts of the (first) answer message."""
        if self._flusher is not None:  # the timeline's last chunks go first, in order
            with contextlib.suppress(Exception):
                await self._flush_now()
        pieces = slices(to_markdown(text), APPEND_LIMIT) or [""]
        if not self.broken:
            sent = True
            for n, piece in enumerate(pieces[:-1]):
                head = self._take_queued() if n == 0 else []
                sent = await self._send([*head, {"type": "markdown_text", "text": piece}])
                if not sent:
                    break
            if sent:
                last = [{"type": "markdown_text", "text": pieces[-1]}] if pieces[-1] else []
                head = self._take_queued() if len(pieces) == 1 else []
                if await self._send([*head, *last], stop=True, blocks=blocks):
                    self.done = True
                    return self.ts
        self.done = True
        return await self._fall_back(fallback)

    async def _flush_now(self) -> None:
        flusher = self._flusher
        if flusher is not None and not flusher.done():
            await flusher

    def _take_queued(self) -> list[dict[str, Any]]:
        chunks, self._queued = self._queued, []
        return chunks

    async def _fall_back(self, fallback: list[SlackMessage]) -> str | None:
        """The answer as normal messages: the stream's message replaced when there is one."""
        if not fallback:
            return self.ts
        first, rest = fallback[0], fallback[1:]
        ts = self.ts
        if ts is None or not await self._poster.update(self.channel, ts, first):
            ts = await self._poster.post(self.channel, first, thread_ts=self.thread_ts)
        for part in rest:
            await self._poster.post(self.channel, part, thread_ts=self.thread_ts)
        return ts

    async def close(self) -> None:
        """Stop sending queued chunks (the run ended without an answer through this stream)."""
        self.done = True
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._flusher


def to_markdown(mrkdwn: str) -> str:
    """Slack mrkdwn as the Markdown that streamed text is read as: `*bold*` -> `**bold**`,
    `<url|label>` -> `[label](url)`. Escapes (`&lt;`) stay: Markdown shows them as the character.

    The only links are the ones the guard let through (`<url|label>` to allowed hosts): Markdown
    link syntax already in the text (`[x](//elsewhere)`, `[x]: …`) is broken up first."""
    out = mrkdwn.replace("](", "] (").replace("]:", "] :")

    def link(m: re.Match[str]) -> str:
        label = (m.group(2) or "").replace("[", "(").replace("]", ")")
        return f"[{label}]({m.group(1)})" if label else m.group(1)

    return _BOLD.sub(r"**\1**", _LINK.sub(link, out))


def slices(text: str, limit: int) -> list[str]:
    """text cut into pieces of at most limit characters whose concatenation is text: at a line
    break or a space where one is near the end, never inside an escape such as `&amp;`."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n"), window.rfind(" ")) + 1
        if cut <= limit // 2:
            cut = limit
        amp = window.rfind("&", 0, cut)
        if amp > 0 and ";" not in window[amp:cut] and cut - amp < 6:
            cut = amp
        pieces.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        pieces.append(rest)
    return pieces
