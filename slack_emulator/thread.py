"""`EmulatorThread`: the emulator on a background thread, driven from synchronous test code.

The emulator's event loop runs on its own thread, so the code under test can run its own loop
(`asyncio.run`) or threads undisturbed. Actions are forwarded to that loop and block until done;
reads go straight to the lock-guarded state; `wait_for` sleeps on the state's condition variable,
woken by every change, instead of polling.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Self, TypeVar

from slack_emulator.config import EmulatorConfig
from slack_emulator.readers import Readers
from slack_emulator.records import Delivery, EmulatorError, Posted
from slack_emulator.server import SlackEmulator

T = TypeVar("T")


class EmulatorThread(Readers):
    """Synchronous, thread-safe face of a `SlackEmulator`; takes the same keyword options.

    Use as a context manager (`with EmulatorThread() as emu:`) or call `start()` / `stop()`.
    Predicates given to `wait_for` receive this object and should only read.
    """

    def __init__(self, **options: Any) -> None:
        self._emulator = SlackEmulator(**options)
        self._state = self._emulator._state
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        started: dict[str, Any] = {}
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._emulator.start())
                self._loop = loop
            except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
                started["error"] = exc
                loop.close()
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._emulator.stop())
                loop.close()

        self._thread = threading.Thread(target=run, name="slack-emulator", daemon=True)
        self._thread.start()
        ready.wait()
        if "error" in started:
            raise started["error"]
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        loop, self._loop = self._loop, None
        asyncio.run_coroutine_threadsafe(self._emulator.stop(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coro.close()
            raise EmulatorError("the emulator thread is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def _call(self, fn: Callable[[], T]) -> T:
        async def call() -> T:
            return fn()

        return self._run(call())

    # -- addresses and settings ----------------------------------------------------------------

    @property
    def emulator(self) -> SlackEmulator:
        """The async emulator inside; only touch it from its own loop."""
        return self._emulator

    @property
    def config(self) -> EmulatorConfig:
        return self._emulator.config

    @property
    def url(self) -> str:
        return self._emulator.url

    @property
    def api_url(self) -> str:
        return self._emulator.api_url

    @property
    def http_target(self) -> str | None:
        return self._emulator.http_target

    @http_target.setter
    def http_target(self, value: str | None) -> None:
        self._call(lambda: setattr(self._emulator, "http_target", value))

    @property
    def default_mode(self) -> str:
        return self._emulator.default_mode

    @default_mode.setter
    def default_mode(self, value: str) -> None:
        self._call(lambda: setattr(self._emulator, "default_mode", value))

    @property
    def connected(self) -> int:
        return self._emulator.connected

    # -- faults --------------------------------------------------------------------------------

    def fail_next(self, method: str, *, status: int = 429, retry_after: int = 1, error: str | None = None, count: int = 1) -> None:
        self._call(lambda: self._emulator.fail_next(method, status=status, retry_after=retry_after, error=error, count=count))

    def drop_socket(self) -> int:
        return self._run(self._emulator.drop_socket())

    def send_disconnect(self, reason: str = "refresh_requested") -> int:
        return self._run(self._emulator.send_disconnect(reason))

    # -- actions (see SlackEmulator for their meaning) -----------------------------------------

    def user_message(self, user: str, channel: str, text: str, **options: Any) -> Posted:
        return self._run(self._emulator.user_message(user, channel, text, **options))

    def bot_message(self, channel: str, text: str, bot_id: str = "BOTHER", **options: Any) -> Posted:
        return self._run(self._emulator.bot_message(channel, text, bot_id, **options))

    def edit_message(self, channel: str, ts: str, text: str, **options: Any) -> Posted:
        return self._run(self._emulator.edit_message(channel, ts, text, **options))

    def delete_message(self, channel: str, ts: str, **options: Any) -> Posted:
        return self._run(self._emulator.delete_message(channel, ts, **options))

    def home_opened(self, user: str, **options: Any) -> Delivery:
        return self._run(self._emulator.home_opened(user, **options))

    def leave_channel(self, channel: str, user: str, **options: Any) -> Delivery | None:
        return self._run(self._emulator.leave_channel(channel, user, **options))

    def join_channel(self, channel: str, user: str, **options: Any) -> Delivery | None:
        return self._run(self._emulator.join_channel(channel, user, **options))

    def send_event(self, event: dict[str, Any], **options: Any) -> Delivery:
        return self._run(self._emulator.send_event(event, **options))

    def redeliver(self, delivery: Delivery) -> Delivery:
        return self._run(self._emulator.redeliver(delivery))

    def slash_command(self, user: str, channel: str, text: str, **options: Any) -> Delivery:
        return self._run(self._emulator.slash_command(user, channel, text, **options))

    def click(self, user: str, **options: Any) -> Delivery:
        return self._run(self._emulator.click(user, **options))

    def click_in_ephemeral(self, user: str, **options: Any) -> Delivery:
        return self._run(self._emulator.click_in_ephemeral(user, **options))

    def click_in_home(self, user: str, action_id: str, value: str | None = None, **options: Any) -> Delivery:
        return self._run(self._emulator.click_in_home(user, action_id, value, **options))

    def click_in_view(self, user: str, view_id: str, action_id: str, value: str | None = None, **options: Any) -> Delivery:
        return self._run(self._emulator.click_in_view(user, view_id, action_id, value, **options))

    def submit_view(self, user: str, view_id: str, values: dict[str, dict[str, Any]] | None = None, **options: Any) -> Delivery:
        return self._run(self._emulator.submit_view(user, view_id, values, **options))

    def suggest(self, user: str, view_id: str, block_id: str, text: str, **options: Any) -> list[dict[str, Any]]:
        return self._run(self._emulator.suggest(user, view_id, block_id, text, **options))

    def close_view(self, user: str, view_id: str, **options: Any) -> Delivery | None:
        return self._run(self._emulator.close_view(user, view_id, **options))

    # -- waiting -------------------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[EmulatorThread], T], timeout: float = 10.0, *, what: str = "condition") -> T:
        """Block until `predicate(self)` is truthy (re-checked on every change); returns its value.

        The predicate runs holding the workspace lock: it may read anything, but must not call
        actions (they need the emulator's loop, which may be waiting for that lock).
        """
        deadline = time.monotonic() + timeout
        with self._state.changed:
            while True:
                value = predicate(self)
                if value:
                    return value
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{self.describe()}")
                self._state.changed.wait(remaining)
