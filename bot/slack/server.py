"""Serving the Bolt app: over Socket Mode (an app token given) or HTTP, until told to stop.

HTTP mode serves `POST /slack/events`, `GET /healthz` and `GET /readyz`; in every mode the ops
server (when given) serves `/healthz`, `/readyz` and `/metrics` on a port of its own, and each
acknowledgement's latency is measured where it leaves (the HTTP response, the Socket Mode
envelope). Every event request is checked
(signature, timestamp, size: bot.slack.signed) before its body is parsed or Bolt sees it, and
Bolt checks the signature again. Either way the app acknowledges at once and works in
the background; on SIGINT/SIGTERM it stops taking requests and lets running ones finish.
Everything served is built beforehand, by `bot.wiring.run_slack`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.digests.scheduler import DigestScheduler
from bot.ops import Ops
from bot.ops.health import Health
from bot.ops.http import OpsServer, add_health
from bot.ops.metrics import Metrics
from bot.slack.deps import SlackDeps
from bot.slack.housekeeping import Housekeeping
from bot.slack.signed import Refusals, SignedRequests

log = logging.getLogger(__name__)
DRAIN_SECONDS = 20.0
MAX_BODY_BYTES = 1024 * 1024  # Slack's payloads are far smaller; a larger body is refused with 413


async def serve(app: AsyncApp, deps: SlackDeps, housekeeping: Housekeeping, scheduler: DigestScheduler, *,
                app_token: str | None, port: int, stop: asyncio.Event | None = None, ops: Ops | None = None,
                ops_server: OpsServer | None = None) -> None:
    """Run until stop is set (or a signal arrives): Socket Mode with app_token, else HTTP on port.
    ops_server (if any) is listening before Slack is connected, so probes see the start-up."""
    health = ops.health if ops is not None else Health()
    metrics = ops.metrics if ops is not None else None
    mode = "socket" if app_token is not None else "http"
    health.set_details(lambda: {"mode": mode, "in_flight": deps.runner.in_flight, "queued": deps.runner.waiting})
    if ops_server is not None:
        await ops_server.start()
    try:
        await housekeeping.on_start()
        housekeeping.start()
        scheduler.start()
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            if app_token is not None:
                await _socket_mode(app, app_token, stop, health, metrics)
            else:
                await _http_mode(app, deps, port, stop, health, metrics)
        finally:
            scheduler.stop()
            await housekeeping.stop()
            await deps.runner.drain(DRAIN_SECONDS)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
    finally:
        if ops_server is not None:
            await ops_server.stop()


def ack_kind(body: Mapping[str, Any], envelope: str | None = None) -> str:
    """The kind of a Slack request for the ack latency metric: event, command, action, view, options."""
    if envelope == "events_api" or body.get("type") == "event_callback":
        return "event"
    if envelope == "slash_commands" or body.get("command"):
        return "command"
    return {"block_actions": "action", "view_submission": "view", "view_closed": "view",
            "block_suggestion": "options"}.get(str(body.get("type")), "other")


async def _socket_mode(app: AsyncApp, app_token: str, stop: asyncio.Event, health: Health,
                       metrics: Metrics | None) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    class TimedHandler(AsyncSocketModeHandler):
        async def handle(self, client: Any, req: Any) -> None:
            started = time.perf_counter()
            await super().handle(client, req)
            if metrics is not None:
                metrics.ack(ack_kind(req.payload or {}, req.type), time.perf_counter() - started)

    handler = TimedHandler(app, app_token)

    async def slack_connected() -> str | None:
        return None if await handler.client.is_connected() else "the Socket Mode connection is down"

    health.add("slack", slack_connected)
    await handler.connect_async()
    log.info("connected to Slack in Socket Mode")
    try:
        await stop.wait()
    finally:
        await handler.close_async()


async def _http_mode(app: AsyncApp, deps: SlackDeps, port: int, stop: asyncio.Event, health: Health,
                     metrics: Metrics | None) -> None:
    loop = asyncio.get_running_loop()
    refusals = Refusals(schedule=loop.call_later)
    secret = deps.settings.secrets.slack_signing_secret
    check = SignedRequests(secret.get_secret_value() if secret else "", refusals, max_bytes=MAX_BODY_BYTES)

    async def events(request: web.Request) -> web.Response:
        started = time.perf_counter()
        refused = await check.refusal(request)
        if refused is not None:
            return refused
        try:
            bolt_request = await to_bolt_request(request)
        except Exception as exc:  # noqa: BLE001 - a signed body Bolt cannot read is the sender's error
            log.warning("refused a signed request whose body could not be read (%s)", type(exc).__name__)
            return web.json_response({"error": "unreadable body"}, status=400)
        response = await to_aiohttp_response(await app.async_dispatch(bolt_request))
        if metrics is not None:
            metrics.ack(ack_kind(bolt_request.body), time.perf_counter() - started)
        return response

    # No "slack" check here: in HTTP mode Slack connects to the bot, there is no connection to watch
    # (the token was checked at start, by auth.test).
    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    web_app.router.add_post("/slack/events", events)
    add_health(web_app, health)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "0.0.0.0", port)
    await site.start()
    log.info("listening for Slack on port %d (POST /slack/events, GET /healthz, GET /readyz)", port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        refusals.close()
