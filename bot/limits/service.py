"""Limits per person and per workspace, counted where every replica sees the same numbers.

The guarantees: a request is admitted or refused before any model call, and a refusal says in
one line which limit was reached and when the person can ask again. An admitted request is
counted once (requests per minute); the tokens a run used, as the model reported them, are
charged afterwards to the person and to the workspace for the UTC day. The token limits are
checked when a request arrives, so a run that starts under a limit finishes: a day's use can pass
a limit by at most the runs that were under way (each at most agent.max_tokens).

The counters live in any `limits` storage: the database (bot.store.counters) or Redis. Requests
use the package's fixed-window strategy; tokens are plain counters keyed by the day. If the
storage cannot be reached, requests are admitted (a warning is logged): a broken counter must not
lock every person out.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from limits import RateLimitItemPerMinute
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter

from bot.config import LimitsSection

log = logging.getLogger(__name__)
LimitName = Literal["requests_per_minute", "tokens_per_day", "workspace_tokens_per_day"]
NAMESPACE = "crm-copilot"
DAY_COUNTER_S = 2 * 86_400  # a day's counter outlives its day (its key names the day, so it never runs over)


@dataclass(frozen=True)
class Refusal:
    """A request over a limit: which one, when it frees up, and the line to tell the person."""

    limit: LimitName
    retry_at: float  # seconds since the epoch
    message: str


@dataclass(frozen=True)
class Usage:
    """One person's use at `as_of` and the limits (0: no limit); times in seconds since the epoch."""

    requests_this_minute: int
    requests_per_minute: int
    minute_resets_at: float
    tokens_today: int
    tokens_per_day: int
    workspace_tokens_today: int
    workspace_tokens_per_day: int
    day_resets_at: float
    as_of: float


class Limits:
    """Admits requests, charges tokens and reports usage. `clock` gives seconds since the epoch;
    `on_refusal` is called with the limit's name for every refusal (for a metric)."""

    def __init__(self, storage: Storage, settings: LimitsSection, *, clock: Callable[[], float] = time.time,
                 on_refusal: Callable[[LimitName], None] | None = None) -> None:
        self._storage, self._settings, self._clock = storage, settings, clock
        self._window = FixedWindowRateLimiter(storage)
        self._on_refusal = on_refusal
        rpm = settings.requests_per_minute
        self._per_minute = RateLimitItemPerMinute(rpm, namespace=f"{NAMESPACE}:requests") if rpm else None

    def admit(self, user: str) -> Refusal | None:
        """Count one request of `user`, or refuse it (None: admitted). Token budgets first, so a
        person out of tokens does not use up their requests as well."""
        try:
            refusal = self._check(user)
        except Exception as exc:  # noqa: BLE001 - whatever the storage raises, the person is not locked out
            log.warning("limit counters unavailable (%s); request of %s admitted uncounted", type(exc).__name__, user)
            return None
        if refusal is not None:
            log.info("refused %s: over %s", user, refusal.limit)
            if self._on_refusal is not None:
                self._on_refusal(refusal.limit)
        return refusal

    def over(self, user: str) -> bool:
        """True when a request of `user` would be refused now (nothing is counted). For a caller
        that would otherwise show the request publicly before `admit` refuses it."""
        try:
            return self._check(user, count=False) is not None
        except Exception:  # noqa: BLE001 - admit() decides, and logs
            return False

    def charge(self, user: str, tokens: int) -> None:
        """Add the tokens a run used to the person's and the workspace's count for today."""
        if tokens <= 0:
            return
        day = self._day()
        try:
            self._storage.incr(_tokens_key(user, day), DAY_COUNTER_S, amount=tokens)
            self._storage.incr(_tokens_key(None, day), DAY_COUNTER_S, amount=tokens)
        except Exception as exc:  # noqa: BLE001 - the answer is already given; only the count is lost
            log.warning("limit counters unavailable (%s); %d tokens of %s not counted", type(exc).__name__,
                        tokens, user)

    def usage(self, user: str) -> Usage:
        """The person's use and the limits; raises the storage's error when it cannot be read."""
        settings, day = self._settings, self._day()
        requests, minute_reset = 0, self._clock()
        if self._per_minute is not None:
            stats = self._window.get_window_stats(self._per_minute, user)
            requests, minute_reset = self._per_minute.amount - stats.remaining, stats.reset_time
        return Usage(requests, settings.requests_per_minute, minute_reset,
                     self._storage.get(_tokens_key(user, day)), settings.tokens_per_day,
                     self._storage.get(_tokens_key(None, day)), settings.workspace_tokens_per_day,
                     self._next_midnight(), self._clock())

    def workspace_tokens_today(self) -> float:
        """Model tokens the whole workspace used today, for the budget gauge (NaN when the counters
        cannot be read: a scrape must not fail because the storage is down)."""
        try:
            return float(self._storage.get(_tokens_key(None, self._day())))
        except Exception:  # noqa: BLE001 - whatever the storage raises, the gauge shows "unknown"
            return float("nan")

    def _check(self, user: str, *, count: bool = True) -> Refusal | None:
        settings, day = self._settings, self._day()
        budgets: tuple[tuple[LimitName, int, str | None], ...] = (
            ("workspace_tokens_per_day", settings.workspace_tokens_per_day, None),
            ("tokens_per_day", settings.tokens_per_day, user))
        for name, limit, who in budgets:
            if limit and self._storage.get(_tokens_key(who, day)) >= limit:
                return self._refusal(name, limit, self._next_midnight())
        item = self._per_minute
        # test() first: a refused request is not counted, so the count stays what was admitted.
        if item is not None and not (self._window.test(item, user) and (not count or self._window.hit(item, user))):
            reset = self._window.get_window_stats(item, user).reset_time
            return self._refusal("requests_per_minute", item.amount, reset)
        return None

    def _refusal(self, name: LimitName, limit: int, retry_at: float) -> Refusal:
        when = at(retry_at, self._clock())
        what = {"requests_per_minute": f"You have reached your limit of {limit:,} request{'s' if limit != 1 else ''} a minute",
                "tokens_per_day": f"You have used your {limit:,} model tokens for today",
                "workspace_tokens_per_day": f"The workspace has used its {limit:,} model tokens for today"}[name]
        return Refusal(name, retry_at, f"⏳ {what}; you can ask again {when}.")

    def _day(self) -> str:
        return datetime.fromtimestamp(self._clock(), timezone.utc).date().isoformat()

    def _next_midnight(self) -> float:
        today = datetime.fromtimestamp(self._clock(), timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        return (today + timedelta(days=1)).timestamp()


def _tokens_key(user: str | None, day: str) -> str:
    return f"{NAMESPACE}:tokens/{user or '*workspace*'}/{day}"


def at(moment: float, now: float) -> str:
    """'at 14:32 UTC (in 40 s)': when, and how long from now. Both round up: asking at the minute
    shown, or after the wait said, is never too early."""
    clock = datetime.fromtimestamp(math.ceil(moment / 60) * 60, timezone.utc).strftime("%H:%M UTC")
    return f"at {clock} (in {wait(moment - now)})"


def wait(seconds: float) -> str:
    """A wait in words: '40 s', '3 min', '5 h 12 min'."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"
