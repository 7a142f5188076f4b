"""Honest waiting: a request that waits says what for and for how long ("Still waiting for the
model, 40 s…"), every `every` seconds, until its answer comes.

It knows three phases: queued behind other runs (with how many are ahead), a tool running, and
the model thinking. What it says goes to the destination's progress line (the native status or the
status message); the words blame nobody's question.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable


class Waiting:
    """How long one request has waited and for what; says so regularly once started."""

    def __init__(self, say: Callable[[str], Awaitable[None]], *, every: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._say, self._every, self._clock = say, every, clock
        self._since = clock()
        self._ahead: int | None = None
        self._tools = 0
        self._task: asyncio.Task[None] | None = None

    def queued(self, ahead: int) -> None:
        self._ahead = max(ahead, 0)

    def running(self) -> None:
        self._ahead = None

    def tool(self, started: bool) -> None:
        self._tools = max(self._tools + (1 if started else -1), 0)

    def text(self) -> str:
        """What to say now."""
        seconds = int(self._clock() - self._since)
        if self._ahead is not None:
            others = f"{self._ahead} request{'s' if self._ahead != 1 else ''} ahead of yours" if self._ahead \
                else "yours is next"
            return f"Still queued, {seconds} s: {others}…"
        if self._tools:
            return f"Still reading the CRM, {seconds} s…"
        return f"Still waiting for the model, {seconds} s…"

    def start(self) -> None:
        if self._every > 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="waiting note")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            await self._say(self.text())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
