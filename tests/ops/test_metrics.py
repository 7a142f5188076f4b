"""The metrics: names, labels from closed sets, a registry per object, every one documented."""

from __future__ import annotations

import re
from pathlib import Path

import prometheus_client
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.ops.metrics import PREFIX, Metrics

README = Path(__file__).resolve().parents[2] / "README.md"


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    body, _ = metrics.render()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return samples(metrics).get((name, tuple(sorted(labels.items()))), 0.0)


def test_each_object_has_its_own_registry_and_the_global_one_holds_none_of_them() -> None:
    one, two = Metrics(), Metrics()
    one.request("mention", "answered")
    assert value(one, f"{PREFIX}requests_total", kind="mention", outcome="answered") == 1
    assert value(two, f"{PREFIX}requests_total", kind="mention", outcome="answered") == 0
    names = {family.name for family in prometheus_client.REGISTRY.collect()}
    assert not any(name.startswith(PREFIX) for name in names)


@pytest.mark.parametrize(("record", "name", "labels"), [
    # A user id, a message or an error text given as a label value is never a label value.
    (lambda m: m.request("U02BOB", "answered"), "requests_total", {"kind": "other", "outcome": "answered"}),
    (lambda m: m.request("dm", "Sorry, bob@example.com"), "requests_total", {"kind": "dm", "outcome": "other"}),
    (lambda m: m.tool_call("drop_table(bob@example.com)", "ok"), "tool_calls_total",
     {"tool": "unknown", "outcome": "ok"}),
    (lambda m: m.tool_call("get_deal", "failed"), "tool_calls_total", {"tool": "get_deal", "outcome": "failed"}),
    (lambda m: m.proposal("pending", "extreme"), "proposals_total", {"state": "pending", "risk": "other"}),
    (lambda m: m.execution("executed"), "executions_total", {"outcome": "executed"}),
    (lambda m: m.digest_run("posted"), "digest_runs_total", {"outcome": "posted"}),
    (lambda m: m.limit_refusal("tokens_per_day"), "limit_refusals_total", {"limit": "tokens_per_day"}),
    (lambda m: m.limit_refusal("Bob's limit"), "limit_refusals_total", {"limit": "other"}),
    (lambda m: m.feedback_given("up"), "feedback_total", {"rating": "up"}),
    (lambda m: m.model_call("HTTP 502 from https://x", 0.1), "model_calls_total", {"outcome": "error"}),
])
def test_label_values_come_from_closed_sets(record, name: str, labels: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    metrics = Metrics()
    metrics.known_tools(["get_deal", "update_deal"])
    record(metrics)
    assert value(metrics, f"{PREFIX}{name}", **labels) == 1


def test_model_calls_count_latency_and_tokens() -> None:
    metrics = Metrics()
    metrics.model_call("ok", 0.3, prompt_tokens=120, completion_tokens=30)
    metrics.model_call("timeout", 20.0)
    assert value(metrics, f"{PREFIX}model_tokens_total", kind="prompt") == 120
    assert value(metrics, f"{PREFIX}model_tokens_total", kind="completion") == 30
    assert value(metrics, f"{PREFIX}model_call_seconds_count", outcome="timeout") == 1
    assert value(metrics, f"{PREFIX}model_call_seconds_sum", outcome="ok") == pytest.approx(0.3)


def test_gauges_read_their_values_when_scraped() -> None:
    metrics = Metrics()
    waiting, letters, breaker, crm = [3], [7], ["open"], ["half_open"]
    metrics.watch_waiting(lambda: waiting[0])
    metrics.watch_dead_letters(lambda: letters[0])
    metrics.watch_breaker("model", lambda: breaker[0])
    metrics.watch_breaker("crm", lambda: crm[0])
    metrics.watch_workspace_tokens(lambda: 900, lambda: 1000)
    assert value(metrics, f"{PREFIX}runs_waiting") == 3
    assert value(metrics, f"{PREFIX}breaker_state", breaker="model") == 2
    assert value(metrics, f"{PREFIX}breaker_state", breaker="crm") == 1
    waiting[0], letters[0], breaker[0] = 0, 8, "closed"
    assert value(metrics, f"{PREFIX}runs_waiting") == 0
    assert value(metrics, f"{PREFIX}dead_letters") == 8
    assert value(metrics, f"{PREFIX}breaker_state", breaker="model") == 0
    assert value(metrics, f"{PREFIX}workspace_tokens_used") / value(metrics, f"{PREFIX}workspace_tokens_budget") == 0.9


def test_the_exposition_is_prometheus_text() -> None:
    body, content_type = Metrics().render()
    assert content_type.startswith("text/plain; version=")
    assert f"# TYPE {PREFIX}ack_seconds histogram" in body.decode()


def test_every_metric_is_documented_in_the_readme_with_its_labels() -> None:
    """README "Operating it" has one table row per metric: `name` | labels | meaning."""
    readme = README.read_text(encoding="utf-8")
    section = readme.split("## Operating it", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `(crm_copilot_\w+)` \|([^|]*)\|", section, re.M))
    defined = {}
    for family in Metrics().registry.collect():
        name = family.name + ("_total" if family.type == "counter" else "")
        labels = set()
        for collector_labels in _label_names(Metrics(), family.name):
            labels.update(collector_labels)
        defined[name] = labels
    assert set(rows) == set(defined), "README metrics table and bot/ops/metrics.py differ"
    for name, labels in defined.items():
        documented = set(re.findall(r"`(\w+)`", rows[name]))
        assert documented == labels, f"{name}: README says {documented}, the code has {labels}"


def _label_names(metrics: Metrics, family: str) -> list[tuple[str, ...]]:
    for attribute in vars(metrics).values():
        if getattr(attribute, "_name", None) in (family, family.removesuffix("_total")):
            return [tuple(attribute._labelnames)]
    return []
