"""The check in front of Bolt: only signed, fresh, small requests pass; refusals log counts, never content."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.config import load_settings
from bot.slack.app import build_app
from bot.slack.signed import Refusals, SignedRequests
from tests.slack.fakes import Bench

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-signing-secret"
NOW = 1_800_000_000.0
BODY = json.dumps({"type": "event_callback", "event": {"type": "app_mention", "text": "call Zoë Quist-Tan",
                                                        "user_email": "zoe.quist@private.example"}})
LIMIT = 4096


def sign(body: bytes, timestamp: str, secret: str = SECRET) -> str:
    return "v0=" + hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()


def headers(body: bytes, *, age: float = 0.0, secret: str = SECRET) -> dict[str, str]:
    timestamp = str(int(NOW - age))
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": sign(body, timestamp, secret)}


class FakeTimer:
    """A scheduler that keeps the callback for the test to fire."""

    def __init__(self) -> None:
        self.pending: list[tuple[float, Callable[[], None]]] = []

    def __call__(self, delay: float, callback: Callable[[], None]) -> FakeTimer:
        self.pending.append((delay, callback))
        return self

    def cancel(self) -> None:
        self.pending.clear()

    def fire(self) -> None:
        (_, callback), *self.pending = self.pending
        callback()


async def post(body: bytes, request_headers: dict[str, str], *, chunked: bool = False) -> tuple[int, bytes | None]:
    """Status of a request through the check, and the body the next handler got (None if refused)."""
    passed: list[bytes] = []
    check = SignedRequests(SECRET, Refusals(clock=lambda: 0.0), max_bytes=LIMIT, now=lambda: NOW)

    async def events(request: web.Request) -> web.Response:
        refused = await check.refusal(request)
        if refused is not None:
            return refused
        passed.append(await request.read())
        return web.Response(text="ok")

    app = web.Application(client_max_size=LIMIT)
    app.router.add_post("/slack/events", events)
    async with TestClient(TestServer(app)) as client:
        data: Any = body
        if chunked:
            async def chunks() -> Any:
                yield body

            data = chunks()
        response = await client.post("/slack/events", data=data, headers=request_headers)
        return response.status, (passed[0] if passed else None)


SIGNED = BODY.encode()
CASES = [
    ("signed and fresh", SIGNED, headers(SIGNED), 200, None),
    ("signed a minute ago", SIGNED, headers(SIGNED, age=60), 200, None),
    ("no headers", SIGNED, {}, 401, "unsigned"),
    ("wrong secret", SIGNED, headers(SIGNED, secret="guess"), 401, "bad signature"),
    ("body changed", SIGNED + b" ", headers(SIGNED), 401, "bad signature"),
    ("stale timestamp", SIGNED, headers(SIGNED, age=301), 401, "stale timestamp"),
    ("timestamp from the future", SIGNED, headers(SIGNED, age=-400), 401, "stale timestamp"),
    ("timestamp not a number", SIGNED, {**headers(SIGNED), "X-Slack-Request-Timestamp": "soon"}, 401, "unsigned"),
    ("signature not hex", SIGNED, {**headers(SIGNED), "X-Slack-Signature": "v0=zz"}, 401, "unsigned"),
    ("body not UTF-8", b"\xff\xfe{", headers(b"\xff\xfe{"), 401, "bad signature"),
    ("malformed JSON, unsigned", b'{"type": ', {"Content-Type": "application/json"}, 401, "unsigned"),
    ("malformed form, bad signature", b"payload=%7B%22", {**headers(SIGNED), "Content-Type":
                                                          "application/x-www-form-urlencoded"}, 401, "bad signature"),
    ("over the size limit", b"x" * (LIMIT + 1), headers(b"x" * (LIMIT + 1)), 413, "too large"),
]


@pytest.mark.parametrize(("body", "request_headers", "status", "reason"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_only_signed_fresh_small_requests_pass(caplog: pytest.LogCaptureFixture, body: bytes,
                                               request_headers: dict[str, str], status: int, reason: str | None) -> None:
    caplog.set_level(logging.DEBUG)
    got, passed = asyncio.run(post(body, request_headers))
    assert got == status
    assert passed == (body if status == 200 else None)
    refusals = [r.getMessage() for r in caplog.records if r.name == "bot.slack.signed"]
    assert refusals == ([] if reason is None else [f"refused 1 request to /slack/events ({reason} 1); "
                                                    "refusals are logged at most every 60 s"])
    assert "Zo" not in caplog.text and "private.example" not in caplog.text and "Traceback" not in caplog.text


def test_a_chunked_body_over_the_limit_is_refused_with_413() -> None:
    big = b"x" * (LIMIT * 2)
    assert asyncio.run(post(big, headers(big), chunked=True)) == (413, None)


def test_refusals_are_logged_at_most_once_a_minute_with_a_count(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.slack.signed")
    now = [0.0]
    timer = FakeTimer()
    refusals = Refusals(clock=lambda: now[0], schedule=timer)
    refusals.note("bad signature")  # the first: at once
    for second in range(1, 59):
        now[0] = second
        refusals.note("too large" if second % 2 else "bad signature")
    assert len(caplog.records) == 1 and [delay for delay, _ in timer.pending] == [59.0]  # one timer for the rest
    now[0] = 60.0
    timer.fire()
    assert [r.getMessage().split(";")[0] for r in caplog.records] == [
        "refused 1 request to /slack/events (bad signature 1)",
        "refused 58 requests to /slack/events (bad signature 29, too large 29)",
    ]
    now[0] = 200.0
    refusals.note("unsigned")  # after a quiet minute: at once again
    now[0] = 210.0
    refusals.note("unsigned")
    refusals.close()  # the rest at shutdown, the timer cancelled
    assert [r.getMessage().split(";")[0] for r in caplog.records][2:] == [
        "refused 1 request to /slack/events (unsigned 1)", "refused 1 request to /slack/events (unsigned 1)"]
    assert timer.pending == []


def test_bolts_own_check_logs_nothing_of_a_refused_request(bench: Bench, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = load_settings(ROOT / "app.toml", env={"SLACK_SIGNING_SECRET": SECRET})
    app = build_app(dataclasses.replace(bench.deps, settings=settings), socket_mode=False)
    forged = AsyncBoltRequest(body=BODY, headers={"x-slack-request-timestamp": "1", "x-slack-signature": "v0=0"})
    response = asyncio.run(app.async_dispatch(forged))
    assert response.status == 401
    assert "Zo" not in caplog.text and "private.example" not in caplog.text and "v0=0" not in caplog.text
