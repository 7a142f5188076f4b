"""The bot's Prometheus metrics: one object per process, with a registry of its own.

Every metric is named `crm_copilot_…` and defined here, with its labels; whatever records one
is handed this object (built once by bot.wiring) and calls a method that says what happened.
Label values come from closed sets: a value outside its set is counted as "other" (or
"unknown" for tool names), so no label can ever carry a person's id, a message or an error
text, and the number of series stays bounded whatever a caller or the model sends.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

PREFIX = "crm_copilot_"
REQUEST_KINDS = ("mention", "dm", "thread", "command", "action", "view", "home", "other")
REQUEST_OUTCOMES = ("answered", "refused", "failed", "queued")
ACK_KINDS = ("event", "command", "action", "view", "options", "other")
TOOL_OUTCOMES = ("ok", "failed", "invalid")
MODEL_OUTCOMES = ("ok", "timeout", "rate_limited", "unreachable", "error", "cancelled")
TOKEN_KINDS = ("prompt", "completion")
PROPOSAL_STATES = ("pending", "executing", "executed", "rejected", "expired", "stale", "failed", "superseded")
RISKS = ("low", "medium", "high")
EXECUTION_OUTCOMES = ("executed", "failed", "stale")
DIGEST_OUTCOMES = ("posted", "failed", "skipped")
BREAKERS = ("model", "crm")
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}
LIMITS = ("requests_per_minute", "tokens_per_day", "workspace_tokens_per_day")
RATINGS = ("up", "down")  # the feedback buttons under an answer


def _one_of(value: str, allowed: Collection[str], other: str = "other") -> str:
    return value if value in allowed else other


class Metrics:
    """All of the bot's metrics, registered in `registry` (never in prometheus_client's global one)."""

    def __init__(self, *, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._tools: frozenset[str] = frozenset()
        r = self.registry
        self.requests = Counter(f"{PREFIX}requests_total", "Requests by kind and outcome; a request that waited for "
                                "an agent slot is also counted as queued", ["kind", "outcome"], registry=r)
        self.ack_seconds = Histogram(f"{PREFIX}ack_seconds", "Time from a Slack request reaching the app to its "
                                     "acknowledgement", ["kind"], registry=r,
                                     buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2, 3, 5))
        self.agent_run_seconds = Histogram(f"{PREFIX}agent_run_seconds", "Duration of one agent run", registry=r,
                                           buckets=(.25, .5, 1, 2, 5, 10, 20, 30, 60, 120))
        self.agent_steps = Histogram(f"{PREFIX}agent_steps", "Model steps of one agent run", registry=r,
                                     buckets=(1, 2, 3, 4, 5, 6, 8, 10, 15, 20))
        self.tool_calls = Counter(f"{PREFIX}tool_calls_total", "Tool calls the model asked for, by tool and outcome",
                                  ["tool", "outcome"], registry=r)
        self.model_calls = Counter(f"{PREFIX}model_calls_total", "Model calls by outcome", ["outcome"], registry=r)
        self.model_seconds = Histogram(f"{PREFIX}model_call_seconds", "Latency of one model call (with the client's "
                                       "retries)", ["outcome"], registry=r,
                                       buckets=(.1, .25, .5, 1, 2, 5, 10, 20, 30, 60))
        self.tokens = Counter(f"{PREFIX}model_tokens_total", "Model tokens used, by kind", ["kind"], registry=r)
        self.masking_seconds = Histogram(f"{PREFIX}masking_seconds", "Time of one personal-data detection pass",
                                         registry=r, buckets=(.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1))
        self.proposals = Counter(f"{PREFIX}proposals_total", "Proposals entering a state, by state and risk",
                                 ["state", "risk"], registry=r)
        self.decision_seconds = Histogram(f"{PREFIX}approval_decision_seconds", "Time from a proposal's creation to "
                                          "its approval or rejection", registry=r,
                                          buckets=(10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 72 * 3600))
        self.executions = Counter(f"{PREFIX}executions_total", "Executions of approved proposals, by outcome",
                                  ["outcome"], registry=r)
        self.digest_runs = Counter(f"{PREFIX}digest_runs_total", "Digest runs by outcome", ["outcome"], registry=r)
        self.waiting = Gauge(f"{PREFIX}runs_waiting", "Agent runs waiting for a slot", registry=r)
        self.breaker = Gauge(f"{PREFIX}breaker_state", "Circuit breaker state: 0 closed, 1 half-open, 2 open",
                             ["breaker"], registry=r)
        self.dead_letters = Gauge(f"{PREFIX}dead_letters", "Work kept in the dead-letter list", registry=r)
        self.limit_refusals = Counter(f"{PREFIX}limit_refusals_total", "Requests refused for a limit, by limit",
                                      ["limit"], registry=r)
        self.feedback = Counter(f"{PREFIX}feedback_total", "Feedback on answers, by rating", ["rating"], registry=r)
        self.workspace_tokens = Gauge(f"{PREFIX}workspace_tokens_used", "Model tokens the workspace used today",
                                      registry=r)
        self.workspace_budget = Gauge(f"{PREFIX}workspace_tokens_budget", "Model tokens the workspace may use a day",
                                      registry=r)

    def known_tools(self, names: Iterable[str]) -> None:
        """The tool names that may be labels (the registry's); any other name the model sends is "unknown"."""
        self._tools = frozenset(names)

    # -- what happened ---------------------------------------------------------------------------

    def request(self, kind: str, outcome: str) -> None:
        self.requests.labels(_one_of(kind, REQUEST_KINDS), _one_of(outcome, REQUEST_OUTCOMES)).inc()

    def ack(self, kind: str, seconds: float) -> None:
        self.ack_seconds.labels(_one_of(kind, ACK_KINDS)).observe(seconds)

    def agent_run(self, seconds: float, steps: int) -> None:
        self.agent_run_seconds.observe(seconds)
        self.agent_steps.observe(steps)

    def tool_call(self, tool: str, outcome: str) -> None:
        self.tool_calls.labels(_one_of(tool, self._tools, "unknown"), _one_of(outcome, TOOL_OUTCOMES)).inc()

    def model_call(self, outcome: str, seconds: float, *, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        outcome = _one_of(outcome, MODEL_OUTCOMES, "error")
        self.model_calls.labels(outcome).inc()
        self.model_seconds.labels(outcome).observe(seconds)
        if prompt_tokens:
            self.tokens.labels("prompt").inc(prompt_tokens)
        if completion_tokens:
            self.tokens.labels("completion").inc(completion_tokens)

    def masking(self, seconds: float) -> None:
        self.masking_seconds.observe(seconds)

    def proposal(self, state: str, risk: str) -> None:
        self.proposals.labels(_one_of(state, PROPOSAL_STATES), _one_of(risk, RISKS)).inc()

    def decided(self, seconds: float) -> None:
        self.decision_seconds.observe(max(0.0, seconds))

    def execution(self, outcome: str) -> None:
        self.executions.labels(_one_of(outcome, EXECUTION_OUTCOMES)).inc()

    def digest_run(self, outcome: str) -> None:
        self.digest_runs.labels(_one_of(outcome, DIGEST_OUTCOMES)).inc()

    def limit_refusal(self, limit: str) -> None:
        self.limit_refusals.labels(_one_of(limit, LIMITS)).inc()

    def feedback_given(self, rating: str) -> None:
        self.feedback.labels(_one_of(rating, RATINGS)).inc()

    # -- values read when scraped ------------------------------------------------------------------

    def watch_waiting(self, read: Callable[[], float]) -> None:
        self.waiting.set_function(read)

    def watch_breaker(self, breaker: str, read: Callable[[], str]) -> None:
        """read() returns the breaker's state name (closed, half_open, open) at each scrape."""
        self.breaker.labels(_one_of(breaker, BREAKERS)).set_function(lambda: BREAKER_STATES[read()])

    def watch_dead_letters(self, read: Callable[[], float]) -> None:
        self.dead_letters.set_function(read)

    def watch_workspace_tokens(self, used: Callable[[], float], budget: Callable[[], float]) -> None:
        self.workspace_tokens.set_function(used)
        self.workspace_budget.set_function(budget)

    def render(self) -> tuple[bytes, str]:
        """The text exposition of every metric, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
