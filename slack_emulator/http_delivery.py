"""Slack's HTTP delivery: signed POSTs to the app's request URL.

Bodies and headers are byte-for-byte what Slack sends (JSON for events, forms for commands and
interactions, `v0` HMAC signatures), and the signature or timestamp can be forged so a test can
prove the app refuses them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


def sign(secret: str, timestamp: str, body: str) -> str:
    """Slack's request signature: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


def encode(kind: str, payload: dict[str, Any]) -> tuple[str, str]:
    """(body, content type) for a payload of `kind`, as Slack encodes it."""
    if kind == "events_api":
        return json.dumps(payload), "application/json"
    if kind == "slash_commands":
        return urlencode(payload), "application/x-www-form-urlencoded"
    return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class HttpResult:
    status: int | None
    body: dict[str, Any] | None  # JSON answer, or {"text": ...} for a plain-text one
    latency: float | None
    error: str | None  # http_error | http_timeout | connection_failed


class HttpSender:
    """Posts signed payloads; one aiohttp session for the emulator's life."""

    def __init__(self, signing_secret: str) -> None:
        self._secret = signing_secret
        self._session: aiohttp.ClientSession | None = None

    async def post(
        self,
        url: str,
        kind: str,
        payload: dict[str, Any],
        *,
        timeout: float,
        retry_attempt: int = 0,
        retry_reason: str = "",
        signature: str | None = None,
        timestamp_offset: float = 0.0,
    ) -> HttpResult:
        body, content_type = encode(kind, payload)
        # The app checks the timestamp against its own clock, so this is always real time.
        timestamp = str(int(time.time() + timestamp_offset))
        headers = {
            "Content-Type": content_type,
            "User-Agent": USER_AGENT,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature if signature is not None else sign(self._secret, timestamp, body),
        }
        if retry_attempt:
            headers["X-Slack-Retry-Num"] = str(retry_attempt)
            headers["X-Slack-Retry-Reason"] = retry_reason
        started = time.monotonic()
        try:
            async with self._client().post(url, data=body.encode(), headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
                text = await resp.text()
                latency = time.monotonic() - started
                parsed = _parse(text, resp.headers.get("Content-Type", ""))
                error = None if 200 <= resp.status < 300 else "http_error"
                return HttpResult(resp.status, parsed, latency, error)
        except TimeoutError:
            return HttpResult(None, None, None, "http_timeout")
        except aiohttp.ClientError:
            return HttpResult(None, None, None, "connection_failed")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session


def _parse(text: str, content_type: str) -> dict[str, Any] | None:
    if not text:
        return None
    if "json" in content_type:
        try:
            parsed = json.loads(text)
            return parsed if isinstance(parsed, dict) else {"value": parsed}
        except ValueError:
            pass
    return {"text": text}
