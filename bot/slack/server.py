"""Serving the Bolt app: over Socket Mode (an app token given) or HTTP, until told to stop.

HTTP mode serves `POST /slack/events` and `GET /healthz`. Every event request is checked
(signature, timestamp, size: bot.slack.signed) before its body is parsed or Bolt sees it, and
Bolt checks the signature again. Either way the app acknowledges at once and works in
the background; on SIGINT/SIGTERM it stops taking requests and lets running ones finish.
Everything served is built beforehand, by `bot.wiring.run_slack`.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.digests.scheduler import DigestScheduler
from bot.slack.deps import SlackDeps
from bot.slack.housekeeping import Housekeeping
from bot.slack.signed import Refusals, SignedRequests

log = logging.getLogger(__name__)
DRAIN_SECONDS = 20.0
MAX_BODY_BYTES = 1024 * 1024  # Slack's payloads are far smaller; a larger body is refused with 413


async def serve(app: AsyncApp, deps: SlackDeps, housekeeping: Housekeeping, scheduler: DigestScheduler, *,
                app_token: str | None, port: int, stop: asyncio.Event | None = None) -> None:
    """Run until stop is set (or a signal arrives): Socket Mode with app_token, else HTTP on port."""
    await housekeeping.on_start()
    housekeeping.start()
    scheduler.start()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if app_token is not None:
            await _socket_mode(app, app_token, stop)
        else:
            await _http_mode(app, deps, port, stop)
    finally:
        scheduler.stop()
        await housekeeping.stop()
        await deps.runner.drain(DRAIN_SECONDS)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _socket_mode(app: AsyncApp, app_token: str, stop: asyncio.Event) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()
    log.info("connected to Slack in Socket Mode")
    try:
        await stop.wait()
    finally:
        await handler.close_async()


async def _http_mode(app: AsyncApp, deps: SlackDeps, port: int, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    refusals = Refusals(schedule=loop.call_later)
    secret = deps.settings.secrets.slack_signing_secret
    check = SignedRequests(secret.get_secret_value() if secret else "", refusals, max_bytes=MAX_BODY_BYTES)

    async def events(request: web.Request) -> web.Response:
        refused = await check.refusal(request)
        if refused is not None:
            return refused
        try:
            bolt_request = await to_bolt_request(request)
        except Exception as exc:  # noqa: BLE001 - a signed body Bolt cannot read is the sender's error
            log.warning("refused a signed request whose body could not be read (%s)", type(exc).__name__)
            return web.json_response({"error": "unreadable body"}, status=400)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "mode": "http", "in_flight": deps.runner.in_flight,
                                  "queued": deps.runner.waiting})

    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    web_app.router.add_post("/slack/events", events)
    web_app.router.add_get("/healthz", health)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "0.0.0.0", port)
    await site.start()
    log.info("listening for Slack on port %d (POST /slack/events, GET /healthz)", port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        refusals.close()
