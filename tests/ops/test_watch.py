"""The model watched through the real OpenAI client and the scripted server: outcomes counted, and
one WARNING per change of the model's state, not one per request."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from bot.agent.model import Message, ModelError
from bot.agent.openai_model import OpenAIModel
from bot.config import ModelSection
from bot.ops.metrics import PREFIX, Metrics
from bot.ops.watch import WatchedDetector, WatchedModel, classify
from bot.privacy.spans import Span
from tests.fakes.model_server import ScriptedModelServer, error, text
from tests.ops.test_metrics import value

HELLO = [Message("user", "hello")]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def openai_model(base_url: str) -> OpenAIModel:
    return OpenAIModel(ModelSection(max_retries=0, timeout_seconds=5), api_key="k", base_url=base_url)


async def outcomes(model: WatchedModel, calls: int) -> list[str]:
    seen = []
    for _ in range(calls):
        try:
            await model.complete(HELLO, [])
            seen.append("ok")
        except ModelError:
            seen.append(model.state)
    return seen


def test_rate_limited_then_recovered_logs_twice_for_five_calls(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    steps = [error(429, "slow down"), error(429, "slow down"), error(429, "slow down"), text("hi"), text("hi")]
    with ScriptedModelServer(steps) as server, caplog.at_level(logging.INFO, logger="bot.model"):
        model = WatchedModel(openai_model(server.base_url), metrics)
        assert asyncio.run(outcomes(model, 5)) == ["rate_limited"] * 3 + ["ok"] * 2
    assert [(r.levelname, r.getMessage().split()[0]) for r in caplog.records] == [
        ("WARNING", "model.rate_limited"), ("INFO", "model.recovered")]
    assert value(metrics, f"{PREFIX}model_calls_total", outcome="rate_limited") == 3
    assert value(metrics, f"{PREFIX}model_calls_total", outcome="ok") == 2
    assert value(metrics, f"{PREFIX}model_tokens_total", kind="prompt") > 0


def test_an_unreachable_model_is_told_apart_from_a_failing_one(caplog: pytest.LogCaptureFixture) -> None:
    metrics = Metrics()
    with caplog.at_level(logging.INFO, logger="bot.model"):
        unreachable = WatchedModel(openai_model(f"http://127.0.0.1:{closed_port()}/v1"), metrics)
        assert asyncio.run(outcomes(unreachable, 2)) == ["unreachable"] * 2
        with ScriptedModelServer([error(500, "boom"), error(500, "boom")]) as server:
            failing = WatchedModel(openai_model(server.base_url), metrics)
            assert asyncio.run(outcomes(failing, 2)) == ["error"] * 2
    assert [r.getMessage().split()[0] for r in caplog.records] == ["model.unreachable", "model.error"]
    assert value(metrics, f"{PREFIX}model_calls_total", outcome="unreachable") == 2
    assert value(metrics, f"{PREFIX}model_calls_total", outcome="error") == 2


@pytest.mark.parametrize(("raised", "outcome"), [
    (asyncio.CancelledError(), "cancelled"),
    (TimeoutError(), "timeout"),
    (ModelError("the model server sent an empty reply"), "error"),
])
def test_classify(raised: BaseException, outcome: str) -> None:
    assert classify(raised) == outcome


def test_a_run_cancelling_its_model_call_is_not_a_change_of_the_models_state() -> None:
    class Slow:
        name = "slow"

        async def complete(self, *args: object, **kwargs: object) -> object:
            await asyncio.Event().wait()
            raise AssertionError("never")

        async def aclose(self) -> None:
            return None

    metrics = Metrics()
    model = WatchedModel(Slow(), metrics)  # type: ignore[arg-type]

    async def cut_short() -> None:
        task = asyncio.ensure_future(model.complete(HELLO, []))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cut_short())
    assert model.state == "ok" and value(metrics, f"{PREFIX}model_calls_total", outcome="cancelled") == 1


def test_the_detector_is_timed_and_its_spans_unchanged() -> None:
    span = Span(0, 3, "PERSON", 0.9, "test")

    class Detector:
        def detect(self, text: str) -> list[Span]:
            return [span]

    metrics = Metrics()
    assert WatchedDetector(Detector(), metrics).detect("Bob") == [span]
    assert value(metrics, f"{PREFIX}masking_seconds_count") == 1
