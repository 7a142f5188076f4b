"""A sliding-window rate limiter: never more than `limit` acquisitions in any `window` seconds.

The clock and the sleep are injected, so tests and benchmarks can run it on a fake clock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    """Blocks `acquire()` until another request fits into the window; thread-safe."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._times: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds spent waiting, for benchmarks and tests

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                while self._times and self._times[0] <= now - self.window:
                    self._times.popleft()
                if len(self._times) < self.limit:
                    self._times.append(now)
                    return
                wait = self._times[0] + self.window - now
            self.waited += wait
            self._sleep(wait)

    def pause(self, seconds: float) -> None:
        """Wait out a server-side limit (a 429's Retry-After) before the next acquisition."""
        if seconds > 0:
            self.waited += seconds
            self._sleep(seconds)
