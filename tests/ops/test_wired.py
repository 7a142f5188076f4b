"""The metrics and /readyz see what the other parts of the bot keep: the circuit breakers, the
dead-letter list, the limits and the feedback, through the objects wiring builds (not stand-ins)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from sqlalchemy import Engine

from bot.agent.scripted import ScriptedModel
from bot.store.dead_letters import SqlDeadLetters
from bot.store.requests import SqlRequests
from bot.wiring import build, build_ops, build_services, build_slack_deps
from tests.slack.fakes import BOT_USER_ID, FakeSlack, NoDigests
from tests.world import settings_for


def sample(body: bytes, name: str, **labels: str) -> float:
    """The value of one sample in the text exposition (fails when it is missing)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = rf"^{re.escape(name)}{re.escape('{' + wanted + '}') if labels else ''} (\S+)$"
    found = re.search(pattern, body.decode(), re.M)
    assert found, f"{name} {labels} not in the metrics"
    return float(found.group(1))


def test_breakers_dead_letters_limits_and_feedback_reach_the_metrics_and_readiness(
        sqlite_engine: Engine, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, limits__requests_per_minute=1, breaker__failures=2)
    components = build(settings, sqlite_engine)
    ops = build_ops(settings, components)
    services = build_services(settings, components, model=ScriptedModel([]), ops=ops)
    deps = build_slack_deps(settings, services, FakeSlack(), bot_user_id=BOT_USER_ID,
                            digests=NoDigests())  # type: ignore[arg-type]
    assert ops.metrics is not None and deps.limits is not None

    body, _ = ops.metrics.render()
    assert sample(body, "crm_copilot_breaker_state", breaker="model") == 0
    assert sample(body, "crm_copilot_dead_letters") == 0
    assert asyncio.run(ops.health.readiness()).ready

    # The model fails twice in a row: its breaker opens, the gauge says so and the process is not ready.
    for _ in range(2):
        components.breakers.model.failure("the model server answered with an error (HTTP 503)")
    SqlDeadLetters(sqlite_engine).record("turn", "C0SALES:1.0", reason="the model was down", payload={},
                                         user="U02BOB", channel="C0SALES")
    # A second question within the minute is over the limit of one.
    assert deps.limits.admit("U02BOB") is None and deps.limits.admit("U02BOB") is not None
    deps.limits.charge("U02BOB", 1234)
    # A rating of an answered request.
    requests = SqlRequests(sqlite_engine)
    requests.claim("C0SALES:2.0", kind="mention", user="U02BOB", channel="C0SALES", thread_ts="2.0",
                   conversation_id="slack:C0SALES:2.0", event_id="Ev2")
    assert asyncio.run(deps.ratings.rate("C0SALES:2.0", user="U01ALICE", rating="up")) == "new"
    assert asyncio.run(deps.ratings.rate("C0SALES:2.0", user="U01ALICE", rating="up")) == "same"

    body, _ = ops.metrics.render()
    assert sample(body, "crm_copilot_breaker_state", breaker="model") == 2
    assert sample(body, "crm_copilot_breaker_state", breaker="crm") == 0
    assert sample(body, "crm_copilot_dead_letters") == 1
    assert sample(body, "crm_copilot_limit_refusals_total", limit="requests_per_minute") == 1
    assert sample(body, "crm_copilot_feedback_total", rating="up") == 1
    assert sample(body, "crm_copilot_workspace_tokens_used") == 1234
    assert sample(body, "crm_copilot_workspace_tokens_budget") == settings.limits.workspace_tokens_per_day
    readiness = asyncio.run(ops.health.readiness())
    assert not readiness.ready and "circuit breaker is open" in readiness.checks["model breaker"]
