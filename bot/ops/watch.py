"""Watching the model and the personal-data detector from outside: timings, outcomes, state changes.

`WatchedModel` stands in front of any Model: it counts each call by outcome with its latency
and tokens, and says at WARNING when the model becomes unreachable, rate-limited, timing out or
failing, once per change of state (not once per request), and at INFO when it answers again.
`WatchedDetector` times each detection pass. Neither changes what it wraps: same results, same
exceptions.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from bot.agent.model import Message, Model, ModelReply
from bot.ops.metrics import Metrics
from bot.privacy.gateway import SpanDetector
from bot.privacy.spans import Span

log = logging.getLogger("bot.model")
# The client library's exception classes, by name (only bot.agent.openai_model imports it); the
# model raises ModelError with the library's exception as its context.
_BY_CLASS = {"APITimeoutError": "timeout", "RateLimitError": "rate_limited", "APIConnectionError": "unreachable",
             "TimeoutError": "timeout"}
_SAYING = {"timeout": "is timing out", "rate_limited": "is rate-limiting requests", "unreachable": "cannot be reached",
           "error": "is failing"}


def classify(exc: BaseException) -> str:
    """The outcome label of a failed model call: timeout, rate_limited, unreachable, cancelled or error."""
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    if isinstance(exc, TimeoutError):
        return "timeout"
    for cause in (exc.__cause__, exc.__context__):
        for cls in type(cause).__mro__ if cause is not None else ():
            if cls.__name__ in _BY_CLASS:
                return _BY_CLASS[cls.__name__]
    return "error"


class WatchedModel:
    """A Model that reports on the one it wraps (see the module docstring)."""

    def __init__(self, model: Model, metrics: Metrics | None) -> None:
        self._model, self._metrics = model, metrics
        self.name = model.name
        self.state = "ok"
        self._lock = threading.Lock()

    async def complete(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]], *,
                       timeout: float | None = None) -> ModelReply:
        started = time.perf_counter()
        try:
            reply = await self._model.complete(messages, tools, timeout=timeout)
        except BaseException as exc:
            outcome = classify(exc)
            if self._metrics is not None:
                self._metrics.model_call(outcome, time.perf_counter() - started)
            # A run's own time limit cancels the call: that says nothing about the model's health.
            if outcome != "cancelled":
                self._became(outcome)
            raise
        if self._metrics is not None:
            self._metrics.model_call("ok", time.perf_counter() - started, prompt_tokens=reply.usage.prompt_tokens,
                                     completion_tokens=reply.usage.completion_tokens)
        self._became("ok")
        return reply

    def _became(self, state: str) -> None:
        with self._lock:
            if state == self.state:
                return
            before, self.state = self.state, state
        event = "model.recovered" if state == "ok" else f"model.{state}"
        extra = {"event": event, "fields": {"model": self.name, "before": before}}
        if state == "ok":
            log.info("%s the model %s answers again (it %s before)", event, self.name, _SAYING[before], extra=extra)
        else:
            log.warning("%s the model %s %s", event, self.name, _SAYING[state], extra=extra)

    async def aclose(self) -> None:
        await self._model.aclose()


class WatchedDetector:
    """A span detector whose passes are timed into crm_copilot_masking_seconds."""

    def __init__(self, detector: SpanDetector, metrics: Metrics) -> None:
        self._detector, self._metrics = detector, metrics

    def detect(self, text: str) -> list[Span]:
        started = time.perf_counter()
        try:
            return self._detector.detect(text)
        finally:
            self._metrics.masking(time.perf_counter() - started)
