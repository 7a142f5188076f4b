"""How a run ends: answered, stopped by one of the budgets (checked in one place), or failed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.agent.budget import Budget, BudgetName
from bot.agent.loop import AgentResult, Request
from bot.agent.model import Message, ModelError, ModelReply, Usage
from bot.agent.scripted import ScriptedModel, call, reply
from tests.world import World, make_world, settings_for


@dataclass
class Spent:
    """A run's counters, as the budget reads them."""

    started: float = 0.0
    steps: int = 0
    tool_calls: int = 0
    pending: int = 0
    errors: int = 0
    usage: Usage = Usage()


class Ticks:
    """A monotonic clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


LIMITS = Budget(steps=3, tool_calls=4, tokens=1000, seconds=60, errors=1, clock=lambda: 1030.0)


@pytest.mark.parametrize(
    ("spent", "expected"),
    [
        (Spent(started=1000.0), None),
        (Spent(started=1000.0, steps=2, tool_calls=4, errors=1, usage=Usage(400, 599)), None),
        (Spent(started=1000.0, steps=3), "steps"),
        (Spent(started=1000.0, usage=Usage(500, 500)), "tokens"),
        (Spent(started=970.0), "time"),  # exactly 60 s on the clock: used up
        (Spent(started=1000.0, errors=2), "errors"),
        # Requested tool calls are checked before they run: a batch that would go over stops the run...
        (Spent(started=1000.0, tool_calls=3, pending=2), "tool_calls"),
        # ...one that fits runs whole, whatever else is used up (that is checked after it ran).
        (Spent(started=900.0, steps=3, errors=5, tool_calls=2, pending=2), None),
        # Several used up at once: the order the loop used to meet them in.
        (Spent(started=900.0, steps=3, errors=2, usage=Usage(2000, 0)), "errors"),
        (Spent(started=900.0, steps=3, usage=Usage(2000, 0)), "steps"),
        (Spent(started=900.0, usage=Usage(2000, 0)), "tokens"),
    ],
)
def test_the_budget_names_what_is_used_up(spent: Spent, expected: BudgetName | None) -> None:
    assert LIMITS.exceeded(spent) == expected


def test_the_budget_comes_from_the_agent_settings(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, agent__max_steps=5, agent__max_tool_calls=7, agent__max_tokens=2000,
                            agent__max_seconds=9.5, agent__max_errors=0).agent
    budget = Budget.from_settings(settings, clock=lambda: 10.0)
    assert (budget.steps, budget.tool_calls, budget.tokens, budget.seconds, budget.errors) == (5, 7, 2000, 9.5, 0)
    assert budget.remaining(Spent(started=8.0)) == 7.5


# -- endings of a whole run, from a scripted model -------------------------------------------------


def run(engine: Engine, tmp_path: Path, steps: Sequence[Any], *, ticks: Ticks | None = None,
        **settings: Any) -> tuple[AgentResult, World, ScriptedModel]:
    model = ScriptedModel(steps)
    world = make_world(engine, tmp_path, model, settings=settings_for(tmp_path, **settings))
    agent = world.services.agent
    if ticks is not None:
        agent._budget = replace(agent._budget, clock=ticks)
    result = asyncio.run(agent.run(Request("C1/1.0", "U02BOB", "What is our refund policy?", channel="C1")))
    model.assert_done()
    return result, world, model


def with_text(text: str, reply_: ModelReply) -> ModelReply:
    return replace(reply_, content=text)


def history_of(world: World) -> list[str]:
    return [t.content for t in world.services.agent._history.recent("C1/1.0", token_budget=10_000)]


def test_answered(sqlite_engine: Engine, tmp_path: Path) -> None:
    result, world, _ = run(sqlite_engine, tmp_path, [call(("search_kb", {"query": "refund"})), reply("  Pro rata.  ")])
    assert (result.answer, result.masked_answer, result.stopped, result.error) == ("Pro rata.", "Pro rata.", None, None)
    assert (result.steps, result.tool_calls) == (2, 1)
    assert history_of(world) == ["What is our refund policy?", "Pro rata."]


def test_an_empty_answer_is_still_an_answer(sqlite_engine: Engine, tmp_path: Path) -> None:
    result, _, _ = run(sqlite_engine, tmp_path, [reply("   ")])
    assert (result.answer, result.stopped, result.error) == ("(no answer)", None, None)


SEARCH = call(("search_kb", {"query": "refund"}))


def advance_then(ticks: Ticks, seconds: float, step: ModelReply) -> Any:
    def respond(messages: Sequence[Message]) -> ModelReply:
        ticks.now += seconds
        return step
    return respond


@pytest.mark.parametrize(
    ("budget", "settings", "script", "tool_calls"),
    [
        ("steps", {"agent__max_steps": 1}, lambda t: [with_text("Looking", SEARCH)], 1),
        ("tokens", {"agent__max_tokens": 1000}, lambda t: [with_text("Looking", call(("search_kb", {"query": "x"}),
                                                                                     tokens=500))], 1),
        ("time", {"agent__max_seconds": 60}, lambda t: [advance_then(t, 61, with_text("Looking", SEARCH))], 1),
        ("errors", {"agent__max_errors": 0}, lambda t: [with_text("Looking", call(("no_such_tool", {})))], 1),
        # A batch over the limit does not run at all.
        ("tool_calls", {"agent__max_tool_calls": 1},
         lambda t: [with_text("Looking", call(("search_kb", {"query": "a"}), ("search_kb", {"query": "b"})))], 0),
    ],
)
def test_each_budget_stops_the_run_with_the_partial_answer(sqlite_engine: Engine, tmp_path: Path, budget: str,
                                                           settings: dict[str, Any], script: Any,
                                                           tool_calls: int) -> None:
    ticks = Ticks()
    result, world, model = run(sqlite_engine, tmp_path, script(ticks), ticks=ticks, **settings)
    assert (result.stopped, result.error, result.steps, result.tool_calls) == (budget, None, 1, tool_calls)
    assert result.answer.startswith("I stopped before finishing (") and result.answer.endswith(
        "What I have so far:\nLooking")
    assert history_of(world) == ["What is our refund policy?", result.masked_answer]


def test_a_slow_model_is_stopped_by_the_time_budget_with_its_own_deadline(sqlite_engine: Engine,
                                                                          tmp_path: Path) -> None:
    # The model is given what is left of the time budget as its timeout.
    ticks = Ticks()
    timeouts: list[float | None] = []

    class Recording(ScriptedModel):
        async def complete(self, messages: Any, tools: Any, *, timeout: float | None = None) -> ModelReply:
            timeouts.append(timeout)
            return await super().complete(messages, tools, timeout=timeout)

    model = Recording([advance_then(ticks, 20, SEARCH), advance_then(ticks, 50, reply("done"))])
    world = make_world(sqlite_engine, tmp_path, model, settings=settings_for(tmp_path, agent__max_seconds=60))
    world.services.agent._budget = replace(world.services.agent._budget, clock=ticks)
    result = asyncio.run(world.services.agent.run(Request("C1/1.0", "U02BOB", "Hi", channel="C1")))
    # The model answered: a final answer is not thrown away because the clock ran out meanwhile.
    assert timeouts == [60, 40] and result.stopped is None and result.answer == "done"


def test_a_model_error_fails_the_run_and_keeps_nothing_in_the_history(sqlite_engine: Engine, tmp_path: Path) -> None:
    result, world, _ = run(sqlite_engine, tmp_path, [SEARCH, ModelError("the model server said 503")])
    assert result.error == "the model server said 503" and result.stopped is None and result.unavailable
    assert (result.answer, result.masked_answer) == (
        "The assistant is not available right now; your request was not lost.", "")
    assert (result.steps, result.tool_calls) == (1, 1)
    assert history_of(world) == []
    trail = world.services.audit.trail("C1/1.0")
    assert [e.kind for e in trail] == ["model.call", "tool.call", "model.call"]
