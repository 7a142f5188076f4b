"""The HubSpot SDK set up once, and every call through one door: rate limits, retries, auth faults.

Guarantees:
- no more requests than the configured burst limit, and no more searches than the search limit;
- a 429 waits for `Retry-After` (else the rate-limit interval header) and is retried at most
  `max_retries` times, for every method: HubSpot did not process the request;
- a 5xx answer, a timeout or a dropped connection is retried with exponential backoff only for
  reads and for writes the caller declares safe to repeat; any other write fails at once;
- a 401 or 403 is logged once, in one line naming the token or the missing scopes, and raised as
  CrmUnavailable ("the CRM is not reachable"); the token itself never appears anywhere.

The SDK's own urllib3 retry is switched off: it would retry a 429 on GET by itself (sleeping
inside the HTTP layer, invisible to the limiter) but raise it on POST and PATCH, which carry
search, create and batch reads. One retry layer here (tenacity, as everywhere in the bot) treats
every method alike and counts attempts. The SDK builds and sends
each request and raises its errors, but its response models are skipped (`_preload_content=False`,
the JSON read here): building them costs about 40 ms per 100 records, seven times the rest of the
request, which a 120,000-record directory read would feel.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from urllib3.exceptions import HTTPError as TransportError
from urllib3.util.retry import Retry

from adapters.crm.base import CrmUnavailable, ValidationFailed
from adapters.crm.hubspot.limiter import RateLimiter

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.hubapi.com"
CallKind = Literal["read", "search", "write", "safe_write"]


@dataclass(frozen=True)
class Limits:
    """Client-side limits and retry policy."""

    requests_per_window: int = 100
    window_seconds: float = 10.0
    search_requests_per_second: float = 4.0
    max_retries: int = 3
    timeout_seconds: float = 20.0
    backoff_seconds: float = 0.5


class ApiError(Exception):
    """A HubSpot answer other than success that the caller handles (404, 409, 400)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"HubSpot answered {status}: {body.get('message', '')}")
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Apis:
    """The SDK API objects, each built once (every SDK attribute access builds a new HTTP pool)."""

    objects: Any
    batch: Any
    search: Any
    associations: Any
    association_batch: Any
    owners: Any
    properties: Any
    property_groups: Any


def build_apis(access_token: str, base_url: str | None) -> Apis:
    """The SDK pointed at base_url (default HubSpot's), with its own retries off."""
    from hubspot import HubSpot  # the SDK imports a few hundred modules: only when HubSpot is used

    client = HubSpot(access_token=access_token, host=(base_url or DEFAULT_API_URL).rstrip("/"), retry=Retry(total=False))
    crm = client.crm
    return Apis(
        objects=crm.objects.basic_api,
        batch=crm.objects.batch_api,
        search=crm.objects.search_api,
        associations=crm.associations.v4.basic_api,
        association_batch=crm.associations.v4.batch_api,
        owners=crm.owners.owners_api,
        properties=crm.properties.core_api,
        property_groups=crm.properties.groups_api,
    )


