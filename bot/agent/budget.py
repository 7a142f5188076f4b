"""How a run of the agent ends, and the budgets that may end it early.

A run ends in exactly one of three ways, a closed set the loop returns and `Agent.run` matches
in one place: the model answered, a budget stopped it (with whatever partial text the model had
written), or the model failed. The budgets (steps, tool calls, tokens, wall-clock time, invalid
tool calls) are one object whose single check the loop makes before each of its steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.agent.model import Usage
from bot.config import AgentSection

BudgetName = Literal["steps", "tool_calls", "tokens", "time", "errors"]


@dataclass(frozen=True)
class Answered:
    """The model gave its final answer (masked text)."""

    text: str


@dataclass(frozen=True)
class StoppedByBudget:
    """A budget ran out; `partial` is the last text the model wrote alongside its tool calls."""

    budget: BudgetName
    partial: str | None


@dataclass(frozen=True)
class Failed:
    """The run could not go on (the model failed, or a tool result could not be checked).
    `unavailable`: a dependency is down (the model, the CRM), so the same request may succeed later."""

    error: str
    unavailable: bool = False


Ending = Answered | StoppedByBudget | Failed


class Spending(Protocol):
    """What a run has used so far. `pending` counts the tool calls the model asked for that have
    not run yet; `started` is when the run began, on the budget's clock."""

    started: float
    steps: int
    tool_calls: int
    pending: int
    errors: int
    usage: Usage


@dataclass(frozen=True)
class Budget:
    """The limits of one run, from the [agent] settings. `clock` is monotonic, in seconds."""

    steps: int
    tool_calls: int
    tokens: int
    seconds: float
    errors: int
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def from_settings(cls, settings: AgentSection, *, clock: Callable[[], float] = time.monotonic) -> Budget:
        """The limits of the [agent] section (max_steps, max_tool_calls, max_tokens, max_seconds, max_errors)."""
        return cls(settings.max_steps, settings.max_tool_calls, settings.max_tokens, settings.max_seconds,
                   settings.max_errors, clock)

    def remaining(self, run: Spending) -> float:
        """Seconds left before the time budget runs out (may be negative)."""
        return run.started + self.seconds - self.clock()

    def exceeded(self, run: Spending) -> BudgetName | None:
        """The budget this run has used up, if any.

        Tool calls the model asked for are checked before they run, and then only they: a batch
        that would go over the limit does not run at all, and one that fits runs whole. Otherwise
        the checks come in the order the loop met them: invalid calls, steps, tokens, time.
        """
        if run.pending:
            return "tool_calls" if run.tool_calls + run.pending > self.tool_calls else None
        if run.errors > self.errors:
            return "errors"
        if run.steps >= self.steps:
            return "steps"
        if run.usage.total_tokens >= self.tokens:
            return "tokens"
        if self.remaining(run) <= 0:
            return "time"
        return None
