"""The circuit breaker's states on an injected clock, and the model and CRM behind it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from adapters.crm.base import CrmUnavailable, NotFoundError
from bot.agent.guarded import GuardedCrm, GuardedModel
from bot.agent.model import Message, ModelError, ModelReply, ModelUnavailable, Usage
from bot.breaker import Breaker, Breakers


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, threshold: int = 3, cooldown: float = 30.0) -> Breaker:
    return Breaker("the model server", threshold=threshold, cooldown=cooldown, clock=clock)


@pytest.mark.parametrize(("events", "state"), [
    ("", "closed"),
    ("ff", "closed"),  # below the threshold
    ("fff", "open"),
    ("ffsff", "closed"),  # a success resets the count: failures must be consecutive
    ("fff+", "half-open"),  # the cool-down passed
    ("fff+s", "closed"),  # the probe succeeded
    ("fff+f", "open"),  # the probe failed: another cool-down
    ("fff+f+", "half-open"),
])
def test_states(events: str, state: str) -> None:
    clock = Clock()
    b = breaker(clock)
    for event in events:
        if event == "f":
            b.failure("HTTP 500")
        elif event == "s":
            b.success()
        else:
            clock.now += 30
    assert b.state == state


def test_while_open_calls_are_refused_and_half_open_lets_exactly_one_probe_through(
        caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    b = breaker(clock)
    seen: list[str] = []
    b.listeners.append(seen.append)
    for _ in range(3):
        assert b.allow()
        b.failure("the model server did not answer in time")
    assert not b.allow() and b.retry_in() == 30
    clock.now += 29.5
    assert not b.allow() and b.retry_in() == 0.5
    clock.now += 0.5
    assert [b.allow(), b.allow(), b.allow()] == [True, False, False]  # one probe, the others still refused
    b.release()  # the probe was cancelled: another may go
    assert b.allow()
    b.success()
    assert b.state == "closed" and all(b.allow() for _ in range(5))
    assert seen == ["open", "closed"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2 and "circuit open" in warnings[0] and "in time" in warnings[0]  # once per change


def test_a_failure_of_a_call_started_before_the_circuit_opened_does_not_extend_the_cool_down() -> None:
    clock = Clock()
    b = breaker(clock, threshold=1)
    b.failure("HTTP 503")
    clock.now += 20
    b.failure("HTTP 503")  # an older call's failure arriving late
    assert b.retry_in() == 10


class Failing:
    """A model that fails with the given errors, then answers."""

    name = "scripted"

    def __init__(self, errors: Sequence[ModelError]) -> None:
        self.errors, self.calls = list(errors), 0

    async def complete(self, messages: Sequence[Message], tools: Sequence[dict[str, Any]], *,
                       timeout: float | None = None) -> ModelReply:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return ModelReply("fine", (), Usage(1, 1), "scripted")

    async def aclose(self) -> None:
        return None


def test_the_guarded_model_opens_after_transient_failures_and_answers_at_once_while_open() -> None:
    clock = Clock()
    inner = Failing([ModelError("HTTP 500")] * 3)
    model = GuardedModel(inner, breaker(clock))

    async def ask() -> str:
        try:
            return (await model.complete([], [])).content or ""
        except ModelUnavailable:
            return "unavailable"
        except ModelError:
            return "failed"

    async def scenario() -> list[str]:
        first = [await ask() for _ in range(5)]
        clock.now += 30
        return first + [await ask(), await ask()]

    assert asyncio.run(scenario()) == ["failed"] * 3 + ["unavailable"] * 2 + ["fine", "fine"]
    assert inner.calls == 5  # three failures, the probe, one more: nothing while the circuit was open


def test_a_configuration_error_does_not_open_the_model_breaker() -> None:
    clock = Clock()
    model = GuardedModel(Failing([ModelError("set OPENAI_API_KEY", transient=False)] * 5), breaker(clock))

    async def scenario() -> None:
        for _ in range(5):
            with pytest.raises(ModelError) as raised:
                await model.complete([], [])
            assert not isinstance(raised.value, ModelUnavailable)

    asyncio.run(scenario())
    assert model.breaker.state == "closed"


class Crm:
    def __init__(self) -> None:
        self.calls = 0
        self.fail_with: Exception | None = None
        self.label = "not a method"

    def get(self, kind: str, record_id: int) -> str:
        self.calls += 1
        if self.fail_with is not None:
            raise self.fail_with
        return f"{kind} {record_id}"


@pytest.mark.parametrize(("error", "opens"), [
    (CrmUnavailable(), True),
    (ConnectionError("reset"), True),
    (NotFoundError("deal", 1), False),  # the CRM answered: it is up
])
def test_the_guarded_crm_counts_only_outages(error: Exception, opens: bool) -> None:
    clock, crm = Clock(), Crm()
    guarded = GuardedCrm(crm, breaker(clock, threshold=2))
    crm.fail_with = error
    for _ in range(2):
        with pytest.raises(type(error)):
            guarded.get("deal", 1)
    crm.fail_with = None
    if opens:
        with pytest.raises(CrmUnavailable):
            guarded.get("deal", 1)
        assert crm.calls == 2  # refused without calling the CRM
        clock.now += 30
    assert guarded.get("deal", 1) == "deal 1" and guarded.breaker.state == "closed"
    assert guarded.label == "not a method"  # attributes pass through


def test_breakers_name_the_one_that_blocks() -> None:
    clock = Clock()
    breakers = Breakers(threshold=1, cooldown=10, clock=clock)
    assert breakers.blocked() is None
    breakers.crm.failure("the CRM is not reachable")
    assert breakers.blocked() is breakers.crm
    clock.now += 10
    assert breakers.blocked() is None  # half-open: a probe may go