class Transport:
    """Runs SDK calls under the limiters and the retry policy; counts requests per operation."""

    def __init__(
        self,
        apis: Apis,
        limits: Limits = Limits(),
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.apis = apis
        self.limits = limits
        self._sleep = sleep
        self.burst = RateLimiter(limits.requests_per_window, limits.window_seconds, clock=clock, sleep=sleep)
        # The search limit is per second; a window of one second with a whole number of requests.
        self.search_limiter = RateLimiter(max(1, int(limits.search_requests_per_second)), 1.0, clock=clock, sleep=sleep)
        self.requests: Counter[str] = Counter()
        self._auth_reported = False
        self.denied_scopes: list[str] = []  # every scope a 403 named, for `hubspot setup`
        self.token_refused = False
        self._lock = threading.Lock()

    def call(self, name: str, kind: CallKind, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """The JSON answer of fn(*args, **kwargs) (None when empty), with limits and retries; `name`
        labels it in the request counts."""
        retrying = Retrying(stop=stop_after_attempt(self.limits.max_retries + 1), retry=retry_if_exception_type(_Again),
                            wait=_waited, sleep=self._pause, reraise=True)
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(name, kind, fn, args, kwargs,
                                      last=attempt.retry_state.attempt_number > self.limits.max_retries,
                                      number=attempt.retry_state.attempt_number)
        except _Again as exc:  # not reached: the last attempt raises CrmUnavailable instead
            raise CrmUnavailable() from exc
        raise AssertionError("unreachable")  # pragma: no cover - Retrying either returns or raises

    def _once(self, name: str, kind: CallKind, fn: Callable[..., Any], args: Any, kwargs: Any, *, last: bool,
              number: int) -> Any:
        """One attempt: the answer, _Again(seconds to wait) when another attempt may succeed, or the error."""
        if kind == "search":
            self.search_limiter.acquire()
        self.burst.acquire()
        with self._lock:
            self.requests[name] += 1
        try:
            response = fn(*args, _request_timeout=self.limits.timeout_seconds, _preload_content=False, **kwargs)
            data = response.data
            response.release_conn()  # back to the pool: one connection serves many requests
            return json.loads(data) if data else None
        except TransportError as exc:
            if kind == "write" or last:
                log.warning("HubSpot %s failed: %s", name, type(exc).__name__)
                raise CrmUnavailable() from None
            raise _Again(self._backoff(number - 1)) from None
        except Exception as exc:  # noqa: BLE001 - the SDK raises one ApiException class per API package
            status = getattr(exc, "status", None)
            if not isinstance(status, int) or not hasattr(exc, "body"):
                raise
            body = _body(exc)
            if status == 429 and not last:
                # The limiter holds every caller back for Retry-After, not only this one.
                self.burst.pause(_retry_after(getattr(exc, "headers", None) or {}, self.limits.window_seconds))
                raise _Again(0.0) from None
            if status >= 500 and kind != "write" and not last:
                raise _Again(self._backoff(number - 1)) from None
            if status in (401, 403):
                self._report_auth(status, body)
                raise CrmUnavailable() from None
            if status == 429 or status >= 500:
                log.warning("HubSpot %s failed with %s after %d attempts", name, status, number)
                raise CrmUnavailable() from None
            if status == 400:
                raise ValidationFailed(f"HubSpot refused the values: {body.get('message', 'bad request')}") from None
            raise ApiError(status, body) from None

    def _pause(self, seconds: float) -> None:
        if seconds > 0:  # after a 429 the limiter does the waiting, for every caller
            self._sleep(seconds)

    def _backoff(self, attempt: int) -> float:
        return self.limits.backoff_seconds * (2**attempt) * (0.5 + random.random() / 2)

    def _report_auth(self, status: int, body: dict[str, Any]) -> None:
        with self._lock:
            self.token_refused = self.token_refused or status == 401
            self.denied_scopes += [s for s in _missing_scopes(body) if s not in self.denied_scopes]
            if self._auth_reported:
                return
            self._auth_reported = True
        if status == 401:
            log.error("HubSpot refused HUBSPOT_ACCESS_TOKEN (401): the token is wrong, expired or revoked; "
                      "copy it again from the private app")
            return
        scopes = _missing_scopes(body)
        log.error("HubSpot refused a request (403): the private app lacks the scope%s %s; add %s and update "
                  "HUBSPOT_ACCESS_TOKEN", "s" if len(scopes) > 1 else "", ", ".join(scopes) or "(not named)",
                  "them" if len(scopes) > 1 else "it")


class _Again(Exception):
    """HubSpot did not process the request and another attempt may succeed after `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry in {seconds:.2f} s")
        self.seconds = seconds


def _waited(state: RetryCallState) -> float:
    """tenacity's wait: what the failed attempt asked for (backoff, or nothing after a 429 the limiter holds)."""
    exc = state.outcome.exception() if state.outcome is not None else None
    return exc.seconds if isinstance(exc, _Again) else 0.0


def _body(exc: Any) -> dict[str, Any]:
    raw = getattr(exc, "body", None)
    try:
        data = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _missing_scopes(body: dict[str, Any]) -> list[str]:
    scopes: list[str] = []
    for error in body.get("errors") or ():
        context = error.get("context") or {}
        for key in ("requiredGranularScopes", "requiredScopes"):
            scopes += [s for s in context.get(key) or () if s not in scopes]
    return scopes


def _retry_after(headers: Any, window: float) -> float:
    """Seconds to wait after a 429: Retry-After, else the rate-limit interval, else one window."""
    get = headers.get if hasattr(headers, "get") else dict(headers).get
    for name, scale in (("Retry-After", 1.0), ("X-HubSpot-RateLimit-Interval-Milliseconds", 0.001)):
        value = get(name) or get(name.lower())
        if value:
            try:
                return min(float(value) * scale, 60.0)
            except ValueError:
                continue
    return window
