"""Background work started by listeners after they acknowledged: tracked, bounded, never lost silently."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger(__name__)


class Runner:
    """Runs jobs as tasks, and hands out at most `limit` slots for agent runs (the rest queue).

    Tasks are kept referenced until they finish (asyncio keeps only weak references), their
    exceptions are logged, and `drain()` lets a shutdown wait for what is in flight.
    """

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._tasks: set[asyncio.Task[None]] = set()
        self.waiting = 0

    def spawn(self, job: Callable[[], Awaitable[None]], *, name: str) -> asyncio.Task[None]:
        async def run() -> None:
            try:
                await job()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a background job must not die unnoticed
                log.exception("background job %s failed", name)

        task = asyncio.get_running_loop().create_task(run(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """One of the limited places for an agent run; waits while all are taken."""
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._slots.release()

    @property
    def full(self) -> bool:
        return self._slots.locked()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout: float) -> None:
        """Wait up to timeout seconds for running jobs, then cancel the rest."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
