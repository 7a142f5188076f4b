"""Checking a request to `POST /slack/events` before Bolt sees it: signed, fresh, not too large.

A request is passed on only when its `X-Slack-Signature` is the HMAC of its raw body under the
signing secret and its `X-Slack-Request-Timestamp` is within 5 minutes (slack_sdk's
SignatureVerifier; Bolt checks again). Nothing is parsed before that, so a forged or malformed
body cannot raise: it gets 401, or 413 above the size limit. Refusals log no body, no header and
no address, only counts by reason, at most once per interval: a flood of forged posts costs a
line a minute, and whatever a stale genuine event carried stays out of the log.
"""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from typing import Protocol

from aiohttp import web
from slack_sdk.signature import Clock, SignatureVerifier

log = logging.getLogger(__name__)

MAX_AGE_SECONDS = 60 * 5  # Slack's rule, and SignatureVerifier's
_TIMESTAMP = re.compile(r"\d{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class Cancellable(Protocol):
    """A scheduled call that can be called off (asyncio's TimerHandle)."""

    def cancel(self) -> None: ...


# Schedules a call after a delay (seconds); the event loop's call_later in the server.
Scheduler = Callable[[float, Callable[[], None]], Cancellable]


class Refusals:
    """Refused requests counted by reason and logged at most once per interval.

    The first refusal after a quiet interval is logged at once; later ones are summed into the
    next line, written when the interval has passed (by a timer, if the scheduler is given, or at
    the next refusal) and at close."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, interval: float = 60.0,
                 schedule: Scheduler | None = None) -> None:
        self._clock, self._interval, self._schedule = clock, interval, schedule
        self._counts: Counter[str] = Counter()
        self._logged_at: float | None = None
        self._timer: Cancellable | None = None

    def note(self, reason: str) -> None:
        """One refused request (reason: a few words, never request content)."""
        self._counts[reason] += 1
        now = self._clock()
        if self._logged_at is None or now - self._logged_at >= self._interval:
            self._write(now)
        elif self._timer is None and self._schedule is not None:
            self._timer = self._schedule(self._logged_at + self._interval - now, self._on_timer)

    def close(self) -> None:
        """Log what is still uncounted and stop the timer."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        if self._counts:
            self._write(self._clock())

    def _on_timer(self) -> None:
        self._timer = None
        if self._counts:
            self._write(self._clock())

    def _write(self, now: float) -> None:
        total = sum(self._counts.values())
        reasons = ", ".join(f"{reason} {n}" for reason, n in sorted(self._counts.items()))
        log.warning("refused %d request%s to /slack/events (%s); refusals are logged at most every %g s",
                    total, "" if total == 1 else "s", reasons, self._interval)
        self._counts.clear()
        self._logged_at = now


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class SignedRequests:
    """The check in front of Bolt; `refusal` says whether a request may go on."""

    def __init__(self, signing_secret: str, refusals: Refusals, *, max_bytes: int,
                 now: Callable[[], float] = time.time) -> None:
        self._verifier = SignatureVerifier(signing_secret, clock=_Clock(now))
        self._refusals, self._max_bytes, self._now = refusals, max_bytes, now

    async def refusal(self, request: web.Request) -> web.Response | None:
        """None when the request is signed, fresh and small enough (its body is then read and
        kept by aiohttp for the adapter); otherwise the response to send, the refusal counted."""
        if request.content_length is not None and request.content_length > self._max_bytes:
            return self._refuse("too large", 413)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:  # a chunked body past aiohttp's client_max_size
            return self._refuse("too large", 413)
        if len(body) > self._max_bytes:
            return self._refuse("too large", 413)
        reason = self._problem(body, request.headers.get("X-Slack-Request-Timestamp", ""),
                               request.headers.get("X-Slack-Signature", ""))
        return self._refuse(reason, 401) if reason else None

    def _problem(self, body: bytes, timestamp: str, signature: str) -> str | None:
        if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
            return "unsigned"
        if abs(self._now() - int(timestamp)) > MAX_AGE_SECONDS:
            return "stale timestamp"
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return "bad signature"  # Slack signs UTF-8 text only
        return None if self._verifier.is_valid(text, timestamp, signature) else "bad signature"

    def _refuse(self, reason: str, status: int) -> web.Response:
        self._refusals.note(reason)
        return web.json_response({"error": "invalid request" if status == 401 else "request too large"},
                                 status=status)
