"""Health: alive (`/healthz`) and ready to serve (`/readyz`), from a list of named checks.

A check is an async callable returning None when all is well and a short reason otherwise
(or raising, which counts as failing with the exception's type). Checks run concurrently, each
within CHECK_TIMEOUT_S, so a hung database makes `/readyz` answer "not ready" rather than hang.
The list is open: wiring adds the database, the schema and Slack; more can be added (for
example "model breaker not open") with `add`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

Check = Callable[[], Awaitable[str | None]]
CHECK_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Readiness:
    ready: bool
    checks: dict[str, str]  # name -> "ok" or the reason it is not

    def as_json(self) -> dict[str, Any]:
        return {"ready": self.ready, "checks": self.checks}


class Health:
    """The process's health: `details()` for /healthz, `readiness()` for /readyz."""

    def __init__(self, checks: list[tuple[str, Check]] | None = None, *,
                 details: Callable[[], dict[str, Any]] | None = None, timeout: float = CHECK_TIMEOUT_S) -> None:
        self._checks: list[tuple[str, Check]] = list(checks or [])
        self._details = details
        self._timeout = timeout

    def add(self, name: str, check: Check) -> None:
        """One more readiness check (names are shown in /readyz)."""
        self._checks.append((name, check))

    def set_details(self, details: Callable[[], dict[str, Any]]) -> None:
        """What /healthz reports besides ok (the server's mode, work in flight)."""
        self._details = details

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self._checks]

    def details(self) -> dict[str, Any]:
        return {"ok": True, **(self._details() if self._details else {})}

    async def readiness(self) -> Readiness:
        results = await asyncio.gather(*(self._run(check) for _, check in self._checks))
        checks = {name: result or "ok" for (name, _), result in zip(self._checks, results, strict=True)}
        return Readiness(all(result is None for result in results), checks)

    async def _run(self, check: Check) -> str | None:
        try:
            return await asyncio.wait_for(check(), self._timeout)
        except (TimeoutError, asyncio.TimeoutError):
            return f"no answer within {self._timeout:g} s"
        except Exception as exc:  # noqa: BLE001 - a failing check is a reason, not a crash
            return f"failed ({type(exc).__name__})"
