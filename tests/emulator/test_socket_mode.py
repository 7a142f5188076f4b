"""Events over Socket Mode: a real Bolt app receives, acks, misses acks, loses and regains its socket."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import EmulatorError, SlackEmulator
from tests.emulator.bolt_app import bolt, bot_replies, replies_in_thread, run


def test_an_app_mention_is_acked_and_answered_in_its_thread() -> None:
    async def body(emu: SlackEmulator) -> None:
        posted = await emu.user_message("alice", "#sales", "<@UBOT> how is Acme doing?")
        delivery = posted.delivery("app_mention")
        assert delivery.acked and delivery.latency is not None and delivery.event_id.startswith("Ev")  # type: ignore[union-attr]
        event = delivery.payload["event"]
        assert {k: event[k] for k in ("user", "channel", "ts", "event_ts")} == {
            "user": "U01ALICE", "channel": "C0SALES", "ts": posted.ts, "event_ts": posted.ts,
        }
        assert event["client_msg_id"] and delivery.payload["authorizations"][0]["user_id"] == "UBOT"
        (reply,) = await emu.wait_for(lambda e: bot_replies(e, "C0SALES", posted.ts), what="the bot's reply")
        assert reply.text == "hi <@U01ALICE>" and reply.thread_ts == posted.ts
        (ack,) = [a for a in emu.acks() if a.envelope_id == delivery.envelope_id]
        assert ack.kind == "events_api" and not ack.late
        assert [c.method for c in emu.calls()] == ["apps.connections.open", "auth.test", "chat.postMessage"]

    run(body, replies_in_thread(), bot_events={"app_mention"})


def test_message_events_carry_the_channel_type_and_mentions_add_app_mention() -> None:
    seen: list[dict[str, Any]] = []

    def register(app: AsyncApp) -> None:
        @app.event("message")
        async def message(event: dict[str, Any]) -> None:
            seen.append(event)

        @app.event("app_mention")
        async def mention(event: dict[str, Any]) -> None:
            seen.append(event)

    async def body(emu: SlackEmulator) -> None:
        dm = await emu.user_message("bob", "D02BOB", "hello there")
        assert [(d.event_type, d.payload["event"]["channel_type"]) for d in dm.deliveries] == [("message", "im")]
        root = await emu.user_message("carol", "C0SALES", "a question")
        threaded = await emu.user_message("bob", "C0SALES", "<@UBOT> answer carol", thread_ts=root.ts)
        assert [d.event_type for d in threaded.deliveries] == ["message", "app_mention"]
        assert all(d.acked for d in threaded.deliveries)
        assert {d.payload["event"]["thread_ts"] for d in threaded.deliveries} == {root.ts}
        assert threaded.delivery("message").payload["event"]["channel_type"] == "channel"
        assert len({d.event_id for p in (dm, root, threaded) for d in p.deliveries}) == 4
        outsider = await emu.user_message("zed", "C0GENERAL", "no mention")
        assert [d.event_type for d in outsider.deliveries] == ["message"]
        await emu.wait_for(lambda e: len(seen) == 5, what="five events handled")

    run(body, register)


def test_an_event_not_acked_in_time_is_redelivered_with_retry_attempt_1() -> None:
    handled: list[tuple[str, str]] = []

    def register(app: AsyncApp) -> None:
        @app.middleware
        async def drop_first_attempt(req: Any, resp: Any, next: Callable[[], Awaitable[None]]) -> None:
            if req.headers.get("x-slack-retry-num", ["0"])[0] == "0":
                return  # no next(): Bolt answers 404 and nothing is acked
            await next()

        @app.event("app_mention")
        async def mention(event: dict[str, Any], context: Any, body: dict[str, Any]) -> None:
            handled.append((body["event_id"], event["text"]))

    async def body(emu: SlackEmulator) -> None:
        posted = await emu.user_message("alice", "C0SALES", "<@UBOT> flaky")
        first = posted.delivery("app_mention")
        assert not first.acked and first.error == "timeout" and first.retry_attempt == 0
        (retry,) = await emu.wait_for(lambda e: [d for d in e.deliveries() if d.retry_attempt == 1], what="the redelivery")
        await emu.wait_for(lambda e: handled, what="the redelivery to be handled")
        assert (retry.event_id, retry.retry_reason, retry.acked) == (first.event_id, "timeout", True)
        assert retry.envelope_id != first.envelope_id
        assert handled == [(first.event_id, "<@UBOT> flaky")]

    run(body, register, ack_timeout=0.5, bot_events={"app_mention"})


def test_retries_stop_after_max_retries() -> None:
    def register(app: AsyncApp) -> None:
        pass  # no listener: Bolt never acks

    async def body(emu: SlackEmulator) -> None:
        await emu.user_message("alice", "D01ALICE", "anyone?")
        attempts = await emu.wait_for(lambda e: [d.retry_attempt for d in e.deliveries()] if len(e.deliveries()) == 3 else None, what="3 attempts")
        assert attempts == [0, 1, 2] and not any(d.acked for d in emu.deliveries())

    run(body, register, ack_timeout=0.2, max_retries=2)


def test_a_dropped_socket_is_reconnected_and_later_events_arrive() -> None:
    async def body(emu: SlackEmulator) -> None:
        assert await emu.drop_socket() == 1
        await emu.wait_for(lambda e: len(e.connections()) == 2 and e.connected, what="a reconnection")
        assert emu.connections()[0].end == "dropped"
        assert len(emu.calls("apps.connections.open")) == 2
        posted = await emu.user_message("alice", "C0SALES", "<@UBOT> still there?")
        assert posted.delivery("app_mention").acked
        await emu.wait_for(lambda e: bot_replies(e, "C0SALES", posted.ts), what="the reply after reconnecting")

    run(body, replies_in_thread(), bot_events={"app_mention"})


def test_a_disconnect_frame_makes_the_client_reconnect() -> None:
    async def body(emu: SlackEmulator) -> None:
        assert await emu.send_disconnect() == 1
        await emu.wait_for(lambda e: len(e.connections()) == 2 and e.connected, what="a reconnection")
        posted = await emu.user_message("bob", "C0SALES", "<@UBOT> after refresh")
        assert posted.delivery("app_mention").acked
        await emu.wait_for(lambda e: emu.connections()[0].closed_at, what="the old session to be closed by the client")
        assert emu.connections()[0].end == "disconnect_sent"
        assert len(emu.calls("apps.connections.open")) == 2

    run(body, replies_in_thread(), bot_events={"app_mention"})


def test_a_delivery_waits_for_the_app_to_connect() -> None:
    async def main() -> None:
        async with SlackEmulator(bot_events={"app_mention"}) as emu:
            pending = asyncio.ensure_future(emu.user_message("alice", "C0SALES", "<@UBOT> early bird"))
            await emu.wait_for(lambda e: e.messages("C0SALES"), what="the message to be stored")
            assert not pending.done() and emu.deliveries() == []
            async with bolt(emu, replies_in_thread()):
                posted = await pending
                assert posted.delivery("app_mention").acked

    asyncio.run(main())


def test_with_nobody_connected_a_delivery_fails_loudly_after_connect_timeout() -> None:
    async def main() -> None:
        async with SlackEmulator(connect_timeout=0.2) as emu:
            with pytest.raises(EmulatorError, match="no Socket Mode client connected"):
                await emu.user_message("alice", "D01ALICE", "hello?")
            assert [(d.error, d.acked) for d in emu.deliveries()] == [("not_connected", False)]

    asyncio.run(main())


def test_the_socket_says_hello_answers_pings_and_refuses_unknown_tickets() -> None:
    async def main() -> None:
        async with SlackEmulator() as emu, aiohttp.ClientSession() as session:
            client = AsyncWebClient(base_url=emu.api_url)
            url = (await client.apps_connections_open(app_token=emu.config.app_token))["url"]
            async with session.ws_connect(url, autoping=False) as ws:
                hello = await ws.receive_json(timeout=5)
                assert (hello["type"], hello["num_connections"], hello["connection_info"]) == ("hello", 1, {"app_id": "A0EMU"})
                await ws.ping(b"sdk-ping-pong:1")
                pong = await ws.receive(timeout=5)
                assert (pong.type, pong.data) == (aiohttp.WSMsgType.PONG, b"sdk-ping-pong:1")
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(url.split("?")[0] + "?ticket=forged")
            assert refused.value.status == 401

    asyncio.run(main())
