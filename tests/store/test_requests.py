"""Slack requests: one claim per key, even when replicas race; abandoned runs are closed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine

from bot.store.requests import SqlRequests

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def test_a_key_is_claimed_once_under_concurrency(engine: Engine) -> None:
    requests = SqlRequests(engine)
    with ThreadPoolExecutor(8) as pool:
        wins = list(pool.map(lambda _: requests.claim("C1:1.0", kind="mention", user="U1", channel="C1"), range(8)))
    assert wins.count(True) == 1
    assert requests.get("C1:1.0").status == "running"  # type: ignore[union-attr]


def test_finish_recent_and_conversation_lookup(engine: Engine) -> None:
    requests = SqlRequests(engine)
    for i in range(3):
        assert requests.claim(f"C1:{i}.0", kind="dm", user="U1", channel="D1", conversation_id=f"slack:D1:{i}.0",
                              now=T0 + timedelta(minutes=i))
    requests.claim("C1:9.0", kind="dm", user="U2", channel="D2", now=T0)
    requests.finish("C1:1.0", status="answered", proposals=2, summary="about <PERSON_1>", now=T0)
    recent = requests.recent("U1", limit=2)
    assert [r.key for r in recent] == ["C1:2.0", "C1:1.0"]
    assert recent[1].status == "answered" and recent[1].proposals == 2 and recent[1].summary == "about <PERSON_1>"
    assert requests.has_conversation("slack:D1:0.0") and not requests.has_conversation("slack:D1:7.0")


def test_runs_abandoned_by_a_stopped_process_are_marked_failed(engine: Engine) -> None:
    requests = SqlRequests(engine)
    requests.claim("old", kind="mention", user="U1", channel="C1", now=T0)
    requests.claim("new", kind="mention", user="U1", channel="C1", now=T0 + timedelta(minutes=10))
    requests.claim("done", kind="mention", user="U1", channel="C1", now=T0)
    requests.finish("done", status="answered")
    assert requests.fail_abandoned(started_before=T0 + timedelta(minutes=5)) == 1
    old = requests.get("old")
    assert old is not None and old.status == "failed" and "interrupted" in (old.error or "")
    assert requests.get("new").status == "running" and requests.get("done").status == "answered"  # type: ignore[union-attr]
