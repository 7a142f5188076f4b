"""The model and the CRM behind their circuit breakers.

Guarantee: while a breaker is open, a call fails at once (ModelUnavailable, CrmUnavailable)
instead of waiting out the client's retries against a dependency known to be down; only
failures of the dependency itself (5xx, timeouts, lost connections, 429s the client gave up on,
replies that are not a completion) count towards opening it. A request that the dependency
refuses for a reason of its own (a record not found, a stale version, invalid values) is an
answer, and counts as a success.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from adapters.crm.base import CrmError, CrmUnavailable
from bot.agent.model import Message, Model, ModelError, ModelReply, ModelUnavailable
from bot.breaker import Breaker


class GuardedModel:
    """A Model whose calls pass its breaker first."""

    def __init__(self, model: Model, breaker: Breaker) -> None:
        self.name, self.inner, self.breaker = model.name, model, breaker

    async def complete(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]], *,
                       timeout: float | None = None) -> ModelReply:
        if not self.breaker.allow():
            raise ModelUnavailable(f"the model server is failing ({self.breaker.reason}); calls are paused "
                                   f"for {self.breaker.retry_in():.0f} s")
        try:
            reply = await self.inner.complete(messages, tools, timeout=timeout)
        except ModelError as exc:
            if exc.transient:
                self.breaker.failure(str(exc))
            else:
                self.breaker.release()  # a configuration fault: the operator's, not the server's health
            raise
        except (asyncio.CancelledError, TimeoutError):
            self.breaker.release()  # the run's own time limit, not the server's answer
            raise
        self.breaker.success()
        return reply

    async def aclose(self) -> None:
        await self.inner.aclose()


class GuardedCrm:
    """A CrmAdapter whose every method passes the CRM's breaker first (any adapter, any method)."""

    def __init__(self, crm: Any, breaker: Breaker) -> None:
        self._crm, self.breaker = crm, breaker

    @property
    def inner(self) -> Any:
        return self._crm

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._crm, name)
        if not callable(attribute) or name.startswith("_") or name in ("record_url",):
            return attribute
        breaker = self.breaker

        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not breaker.allow():
                raise CrmUnavailable("the CRM is not reachable right now")
            try:
                result = attribute(*args, **kwargs)
            except CrmUnavailable as exc:
                breaker.failure(str(exc))
                raise
            except (CrmError, LookupError, ValueError):
                breaker.success()  # the CRM answered: it is up
                raise
            except Exception as exc:
                breaker.failure(type(exc).__name__)
                raise
            breaker.success()
            return result

        return guarded
