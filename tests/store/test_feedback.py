"""Ratings of answers: once per person and answer, a changed mind updates, reported per week and tool."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from bot.store import schema
from bot.store.engine import make_engine
from bot.store.feedback import FeedbackRow, SqlFeedback
from bot.store.requests import SqlRequests

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)  # ISO week 2026-W49
NEXT_WEEK = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


def test_a_rating_counts_once_and_the_report_counts_it_per_tool_and_week(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'f.db'}")
    schema.upgrade(engine)
    requests, feedback = SqlRequests(engine), SqlFeedback(engine)
    for key, tools in (("C1:1.0", ("get_deal", "list_activities")), ("C1:2.0", ()), ("C1:3.0", ("get_deal",))):
        requests.claim(key, kind="mention", user="U1", channel="C1", conversation_id=f"slack:{key}")
        requests.finish(key, status="answered", tools=tools)
    assert feedback.rate("C1:1.0", user="U1", rating="up", now=MONDAY) == "new"
    assert feedback.rate("C1:1.0", user="U1", rating="up", now=MONDAY) == "same"  # a double click
    assert feedback.rate("C1:1.0", user="U2", rating="up", now=MONDAY) == "new"
    assert feedback.rate("C1:2.0", user="U1", rating="up", now=MONDAY) == "new"
    assert feedback.rate("C1:2.0", user="U1", rating="down", now=MONDAY) == "changed"  # a changed mind
    assert feedback.rate("C1:3.0", user="U1", rating="down", now=NEXT_WEEK) == "new"
    assert feedback.comment("C1:3.0", user="U1", comment="wrong stage")
    assert not feedback.comment("C1:3.0", user="U9", comment="never rated it")
    assert feedback.report() == [
        FeedbackRow("2026-W49", "(no tool)", 0, 1),
        FeedbackRow("2026-W49", "get_deal", 2, 0),
        FeedbackRow("2026-W49", "list_activities", 2, 0),
        FeedbackRow("2026-W50", "get_deal", 0, 1),
    ]
    assert [r.comment for r in feedback.ratings() if r.comment] == ["wrong stage"]
    assert feedback.report(since=NEXT_WEEK) == [FeedbackRow("2026-W50", "get_deal", 0, 1)]
