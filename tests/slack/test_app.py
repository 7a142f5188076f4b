"""The Bolt app as a whole, offline: requests dispatched through Bolt reach the listeners of app.py.

Socket Mode payloads are handed to `async_dispatch` directly. Bolt asks auth.test who it is through a
client of its own (a copy of the app's, with the same base URL), so a loopback server answers that
one call; everything the listeners send goes to the FakeSlack client. What these tests show: the routing table, and that the global middleware runs
before any listener (a bot's message is acknowledged and goes nowhere).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.slack.app import build_app
from bot.slack.blocks.cards import APPROVE, RETRY
from tests.slack.fakes import BOT_USER_ID, Bench


async def dispatch(bench: Bench, body: dict[str, Any]) -> int:
    """Status of Bolt's response, after every listener the request started has finished."""

    async def auth_test(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "user_id": BOT_USER_ID, "bot_id": "BBOT", "team_id": "T1"})

    server = web.Application()
    server.router.add_post("/api/auth.test", auth_test)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    bench.slack.base_url = f"http://127.0.0.1:{port}/api/"
    try:
        app = build_app(bench.deps, socket_mode=True)
        response = await app.async_dispatch(AsyncBoltRequest(body=json.dumps(body), mode="socket_mode"))
    finally:
        await runner.cleanup()
    # Bolt acknowledges first and runs listeners as tasks of their own: wait for them (Bolt's
    # error handler has logged any failure; the assertions on what they did tell).
    await asyncio.gather(*(t for t in asyncio.all_tasks() if t is not asyncio.current_task()), return_exceptions=True)
    return response.status


def event(inner: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "Ev1", "event": inner}


def test_a_mention_reaches_the_mention_listener(bench: Bench) -> None:
    body = event({"type": "app_mention", "channel": "C0SALES", "user": "U02BOB", "ts": "5.0",
                  "text": f"<@{BOT_USER_ID}> how is Acme?"})
    assert asyncio.run(dispatch(bench, body)) == 200
    assert [(r.kind, r.text) for r in bench.conversations.accepted] == [("mention", "how is Acme?")]


def test_a_bots_message_is_acknowledged_and_reaches_no_listener(bench: Bench) -> None:
    body = event({"type": "message", "channel": "D1", "channel_type": "im", "user": "U03BOT", "bot_id": "B3",
                  "ts": "5.0", "text": "automated hello"})
    assert asyncio.run(dispatch(bench, body)) == 200
    assert bench.conversations.accepted == []


def test_approve_and_retry_lead_to_the_approval(bench: Bench) -> None:
    for action_id in (APPROVE, RETRY):
        body = {"type": "block_actions", "team": {"id": "T1"}, "api_app_id": "A1", "user": {"id": "U01ALICE"},
                "trigger_id": "t1", "response_url": "http://127.0.0.1:9/response",
                "container": {"type": "message", "channel_id": "C0SALES", "message_ts": "2.0"},
                "channel": {"id": "C0SALES"},
                "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": "p1"}]}
        assert asyncio.run(dispatch(bench, body)) == 200
    assert [name for name, _ in bench.runner.jobs] == ["approve p1", "approve p1"]
