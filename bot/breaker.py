"""A circuit breaker: after `threshold` consecutive failures of a dependency, stop calling it.

Guarantee: while the breaker is open, `allow()` answers False at once, so a request learns in
microseconds what it would otherwise learn after the client's whole retry schedule. After
`cooldown` seconds one caller (and only one) is let through as a probe (half-open); its success
closes the breaker, its failure opens it for another cool-down. State changes are logged at
WARNING once each, with the reason, for the operator.

A small class rather than pybreaker: pybreaker's asynchronous support goes through Tornado, its
clock cannot be injected (tests would sleep), and its half-open state lets every concurrent
caller through. Here the clock is injected and the same object serves the model (called on the
event loop) and the CRM (called from worker threads): a lock guards the counters.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Literal

log = logging.getLogger(__name__)

State = Literal["closed", "half-open", "open"]


class Breaker:
    """One dependency's breaker. `state` is what metrics and readiness report."""

    def __init__(self, name: str, *, threshold: int, cooldown: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self._threshold, self._cooldown, self._clock = name, threshold, cooldown, clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self.reason = ""  # the last failure, in the operator's words
        self.listeners: list[Callable[[State], None]] = []

    @property
    def state(self) -> State:
        with self._lock:
            return self._state()

    def _state(self) -> State:
        if self._opened_at is None:
            return "closed"
        if self._probing or self._clock() - self._opened_at >= self._cooldown:
            return "half-open"
        return "open"

    def retry_in(self) -> float:
        """Seconds until the next probe may run (0 when closed or half-open)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self._cooldown - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """May a call go out now? While half-open, True for the one probe only: the caller that
        got True must then report success() or failure() (or release() when it never ran)."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return True
            if state == "open" or self._probing:
                return False
            self._probing = True
            return True

    def success(self) -> None:
        with self._lock:
            was = self._state()
            self._failures, self._opened_at, self._probing = 0, None, False
        if was != "closed":
            log.warning("%s is answering again: circuit closed", self.name)
            self._tell("closed")

    def failure(self, reason: str) -> None:
        with self._lock:
            self.reason = reason
            was = self._state()
            self._failures += 1
            if (was == "closed" and self._failures < self._threshold) or was == "open":
                return  # below the threshold, or a call that started before the circuit opened
            self._opened_at, self._probing = self._clock(), False
        if was == "closed":
            log.warning("%s failed %d times in a row (%s): circuit open for %g s", self.name, self._threshold,
                        reason, self._cooldown)
        else:
            log.warning("%s probe failed (%s): circuit open for another %g s", self.name, reason, self._cooldown)
        self._tell("open")

    def release(self) -> None:
        """The call allowed as a probe ended without an answer either way (cancelled): let another probe."""
        with self._lock:
            self._probing = False

    def _tell(self, state: State) -> None:
        for listener in self.listeners:
            try:
                listener(state)
            except Exception:  # noqa: BLE001 - a metric must not break the breaker
                log.exception("breaker listener failed")


class Breakers:
    """The breakers of one process: around the model and around the CRM adapter."""

    def __init__(self, *, threshold: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.model = Breaker("the model server", threshold=threshold, cooldown=cooldown, clock=clock)
        self.crm = Breaker("the CRM", threshold=threshold, cooldown=cooldown, clock=clock)

    def blocked(self) -> Breaker | None:
        """The first breaker that is open now (a request would fail at once), or None."""
        return next((b for b in (self.model, self.crm) if b.state == "open"), None)
