"""response_url posts (made with slack_sdk's AsyncWebhookClient) land where Slack would put them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from slack_emulator import SlackEmulator

CARD = [{"type": "actions", "block_id": "b", "elements": [
    {"type": "button", "action_id": "approve", "value": "p-1", "text": {"type": "plain_text", "text": "Approve"}},
]}]


def run(body: Callable[[SlackEmulator, str], Awaitable[None]], **options: Any) -> None:
    """`body(emu, ts)` with an app that acks everything over HTTP and a bot card at `ts` in #sales."""

    async def main() -> None:
        async def ack(request: web.Request) -> web.Response:
            return web.Response(status=200)

        app = web.Application()
        app.router.add_post("/slack/events", ack)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        target = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
        try:
            async with SlackEmulator(http_target=target, **options) as emu:
                emu.default_mode = "http"
                client = AsyncWebClient(token=emu.config.bot_token, base_url=emu.api_url)
                ts = (await client.chat_postMessage(channel="C0SALES", text="card", blocks=CARD))["ts"]
                await body(emu, ts)
        finally:
            await runner.cleanup()

    asyncio.run(main())


async def post(url: str, **body: Any) -> int:
    return (await AsyncWebhookClient(url).send_dict(body)).status_code


def test_replace_original_updates_the_clicked_message() -> None:
    async def body(emu: SlackEmulator, ts: str) -> None:
        click = await emu.click("alice", channel="C0SALES", message_ts=ts, action_id="approve")
        assert click.response_url and click.response_url.startswith(emu.url + "/response/")
        assert await post(click.response_url, replace_original=True, text="Approved", blocks=[]) == 200
        msg = emu.message("C0SALES", ts)
        assert msg is not None and (msg.text, msg.blocks, msg.updates) == ("Approved", [], 1)
        assert [(r.applied, r.user, r.channel) for r in emu.responses()] == [("replaced", "U01ALICE", "C0SALES")]

    run(body)


def test_delete_original_in_channel_and_the_default_ephemeral() -> None:
    async def body(emu: SlackEmulator, ts: str) -> None:
        url = (await emu.click("bob", channel="C0SALES", message_ts=ts, action_id="approve")).response_url
        assert url is not None
        assert await post(url, text="just for bob") == 200
        assert await post(url, response_type="in_channel", text="for everyone") == 200
        assert await post(url, delete_original=True) == 200
        assert [e.text for e in emu.ephemerals("bob")] == ["just for bob"]
        assert [(m.text, m.bot_id) for m in emu.messages("C0SALES")] == [("for everyone", "BBOT")]
        assert [r.applied for r in emu.responses()] == ["ephemeral", "in_channel", "deleted"]

    run(body)


def test_a_response_url_works_five_times_and_for_thirty_minutes() -> None:
    now = [1_700_000_000.0]

    async def body(emu: SlackEmulator, ts: str) -> None:
        url = (await emu.slash_command("carol", "C0SALES", "x")).response_url
        assert url is not None
        assert [await post(url, text=str(i)) for i in range(6)] == [200] * 5 + [404]
        fresh = (await emu.slash_command("carol", "C0SALES", "y")).response_url
        assert fresh is not None
        now[0] += 30 * 60 + 1
        assert await post(fresh, text="too late") == 404
        assert [r.applied for r in emu.responses()][-2:] == ["expired_url", "expired_url"]
        assert len(emu.ephemerals("carol")) == 5

    run(body, clock=lambda: now[0])


def test_a_click_in_an_ephemeral_can_replace_it() -> None:
    async def body(emu: SlackEmulator, ts: str) -> None:
        client = AsyncWebClient(token=emu.config.bot_token, base_url=emu.api_url)
        eph = (await client.chat_postEphemeral(channel="C0SALES", user="U01ALICE", text="confirm?", blocks=CARD))["message_ts"]
        click = await emu.click_in_ephemeral("alice", message_ts=eph, action_id="approve")
        assert click.payload["container"]["is_ephemeral"] is True and "message" not in click.payload
        assert click.response_url is not None
        assert await post(click.response_url, replace_original=True, text="done") == 200
        (shown,) = emu.ephemerals("alice")
        assert (shown.text, shown.replaced) == ("done", 1)

    run(body)
