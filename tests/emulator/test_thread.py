"""EmulatorThread: the emulator driven from plain synchronous tests, the bot on a loop of its own."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk import WebClient
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import EmulatorThread


@contextlib.contextmanager
def bolt_in_thread(emu: EmulatorThread, register: Callable[[AsyncApp], None]) -> Iterator[None]:
    """A Bolt Socket Mode app on its own thread and loop, as the real bot would run beside a test."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def connect() -> AsyncSocketModeHandler:
        app = AsyncApp(client=AsyncWebClient(token=emu.config.bot_token, base_url=emu.api_url), signing_secret="unused")
        register(app)
        handler = AsyncSocketModeHandler(app, emu.config.app_token)
        await handler.connect_async()
        return handler

    handler = asyncio.run_coroutine_threadsafe(connect(), loop).result()
    try:
        yield
    finally:
        asyncio.run_coroutine_threadsafe(handler.close_async(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def test_a_synchronous_test_drives_a_bolt_app_end_to_end() -> None:
    def register(app: AsyncApp) -> None:
        @app.event("app_mention")
        async def mention(event: dict[str, Any], say: Any) -> None:
            await say(text="on it", thread_ts=event["ts"])

    with EmulatorThread(bot_events={"app_mention"}) as emu, bolt_in_thread(emu, register):
        emu.wait_for(lambda e: e.connected, what="the app to connect")
        posted = emu.user_message("alice", "#sales", "<@UBOT> pipeline?")
        assert posted.delivery("app_mention").acked
        replies = emu.wait_for(lambda e: [m for m in e.messages("#sales", thread_ts=posted.ts) if m.bot_id], what="the reply")
        assert [m.text for m in replies] == ["on it"]


def test_wait_for_wakes_on_changes_made_by_another_thread() -> None:
    with EmulatorThread() as emu:
        client = WebClient(token="xoxb-emulator", base_url=emu.api_url)
        poster = threading.Thread(target=lambda: client.chat_postMessage(channel="C0GENERAL", text="from a thread"))
        poster.start()
        (msg,) = emu.wait_for(lambda e: e.messages("C0GENERAL"), timeout=5, what="the post")
        poster.join()
        assert msg.text == "from a thread"


def test_wait_for_times_out_with_what_it_waited_for_and_recent_calls() -> None:
    with EmulatorThread() as emu:
        WebClient(token="xoxb-emulator", base_url=emu.api_url).chat_postMessage(channel="C0SALES", text="x")
        with pytest.raises(AssertionError) as caught:
            emu.wait_for(lambda e: e.messages("C0GENERAL"), timeout=0.2, what="a post in #general")
        assert "a post in #general" in str(caught.value)
        assert "chat.postMessage -> ok" in str(caught.value)


def test_faults_and_settings_are_forwarded_to_the_emulator_loop() -> None:
    with EmulatorThread() as emu:
        emu.fail_next("auth.test", error="account_inactive")
        client = WebClient(token="xoxb-emulator", base_url=emu.api_url)
        with pytest.raises(Exception, match="account_inactive"):
            client.auth_test()
        assert client.auth_test()["ok"]
        emu.http_target = "http://127.0.0.1:9/slack/events"
        emu.default_mode = "http"
        assert (emu.http_target, emu.default_mode) == ("http://127.0.0.1:9/slack/events", "http")
        with pytest.raises(Exception, match="mode must be"):
            emu.default_mode = "carrier-pigeon"


def test_a_busy_port_fails_start_loudly() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(OSError):
            EmulatorThread(port=taken.getsockname()[1]).start()
