"""`SlackEmulator`: a local Slack for the bot, run inside the caller's asyncio event loop.

It serves the Web API (`/api/<method>`), Socket Mode (`/link/`), response URLs
(`/response/<id>`) and the browser page of the workspace (`/`, see `browser.py`) on one aiohttp
server, delivers events, commands and interactions to the app
by Socket Mode or signed HTTP, and records everything for assertions. Use it directly from async
code (a dev server, an async test); `EmulatorThread` wraps it for synchronous tests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any, Self, TypeVar

from aiohttp import web

from slack_emulator.config import (
    DEFAULT_BOT_EVENTS,
    DEFAULT_USERS,
    Channel,
    EmulatorConfig,
    User,
    default_channels,
    with_dms,
)
from slack_emulator.api_chat import bot_message
from slack_emulator.browser import BrowserUi
from slack_emulator.delivery import Deliverer
from slack_emulator.happenings import Happenings
from slack_emulator.http_delivery import HttpSender
from slack_emulator.interactions import Interactions
from slack_emulator.readers import Readers
from slack_emulator.records import EmulatorError
from slack_emulator.response_url import ResponseUrls
from slack_emulator.socket_mode import SocketHub
from slack_emulator.state import Workspace
from slack_emulator.ui_state import Feed
from slack_emulator.webapi import WebApi

T = TypeVar("T")


class SlackEmulator(Happenings, Interactions, Readers):
    """A local Slack workspace for one app. `await start()` (or `async with`) before use."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_token: str = "xoxb-emulator",
        app_token: str = "xapp-emulator",
        signing_secret: str = "emulator-signing-secret",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        team_id: str = "T0EMU",
        bot_name: str = "crm-copilot",
        users: Iterable[User] | None = None,
        channels: Iterable[Channel] | None = None,
        ack_timeout: float = 3.0,
        max_retries: int = 3,
        connect_timeout: float = 10.0,
        bot_events: Iterable[str] | None = None,
        usergroups: dict[str, tuple[str, tuple[str, ...]]] | None = None,
        http_target: str | None = None,
        clock: Callable[[], float] = time.time,
        history: Iterable[tuple[str, str, list[dict[str, Any]]]] = (),
    ) -> None:
        """Args beyond the identity ones (`bot_name` is the bot's display name; its handle is derived):
            users, channels: the workspace (defaults: alice, bob, carol, zed; #sales, #general);
                every person also gets a DM with the bot (D01ALICE for U01ALICE).
            ack_timeout: seconds the app has to ack before a delivery counts as failed (and an
                event is retried); also the HTTP delivery timeout.
            max_retries: retries of an unacknowledged event.
            connect_timeout: how long a Socket Mode delivery waits for a client to be connected.
            bot_events: the app's event subscriptions (message.im, message.channels, app_mention...).
            usergroups: Slack user groups, handle -> (id, member ids), for usergroups.list / users.list.
            http_target: the app's request URL for mode="http" deliveries (settable later).
            clock: wall-clock seconds for ts values, trigger and response_url expiry.
            history: messages by the bot already in the workspace when it opens, as (channel, text,
                blocks), such as a welcome; no event is sent for them.
        """
        self.config = EmulatorConfig(
            host=host, port=port, bot_token=bot_token, app_token=app_token, signing_secret=signing_secret,
            bot_user_id=bot_user_id, bot_id=bot_id, team_id=team_id, bot_name=bot_name, ack_timeout=ack_timeout,
            max_retries=max_retries, connect_timeout=connect_timeout,
            bot_events=frozenset(bot_events) if bot_events is not None else DEFAULT_BOT_EVENTS,
        )
        people = list(users) if users is not None else list(DEFAULT_USERS)
        rooms = list(channels) if channels is not None else list(default_channels(people, bot_user_id))
        self._state = Workspace(self.config, users=people, channels=with_dms(people, rooms, bot_user_id), clock=clock,
                                 usergroups=usergroups)
        for channel, text, blocks in history:
            room = self._state.find_channel(channel)
            if room is None:
                raise ValueError(f"history names no channel of the workspace: {channel}")
            self._state.messages.add(room.id, bot_message(self.config, ts=self._state.next_ts(), text=text,
                                                          blocks=blocks))
        self._hub = SocketHub(self._state)
        self._http = HttpSender(signing_secret)
        self._deliverer = Deliverer(self._state, self._hub, self._http)
        self._deliverer.http_target = http_target
        self._api = WebApi(self._state)
        self._runner: web.AppRunner | None = None
        self._changed: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._url = ""
        self._feed: Feed | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> Self:
        """Bind the server (an ephemeral port unless `port` was given) and start serving."""
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._state.listeners.append(self._on_change)
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api.handle)
        app.router.add_get("/link/", self._hub.handle)
        app.router.add_post("/response/{url_id}", ResponseUrls(self._state).handle)
        self._feed = Feed(self._state, self._loop)
        BrowserUi(self, self._state, self._feed).add_routes(app)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self._url = f"http://{self.config.host}:{port}"
        self._state.base_url = self._url
        return self

    async def stop(self) -> None:
        """Close Socket Mode sessions, cancel pending retries and stop serving."""
        if self._runner is None:
            return
        if self._feed is not None:
            self._feed.detach()  # first: open pages' long polls must not hold up the server's shutdown
            self._feed = None
        await self._deliverer.close()
        await self._hub.close()
        await self._http.close()
        await self._runner.cleanup()
        self._runner = None
        if self._on_change in self._state.listeners:
            self._state.listeners.remove(self._on_change)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- addresses and settings ----------------------------------------------------------------

    @property
    def url(self) -> str:
        """http://host:port of the running server."""
        if not self._url:
            raise EmulatorError("the emulator is not started")
        return self._url

    @property
    def api_url(self) -> str:
        """The Web API base URL: slack_sdk's `base_url`, or the bot's SLACK_API_URL."""
        return f"{self.url}/api/"

    @property
    def http_target(self) -> str | None:
        """The app's request URL, for deliveries in mode="http"."""
        return self._deliverer.http_target

    @http_target.setter
    def http_target(self, value: str | None) -> None:
        self._deliverer.http_target = value

    @property
    def default_mode(self) -> str:
        """The delivery mode used when an action is given no `mode` ("socket" unless changed)."""
        return self._deliverer.default_mode

    @default_mode.setter
    def default_mode(self, value: str) -> None:
        if value not in ("socket", "http"):
            raise EmulatorError(f"mode must be 'socket' or 'http', not {value!r}")
        self._deliverer.default_mode = value

    @property
    def connected(self) -> int:
        """How many Socket Mode sessions can receive envelopes now."""
        return self._hub.connected

    # -- faults --------------------------------------------------------------------------------

    def fail_next(self, method: str, *, status: int = 429, retry_after: int = 1, error: str | None = None, count: int = 1) -> None:
        """The next `count` calls of `method` answer HTTP 429 (Retry-After), another HTTP status, or `error`."""
        self._api.fail_next(method, status=status, retry_after=retry_after, error=error, count=count)

    async def drop_socket(self) -> int:
        """Cut the Socket Mode connection(s) abruptly; returns how many were cut."""
        return await self._hub.drop()

    async def send_disconnect(self, reason: str = "refresh_requested") -> int:
        """Send a `disconnect` frame, as Slack does before recycling a connection."""
        return await self._hub.disconnect(reason)

    # -- waiting -------------------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[SlackEmulator], T], timeout: float = 10.0, *, what: str = "condition") -> T:
        """Wait until `predicate(self)` is truthy (re-checked on every state change); returns its value."""
        assert self._changed is not None, "start() the emulator first"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._changed.clear()
            value = predicate(self)
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}\n{self.describe()}")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    def _on_change(self) -> None:
        loop, changed = self._loop, self._changed
        if loop is None or changed is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            changed.set()
        else:
            loop.call_soon_threadsafe(changed.set)
