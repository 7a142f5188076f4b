"""Slack's own loading status under a thread (`assistant.threads.setStatus`) while the agent works.

Slack clears the status when the app replies, or after two minutes without a message, so a run
longer than `refresh_seconds` sets it again. A workspace that refuses the call (no
`assistant:write`, an older plan, an unknown method) refuses it for the rest of the run: the
caller then shows the old status message instead, and nothing is lost either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.mrkdwn import truncate

log = logging.getLogger(__name__)
STATUS = "is working on it…"  # Slack shows it after the app's name
MAX_LOADING_MESSAGES = 10  # Slack's limit per call
LOADING_LIMIT = 150  # one short line each


class NativeStatus:
    """The status of one thread: set, refreshed on long runs, given up on the first refusal."""

    def __init__(self, client: AsyncWebClient, channel: str, thread_ts: str, *, refresh_seconds: float,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._client, self.channel, self.thread_ts = client, channel, thread_ts
        self._refresh_seconds, self._sleep = refresh_seconds, sleep
        self._loading: list[str] = []
        self._refresher: asyncio.Task[None] | None = None
        self.refused = False

    async def show(self, loading: Sequence[str]) -> bool:
        """Set the status with these loading messages; False when the workspace refuses it."""
        if self.refused:
            return False
        messages = [truncate(m, LOADING_LIMIT) for m in loading if m][:MAX_LOADING_MESSAGES]
        try:
            await self._client.assistant_threads_setStatus(channel_id=self.channel, thread_ts=self.thread_ts,
                                                           status=STATUS, loading_messages=messages or None)
        except SlackApiError as exc:
            log.info("assistant.threads.setStatus refused in %s (%s); the status message is used instead",
                     self.channel, exc.response.get("error"))
            self.refused = True
            return False
        except Exception as exc:  # noqa: BLE001 - the status is a courtesy; the answer must still come
            log.warning("assistant.threads.setStatus failed in %s (%s)", self.channel, type(exc).__name__)
            self.refused = True
            return False
        self._loading = messages
        self._arm()
        return True

    def _arm(self) -> None:
        """Set it again after refresh_seconds of silence (Slack drops it after two minutes)."""
        current = asyncio.current_task()
        if self._refresher is not None and self._refresher is not current:
            self._refresher.cancel()
        self._refresher = asyncio.get_running_loop().create_task(self._refresh(), name=f"status {self.thread_ts}")

    async def _refresh(self) -> None:
        await self._sleep(self._refresh_seconds)
        await self.show(self._loading)

    async def stop(self) -> None:
        """No more refreshes (the reply that clears the status is on its way)."""
        refresher, self._refresher = self._refresher, None
        if refresher is not None and refresher is not asyncio.current_task():
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
