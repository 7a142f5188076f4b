"""The dead-letter list: one row per piece of work, claimed by one process, never deleted."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine

from bot.config import DeadLettersSection
from bot.store.dead_letters import SqlDeadLetters, backoff, next_try

T0 = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def test_recording_the_same_work_twice_updates_one_item(engine: Engine) -> None:
    letters = SqlDeadLetters(engine)
    first = letters.record("turn", "C1:1.0", reason="HTTP 500", payload={"text": "about <PERSON_1>"}, user="U1",
                           channel="C1", retry_at=T0, now=T0)
    again = letters.record("turn", "C1:1.0", reason="timed out", payload={"text": "about <PERSON_1>"}, now=T0)
    other = letters.record("execution", "C1:1.0", reason="HTTP 503", payload={}, now=T0)
    assert first == again != other
    item = letters.get(first)
    assert item is not None and (item.reason, item.status, item.user) == ("timed out", "failed", "U1")
    assert letters.count_open() == 2


def test_a_queued_item_is_claimed_by_one_process_and_counts_its_attempt(engine: Engine) -> None:
    letters = SqlDeadLetters(engine)
    due = letters.record("turn", "C1:1.0", reason="HTTP 500", payload={}, retry_at=T0, now=T0)
    letters.record("turn", "C1:2.0", reason="HTTP 500", payload={}, retry_at=T0 + timedelta(minutes=5), now=T0)
    letters.record("digest", "morning@x", reason="HTTP 500", payload={}, now=T0)  # failed: waits for an operator
    with ThreadPoolExecutor(6) as pool:
        claims = list(pool.map(lambda i: letters.claim_due(by=f"p{i}", now=T0 + timedelta(seconds=1)), range(6)))
    won = [c for c in claims if c]
    assert len(won) == 1 and [item.id for item in won[0]] == [due] and won[0][0].attempts == 1
    assert letters.claim_due(by="p", now=T0 + timedelta(hours=1), kinds=("digest",)) == []
    letters.done(due, now=T0)
    assert [i.ref for i in letters.list()] == ["morning@x", "C1:2.0"]  # newest first; done is not open


def test_retry_drop_and_settle_move_only_open_items(engine: Engine) -> None:
    letters = SqlDeadLetters(engine)
    item = letters.record("execution", "p1", reason="OperationalError", payload={"proposal_id": "p1"}, now=T0)
    assert letters.queue(item, now=T0)
    assert [i.id for i in letters.claim_due(by="p", now=T0)] == [item]
    assert not letters.queue(item) and not letters.drop(item)  # being retried right now
    assert letters.requeue_stuck(claimed_before=T0 + timedelta(minutes=5), now=T0) == 1  # its process stopped
    letters.settle("execution", "p1", now=T0)  # a Retry click on the card finished it
    assert letters.get(item).status == "done"  # type: ignore[union-attr]
    assert not letters.drop(item) and letters.count_open() == 0
    other = letters.record("digest", "d@1", reason="HTTP 500", payload={}, now=T0)
    assert letters.drop(other) and letters.get(other).status == "dropped"  # type: ignore[union-attr]
    assert [i.id for i in letters.list(statuses=("dropped",))] == [other]


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n, 30).total_seconds() for n in (1, 2, 3, 10)] == [30, 60, 120, 3600]


@pytest.mark.parametrize(("auto_retry", "attempts", "after"), [
    (True, 0, 30), (True, 1, 60), (True, 2, 120), (True, 3, None), (True, 9, None), (False, 0, None)])
def test_one_retry_policy_for_turns_answers_and_executions(auto_retry: bool, attempts: int,
                                                           after: int | None) -> None:
    policy = DeadLettersSection(auto_retry=auto_retry, max_attempts=3, retry_seconds=30)
    expected = T0 + timedelta(seconds=after) if after is not None else None
    assert next_try(policy, attempts, T0) == expected
