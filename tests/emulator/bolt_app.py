"""A real Bolt AsyncApp on slack_sdk's aiohttp Socket Mode client, connected to an emulator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import SlackEmulator

Register = Callable[[AsyncApp], None]


@contextlib.asynccontextmanager
async def bolt(emu: SlackEmulator, register: Register) -> AsyncIterator[AsyncSocketModeHandler]:
    """A Bolt app with `register`ed listeners, connected to `emu` over Socket Mode."""
    app = AsyncApp(client=AsyncWebClient(token=emu.config.bot_token, base_url=emu.api_url), signing_secret="unused")
    register(app)
    # A short ping interval makes the client notice a dropped socket quickly.
    handler = AsyncSocketModeHandler(app, emu.config.app_token, ping_interval=0.5)
    await handler.connect_async()
    await emu.wait_for(lambda e: e.connected, what="the app to connect")
    try:
        yield handler
    finally:
        await handler.close_async()


def run(body: Callable[[SlackEmulator], Awaitable[None]], register: Register, **options: Any) -> None:
    async def main() -> None:
        async with SlackEmulator(**options) as emu, bolt(emu, register):
            await body(emu)

    asyncio.run(main())


def replies_in_thread(reply: str = "hi") -> Register:
    def register(app: AsyncApp) -> None:
        @app.event("app_mention")
        async def mention(event: dict[str, Any], say: Any) -> None:
            await say(text=f"{reply} <@{event['user']}>", thread_ts=event["ts"])

    return register


def bot_replies(emu: SlackEmulator, channel: str, thread_ts: str) -> list[Any]:
    return [m for m in emu.messages(channel, thread_ts=thread_ts) if m.bot_id == "BBOT"]
