"""`python -m bot run`: the Bolt app over Socket Mode (SLACK_APP_TOKEN set) or HTTP.

HTTP mode serves `POST /slack/events` (every request signature-checked by Bolt, stale
timestamps refused) and `GET /healthz`. Either way the app acknowledges at once and works in
the background; on SIGINT/SIGTERM it stops taking requests and lets running ones finish.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.digests.scheduler import DigestScheduler
from bot.digests.service import DigestService
from bot.privacy.vault import Vault
from bot.slack.blocks.links import Links
from bot.slack.conversations import Conversations
from bot.slack.decisions import Decisions
from bot.slack.deps import SlackDeps
from bot.slack.housekeeping import Housekeeping
from bot.slack.listeners import actions, commands, digests, events
from bot.slack.members import Members
from bot.slack.poster import Poster
from bot.slack.runner import Runner
from bot.store.requests import SqlRequests
from bot.store.vault_store import SqlVaultStore

log = logging.getLogger(__name__)
DEFAULT_API_URL = "https://slack.com/api/"
DRAIN_SECONDS = 20.0


class SlackUnavailable(Exception):
    """Slack (or what SLACK_API_URL points at) refused the token or could not be reached."""


def web_client(token: str, base_url: str | None) -> AsyncWebClient:
    """The Web API client: 429s retried after Retry-After, dropped connections retried once."""
    return AsyncWebClient(token=token, base_url=base_url or DEFAULT_API_URL, retry_handlers=[
        AsyncConnectionErrorRetryHandler(max_retry_count=1),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
    ])


def build_app(settings: Settings, services: Any, client: AsyncWebClient, *, socket_mode: bool) -> tuple[AsyncApp, SlackDeps]:
    """The Bolt app with every listener, and what the listeners share."""
    slack = settings.slack
    engine = services.components.engine
    links = Links.from_settings(slack.record_url, slack.kb_url, slack.allowed_link_hosts)
    poster, members, runner, requests = Poster(client), Members(client), Runner(slack.max_concurrent_runs), SqlRequests(engine)
    vault_store = SqlVaultStore(engine)
    decisions = Decisions(services.approvals, poster, members, links)
    conversations = Conversations(agent=services.agent, gateway=services.gateway,
                                  vaults=lambda cid: Vault(cid, vault_store), requests=requests, runner=runner,
                                  links=links)
    deps = SlackDeps(settings, services.approvals, services.components.crm, conversations, decisions, members,
                     poster, requests, runner, links)
    secret = settings.secrets.slack_signing_secret
    app = AsyncApp(client=client, signing_secret=secret.get_secret_value() if secret else "",
                   request_verification_enabled=not socket_mode, process_before_response=False)
    for module in (events, commands, actions, digests):
        module.register(app, deps)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("listener failed on a %s payload: %s", body.get("type", "?"), error, exc_info=error)

    return app, deps


async def serve(settings: Settings, services: Any, *, port: int, clock: Callable[[], datetime],
                stop: asyncio.Event | None = None) -> None:
    """Run until stop is set (or a signal arrives)."""
    secrets = settings.secrets
    assert secrets.slack_bot_token is not None
    client = web_client(secrets.slack_bot_token.get_secret_value(), secrets.slack_api_url)
    try:
        identity = await client.auth_test()
    except SlackApiError as exc:
        raise SlackUnavailable(f"Slack refused SLACK_BOT_TOKEN ({exc.response.get('error')})") from None
    except Exception as exc:  # noqa: BLE001 - network errors of every kind end the same way
        raise SlackUnavailable(f"cannot reach Slack at {client.base_url} ({type(exc).__name__})") from None
    socket_mode = secrets.slack_app_token is not None
    app, deps = build_app(settings, services, client, socket_mode=socket_mode)
    deps.bot_user_id = str(identity["user_id"])
    deps.digests = _digests(settings, services, client, clock)
    await asyncio.to_thread(deps.digests.sync_config)
    scheduler = DigestScheduler(deps.digests, tick_seconds=settings.scheduler.tick_seconds)
    housekeeping = Housekeeping(deps, services.known, settings, clock)
    await housekeeping.on_start()
    housekeeping.start()
    scheduler.start()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        if socket_mode:
            await _socket_mode(app, secrets.slack_app_token.get_secret_value(), stop)  # type: ignore[union-attr]
        else:
            await _http_mode(app, deps, port, stop)
    finally:
        scheduler.stop()
        await housekeeping.stop()
        await deps.runner.drain(DRAIN_SECONDS)
        await services.model.aclose()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _digests(settings: Settings, services: Any, client: AsyncWebClient, clock: Callable[[], datetime]) -> DigestService:
    from bot.agent.model import MissingModel
    from bot.wiring import build_digests, slack_publisher

    parts = None if isinstance(services.model, MissingModel) else (services.model, services.gateway)
    return build_digests(settings, services.components, services.approvals, clock=clock,
                         publisher=slack_publisher(settings, client), summarizer_parts=parts)


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
    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    async def health(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "mode": "http", "in_flight": deps.runner.in_flight,
                                  "queued": deps.runner.waiting})

    web_app = web.Application(client_max_size=1024 * 1024)
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
