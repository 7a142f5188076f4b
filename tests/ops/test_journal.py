"""The log of decisions: one line per request, refusal, proposal step and failed turn; nothing personal."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.ops import logs
from bot.ops.journal import LOGGER, Journal
from bot.ops.metrics import PREFIX, Metrics
from tests.ops.test_metrics import value

CREATED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@dataclass
class Facts:
    tool: str = "update_deal"
    risk: str = "medium"
    created_at: datetime = CREATED
    decided_at: datetime | None = CREATED + timedelta(minutes=5)


@pytest.fixture
def lines() -> list[logging.LogRecord]:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger(LOGGER)
    handler, before = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(before)


def transition(before: str | None, after: str, actor: str | None, **data: str) -> dict[str, object]:
    return {"kind": "proposal.transition", "actor": actor, "conversation_id": "C1:1.0", "proposal_id": "p1",
            "from_status": before, "to_status": after, "payload_hash": "h", "data": data}


def test_a_proposal_created_decided_and_executed_is_three_lines_and_counted(lines: list[logging.LogRecord]) -> None:
    metrics = Metrics()
    journal = Journal(metrics, lookup=lambda pid: Facts())
    journal.audited([transition(None, "pending", "U02BOB", tool="update_deal", risk="medium")])
    journal.audited([transition("pending", "executing", "U01ALICE", rule="managers")])
    journal.audited([transition("executing", "executed", "U01ALICE")])
    assert [r.getMessage() for r in lines] == [
        "proposal.created id=p1 tool=update_deal risk=medium who=U02BOB",
        "proposal.decided id=p1 tool=update_deal risk=medium who=U01ALICE outcome=approved",
        "proposal.executed id=p1 tool=update_deal risk=medium who=U01ALICE outcome=executed",
    ]
    assert value(metrics, f"{PREFIX}proposals_total", state="pending", risk="medium") == 1
    assert value(metrics, f"{PREFIX}proposals_total", state="executed", risk="medium") == 1
    assert value(metrics, f"{PREFIX}executions_total", outcome="executed") == 1
    assert value(metrics, f"{PREFIX}approval_decision_seconds_sum") == 300


@pytest.mark.parametrize(("event", "line", "level"), [
    (transition("pending", "rejected", "U01ALICE"), "proposal.decided id=p1 tool=update_deal risk=medium "
     "who=U01ALICE outcome=rejected", logging.INFO),
    (transition("pending", "expired", None), "proposal.decided id=p1 tool=update_deal risk=medium who=- "
     "outcome=expired", logging.INFO),
    (transition("executing", "failed", "U01ALICE"), "proposal.executed id=p1 tool=update_deal risk=medium "
     "who=U01ALICE outcome=failed", logging.WARNING),
    ({"kind": "approval.refused", "actor": "U02BOB", "proposal_id": "p1",
      "data": {"refused": "a medium-risk change needs someone other than its requester"}},
     'proposal.refused id=p1 who=U02BOB reason="a medium-risk change needs someone other than its requester"',
     logging.INFO),
    ({"kind": "access.refused", "actor": "U09GUEST", "data": {"reason": "guest", "entry": "app_mention"}},
     "request.refused kind=mention user=U09GUEST channel=- reason=guest", logging.INFO),
])
def test_decisions_and_refusals_from_the_audit_log(lines: list[logging.LogRecord], event: dict[str, object],
                                                   line: str, level: int) -> None:
    Journal(Metrics(), lookup=lambda pid: Facts()).audited([event])
    assert [(r.getMessage(), r.levelno) for r in lines] == [(line, level)]


def test_tool_calls_are_counted_by_tool_and_outcome_and_not_logged(lines: list[logging.LogRecord]) -> None:
    metrics = Metrics()
    metrics.known_tools(["get_deal"])
    journal = Journal(metrics)
    journal.audited([{"kind": "tool.call", "data": {"tool": "get_deal", "arguments": "{}", "error": None}},
                     {"kind": "tool.call", "data": {"tool": "get_deal", "arguments": "{}", "error": "no deal 9"}},
                     {"kind": "model.call", "data": {"model": "m"}}])
    assert value(metrics, f"{PREFIX}tool_calls_total", tool="get_deal", outcome="ok") == 1
    assert value(metrics, f"{PREFIX}tool_calls_total", tool="get_deal", outcome="failed") == 1
    assert lines == []


def test_a_failing_turn_is_a_warning_with_its_reason_and_a_crash_names_only_the_exception_type(
        lines: list[logging.LogRecord]) -> None:
    metrics = Metrics()
    journal = Journal(metrics)
    journal.received("mention", user="U02BOB", channel="C0SALES", conversation_id="C0SALES:1.0")
    journal.finished("mention", conversation_id="C0SALES:1.0", seconds=2.5, steps=1,
                     error="the model server cannot be reached (check OPENAI_BASE_URL)")
    journal.finished("dm", conversation_id="D1:2.0", seconds=30, steps=3, error=None, stopped="time")
    journal.crashed("dm", conversation_id="D1:3.0", error=ValueError("Bob Smith <bob@example.com>"))
    assert [(r.levelno, r.getMessage()) for r in lines] == [
        (logging.INFO, "request.received kind=mention user=U02BOB channel=C0SALES conversation=C0SALES:1.0"),
        (logging.WARNING, 'request.failed kind=mention conversation=C0SALES:1.0 reason="the model server cannot be '
                          'reached (check OPENAI_BASE_URL)" seconds=2.5'),
        (logging.WARNING, 'request.stopped kind=dm conversation=D1:2.0 reason="time budget reached" seconds=30'),
        (logging.WARNING, 'request.failed kind=dm conversation=D1:3.0 reason="internal error (ValueError)"'),
    ]
    assert value(metrics, f"{PREFIX}requests_total", kind="mention", outcome="failed") == 1
    assert value(metrics, f"{PREFIX}requests_total", kind="dm", outcome="answered") == 1
    assert value(metrics, f"{PREFIX}requests_total", kind="dm", outcome="failed") == 1
    assert value(metrics, f"{PREFIX}agent_steps_sum") == 4


def test_decision_lines_off_still_counts(lines: list[logging.LogRecord]) -> None:
    metrics = Metrics()
    journal = Journal(metrics, log_decisions=False)
    journal.refused("command", user="U09GUEST", reason="guest")
    assert lines == [] and value(metrics, f"{PREFIX}requests_total", kind="command", outcome="refused") == 1


def test_an_event_the_journal_cannot_read_does_not_fail_the_audit_log(lines: list[logging.LogRecord]) -> None:
    def broken(pid: str) -> Facts:
        raise RuntimeError("database gone")

    Journal(Metrics(), lookup=broken).audited([transition("pending", "rejected", "U01ALICE")])
    assert lines == []


def test_json_format_puts_the_fields_on_the_line(lines: list[logging.LogRecord]) -> None:
    out = io.StringIO()
    handler = logs.configure("INFO", "json", out, force=True)
    assert handler is not None
    try:
        Journal(None).received("dm", user="U02BOB", channel="D1", conversation_id="D1:1.0")
    finally:
        logging.getLogger().removeHandler(handler)
    line = json.loads(out.getvalue())
    assert line["event"] == "request.received" and line["level"] == "INFO" and line["logger"] == LOGGER
    assert (line["kind"], line["user"], line["channel"], line["conversation"]) == ("dm", "U02BOB", "D1", "D1:1.0")


def test_the_http_clients_request_lines_are_debug(lines: list[logging.LogRecord]) -> None:
    out = io.StringIO()
    handler = logs.configure("INFO", "text", out, force=True)
    assert handler is not None
    try:
        logging.getLogger("httpx2").info('HTTP Request: POST http://127.0.0.1/v1/chat/completions "HTTP/1.1 200 OK"')
        logging.getLogger("httpx2").warning("a warning stays")
        logging.getLogger().setLevel(logging.DEBUG)
        logging.getLogger("httpx").info("HTTP Request: GET / 200 OK")
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(logging.WARNING)
    printed = out.getvalue().splitlines()
    assert len(printed) == 2
    assert "WARNING httpx2: a warning stays" in printed[0] and "DEBUG httpx: HTTP Request" in printed[1]


def test_no_decision_line_names_a_message_text(tmp_path: Path) -> None:
    """The journal's entry points take ids, kinds and reasons only: none has a parameter for text."""
    import inspect

    for name, method in inspect.getmembers(Journal, inspect.isfunction):
        assert not {"text", "message", "question", "answer"} & set(inspect.signature(method).parameters), name
