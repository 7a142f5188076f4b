"""Signed HTTP delivery, checked by slack_sdk's SignatureVerifier and by a real Bolt HTTP app."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import SlackEmulator, sign

SECRET = "emulator-signing-secret"


def test_signatures_match_slacks_documented_example() -> None:
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert sign("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body) == expected


@dataclass(frozen=True)
class Seen:
    headers: dict[str, str]
    body: str
    valid: bool


Respond = Callable[[int], Awaitable[web.StreamResponse]]


class VerifyingApp:
    """A tiny request URL: refuses bad signatures with 401, else answers with `respond(n)`."""

    def __init__(self, respond: Respond | None = None) -> None:
        self.verifier = SignatureVerifier(SECRET)
        self.seen: list[Seen] = []
        self.respond = respond or (lambda n: ok())

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        valid = self.verifier.is_valid_request(body, dict(request.headers))
        self.seen.append(Seen({k.lower(): v for k, v in request.headers.items()}, body, valid))
        if not valid:
            return web.Response(status=401, text="invalid signature")
        return await self.respond(len(self.seen))


async def ok() -> web.Response:
    return web.Response(status=200)


@contextlib.asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    finally:
        await runner.cleanup()


def run(body: Callable[[SlackEmulator, VerifyingApp], Awaitable[None]], target: VerifyingApp, **options: Any) -> None:
    async def main() -> None:
        app = web.Application()
        app.router.add_post("/slack/events", target.handle)
        async with serve(app) as url, SlackEmulator(http_target=url, **options) as emu:
            await body(emu, target)

    asyncio.run(main())


def test_valid_signatures_pass_and_forged_or_stale_ones_are_refused() -> None:
    async def body(emu: SlackEmulator, app: VerifyingApp) -> None:
        event = (await emu.user_message("alice", "D01ALICE", "hi", mode="http")).delivery("message")
        command = await emu.slash_command("alice", "C0SALES", "acme", mode="http")
        forged = await emu.slash_command("alice", "C0SALES", "acme", mode="http", signature="v0=" + "0" * 64)
        stale = await emu.slash_command("alice", "C0SALES", "acme", mode="http", timestamp_offset=-600)
        assert [(d.http_status, d.acked) for d in (event, command, forged, stale)] == [(200, True), (200, True), (401, False), (401, False)]
        assert [s.valid for s in app.seen] == [True, True, False, False]
        assert app.seen[0].headers["content-type"] == "application/json"
        assert json.loads(app.seen[0].body)["event_id"] == event.event_id
        assert parse_qs(app.seen[1].body)["command"] == ["/crm"]
        assert app.seen[1].headers["content-type"] == "application/x-www-form-urlencoded"
        assert [e.text for e in emu.ephemerals("alice")] == ['/crm failed with the error "dispatch_failed"'] * 2

    run(body, VerifyingApp())


def test_interactions_are_posted_as_a_payload_form_field() -> None:
    async def body(emu: SlackEmulator, app: VerifyingApp) -> None:
        client = AsyncWebClient(token=emu.config.bot_token, base_url=emu.api_url)
        button = {"type": "button", "action_id": "go", "value": "v1", "text": {"type": "plain_text", "text": "Go"}}
        ts = (await client.chat_postMessage(channel="C0SALES", text="t", blocks=[{"type": "actions", "elements": [button]}]))["ts"]
        delivery = await emu.click("carol", channel="C0SALES", message_ts=ts, action_id="go", value="override", mode="http")
        assert delivery.acked and app.seen[0].valid
        (payload,) = parse_qs(app.seen[0].body)["payload"]
        assert json.loads(payload)["actions"][0]["value"] == "override"

    run(body, VerifyingApp())


def test_events_are_retried_on_http_errors_and_timeouts_with_retry_headers() -> None:
    release = asyncio.Event()

    async def respond(n: int) -> web.StreamResponse:
        if n == 1:
            return web.Response(status=500)
        if n == 2:
            await release.wait()  # outlives the emulator's ack_timeout
        return web.Response(status=200)

    async def body(emu: SlackEmulator, app: VerifyingApp) -> None:
        first = (await emu.user_message("bob", "D02BOB", "hello", mode="http")).delivery("message")
        assert (first.http_status, first.acked, first.error) == (500, False, "http_error")
        await emu.wait_for(lambda e: any(d.acked for d in e.deliveries()), what="an acknowledged retry")
        release.set()
        assert [(d.retry_attempt, d.retry_reason, d.error) for d in emu.deliveries()] == [
            (0, "", "http_error"), (1, "http_error", "http_timeout"), (2, "http_timeout", None),
        ]
        retry_headers = [(s.headers.get("x-slack-retry-num"), s.headers.get("x-slack-retry-reason")) for s in app.seen]
        assert retry_headers == [(None, None), ("1", "http_error"), ("2", "http_timeout")]
        assert {json.loads(s.body)["event_id"] for s in app.seen} == {first.event_id}

    run(body, VerifyingApp(respond), ack_timeout=0.3)


def test_redeliver_sends_the_same_event_again_as_a_retry() -> None:
    async def body(emu: SlackEmulator, app: VerifyingApp) -> None:
        original = (await emu.user_message("alice", "D01ALICE", "once", mode="http")).delivery("message")
        duplicate = await emu.redeliver(original)
        assert duplicate.acked and duplicate.event_id == original.event_id and duplicate.retry_attempt == 1
        assert app.seen[1].headers["x-slack-retry-num"] == "1"
        assert app.seen[0].body == app.seen[1].body

    run(body, VerifyingApp())


def test_a_bolt_http_app_acks_commands_and_answers_mentions() -> None:
    async def main() -> None:
        async with SlackEmulator(bot_events={"app_mention"}) as emu:
            app = AsyncApp(client=AsyncWebClient(token=emu.config.bot_token, base_url=emu.api_url), signing_secret=emu.config.signing_secret)

            @app.command("/crm")
            async def crm(ack: Any) -> None:
                await ack("On it")

            @app.event("app_mention")
            async def mention(event: dict[str, Any], say: Any) -> None:
                await say(text="answer", thread_ts=event["ts"])

            async with serve(app.web_app()) as url:
                emu.http_target = url
                emu.default_mode = "http"
                command = await emu.slash_command("bob", "C0SALES", "acme")
                assert (command.http_status, command.ack_body) == (200, {"text": "On it"})
                assert [e.text for e in emu.ephemerals("bob")] == ["On it"]
                refused = await emu.slash_command("bob", "C0SALES", "acme", timestamp_offset=-600)
                assert refused.http_status == 401
                posted = await emu.user_message("bob", "C0SALES", "<@UBOT> status?")
                assert posted.delivery("app_mention").acked
                await emu.wait_for(lambda e: len(e.messages("C0SALES", thread_ts=posted.ts)) == 2, what="the bot's answer")

    asyncio.run(main())
