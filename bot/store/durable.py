"""Writes that must land: retried while the database is briefly unreachable (a restart, a failover).

Guarantee: a write that records an outcome (a proposal executed, its audit line, a dead letter)
is not lost because PostgreSQL restarted under it: it is tried again with exponential backoff
(tenacity) for up to `seconds`, then the error is raised. Only for writes that are safe to repeat:
conditional updates (a second try finds the row moved and changes nothing) and appends whose
duplicate is harmless.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_exponential

T = TypeVar("T")


def _unreachable(exc: BaseException) -> bool:
    # OperationalError: the server went away or refused the connection (or SQLite was locked);
    # an invalidated connection: it died under a statement. Anything else is a real error.
    return isinstance(exc, OperationalError) or (isinstance(exc, DBAPIError) and bool(exc.connection_invalidated))


def durable(fn: Callable[..., T], *args: Any, seconds: float = 30.0,
            sleep: Callable[[float], None] = time.sleep, **kwargs: Any) -> T:
    """fn(*args, **kwargs), tried again while the database cannot be reached."""
    retrying = Retrying(stop=stop_after_delay(seconds), wait=wait_exponential(multiplier=0.2, max=5),
                        retry=retry_if_exception(_unreachable), sleep=sleep, reraise=True)
    for attempt in retrying:
        with attempt:
            return fn(*args, **kwargs)
    raise AssertionError("unreachable")  # pragma: no cover - Retrying returns or raises
