"""Group commit: the writes that concurrent runs make at the same moment share one transaction.

Every caller awaits its own item being committed, so nothing is acknowledged before it is
stored. Items submitted while a batch is being written wait for the next batch, so under load
N concurrent writes cost one thread hop and one transaction per batch instead of N of each (on
SQLite: N write-lock acquisitions and N commits, each passing the interpreter lock between a
worker thread and the event loop). With one writer at a time a batch is one item: nothing waits
for company. A batch that fails fails every caller in it; nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


class CommitFailed(Exception):
    """The batch holding this caller's item was not committed; the cause is the writer's error."""


@dataclass
class _Queue(Generic[T]):
    items: list[tuple[T, asyncio.Future[None]]] = field(default_factory=list)
    writer: asyncio.Task[None] | None = None  # referenced here: the loop keeps only weak references


class GroupCommit(Generic[T]):
    """Batches the items submitted on an event loop into calls of write, made in a worker thread."""

    def __init__(self, write: Callable[[Sequence[T]], None], *, max_batch: int = 256) -> None:
        self._write, self._max_batch = write, max_batch
        # Per event loop: futures belong to the loop that made them (tests run several in turn).
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue[T]] = weakref.WeakKeyDictionary()

    async def submit(self, item: T) -> None:
        """Return once item is committed; raise CommitFailed if its batch was not."""
        loop = asyncio.get_running_loop()
        queue = self._queues.setdefault(loop, _Queue())
        future: asyncio.Future[None] = loop.create_future()
        queue.items.append((item, future))
        if queue.writer is None:
            queue.writer = loop.create_task(self._drain(queue))
        # A caller that gives up cancels only its own future: its item is written all the same.
        await future

    async def _drain(self, queue: _Queue[T]) -> None:
        try:
            while queue.items:
                batch, queue.items = queue.items[:self._max_batch], queue.items[self._max_batch:]
                try:
                    await asyncio.to_thread(self._write, [item for item, _ in batch])
                except Exception as exc:  # noqa: BLE001 - whatever it is, each waiter gets it
                    _fail(batch, functools.partial(_failed, exc))
                except BaseException:  # cancelled with its loop; the thread may yet finish the write
                    _fail(batch, lambda: CommitFailed("the event loop stopped while this item was being written"))
                    raise
                else:
                    for _, future in batch:
                        if not future.done():
                            future.set_result(None)
        finally:
            queue.writer = None
            # Items are left over only when the loop is being torn down.
            _fail(queue.items, lambda: CommitFailed("the event loop stopped before this item was written"))
            queue.items = []


def _fail(batch: list[tuple[T, asyncio.Future[None]]], error: Callable[[], BaseException]) -> None:
    for _, future in batch:
        if not future.done():  # a caller that gave up has cancelled its future
            future.set_exception(error())


def _failed(exc: BaseException) -> CommitFailed:
    # One exception object per waiter: raising a shared one in many tasks tangles its traceback.
    failure = CommitFailed(f"the batch was not committed ({type(exc).__name__}: {exc})")
    failure.__cause__ = exc
    return failure
