"""The limits: who is refused, with which line and reset time, what is charged, what is shown.

A fake clock drives both the service and the database counters, so windows and days pass without
waiting.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.config import LimitsSection
from bot.limits.service import Limits, at, wait
from bot.store import schema
from bot.store.counters import SqlCounters
from bot.store.engine import make_engine

START = datetime(2026, 12, 6, 14, 31, 20, tzinfo=timezone.utc).timestamp()


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    schema.upgrade(engine)
    yield engine
    engine.dispose()


def limits(engine: Engine, clock: Clock, refused: list[str] | None = None, **settings: Any) -> Limits:
    return Limits(SqlCounters(engine, clock=clock), LimitsSection(**settings), clock=clock,
                  on_refusal=refused.append if refused is not None else None)


def test_requests_over_the_minute_are_refused_with_when_to_ask_again(sqlite_engine: Engine) -> None:
    clock, refused = Clock(), []
    service = limits(sqlite_engine, clock, refused, requests_per_minute=3)
    assert [service.admit("U1") for _ in range(3)] == [None, None, None]
    clock.now += 20
    refusal = service.admit("U1")
    assert refusal is not None and refusal.limit == "requests_per_minute"
    assert refusal.retry_at == START + 60  # the window began with the first request
    assert refusal.message == ("⏳ You have reached your limit of 3 requests a minute; "
                               "you can ask again at 14:33 UTC (in 40 s).")
    assert refused == ["requests_per_minute"]
    assert service.admit("U2") is None  # one person's limit is theirs alone
    assert service.usage("U1").requests_this_minute == 3  # refused requests are not counted
    clock.now = START + 60
    assert service.admit("U1") is None  # a new window


def test_over_tells_without_counting(sqlite_engine: Engine) -> None:
    clock, refused = Clock(), []
    service = limits(sqlite_engine, clock, refused, requests_per_minute=1, tokens_per_day=100)
    assert not service.over("U1") and not service.over("U1")
    assert service.usage("U1").requests_this_minute == 0
    assert service.admit("U1") is None
    assert service.over("U1") and service.over("U2") is False
    service.charge("U2", 100)
    assert service.over("U2")
    assert refused == []  # only admit() refuses


def test_tokens_are_charged_and_the_day_budget_enforced(sqlite_engine: Engine) -> None:
    clock, refused = Clock(), []
    service = limits(sqlite_engine, clock, refused, tokens_per_day=1_000, requests_per_minute=0)
    service.charge("U1", 600)
    assert service.admit("U1") is None
    service.charge("U1", 450)  # a run that started under the limit is charged in full
    assert service.usage("U1").tokens_today == 1_050
    refusal = service.admit("U1")
    assert refusal is not None and refusal.limit == "tokens_per_day"
    midnight = datetime(2026, 12, 7, tzinfo=timezone.utc).timestamp()
    assert refusal.retry_at == midnight
    assert refusal.message == ("⏳ You have used your 1,000 model tokens for today; "
                               "you can ask again at 00:00 UTC (in 9 h 29 min).")
    assert service.admit("U2") is None
    clock.now = midnight
    assert service.admit("U1") is None and service.usage("U1").tokens_today == 0
    assert refused == ["tokens_per_day"]


def test_the_workspace_budget_stops_everyone(sqlite_engine: Engine) -> None:
    clock, refused = Clock(), []
    service = limits(sqlite_engine, clock, refused, tokens_per_day=1_000, workspace_tokens_per_day=1_500)
    service.charge("U1", 800)
    service.charge("U2", 800)
    for user in ("U1", "U2", "U3"):
        refusal = service.admit(user)
        assert refusal is not None and refusal.limit == "workspace_tokens_per_day", user
        assert refusal.message.startswith("⏳ The workspace has used its 1,500 model tokens for today;")
    assert refused == ["workspace_tokens_per_day"] * 3
    usage = service.usage("U3")
    assert (usage.tokens_today, usage.workspace_tokens_today) == (0, 1_600)


def test_a_person_out_of_tokens_does_not_also_use_up_requests(sqlite_engine: Engine) -> None:
    clock = Clock()
    service = limits(sqlite_engine, clock, tokens_per_day=10, requests_per_minute=2)
    service.charge("U1", 10)
    for _ in range(3):
        assert service.admit("U1") is not None
    assert service.usage("U1").requests_this_minute == 0


@pytest.mark.parametrize("off", ["requests_per_minute", "tokens_per_day", "workspace_tokens_per_day"])
def test_zero_turns_a_limit_off(sqlite_engine: Engine, off: str) -> None:
    settings = {"requests_per_minute": 1, "tokens_per_day": 5, "workspace_tokens_per_day": 5, off: 0}
    service = limits(sqlite_engine, Clock(), **settings)
    assert service.admit("U1") is None
    service.charge("U1", 10)
    refusal = service.admit("U1")
    # Whichever limit is off, one of the others still refuses, and never the one that is off.
    assert refusal is not None and refusal.limit != off


def test_tokens_are_still_counted_when_no_limit_is_set(sqlite_engine: Engine) -> None:
    service = limits(sqlite_engine, Clock(), requests_per_minute=0, tokens_per_day=0, workspace_tokens_per_day=0)
    for _ in range(50):
        assert service.admit("U1") is None
    service.charge("U1", 123)
    usage = service.usage("U1")
    assert (usage.requests_this_minute, usage.tokens_today, usage.workspace_tokens_today) == (0, 123, 123)


class BrokenStorage(SqlCounters):
    def incr(self, key: str, expiry: int | float, amount: int = 1) -> int:
        raise ConnectionError("down")

    def get(self, key: str) -> int:
        raise ConnectionError("down")


def test_counters_that_cannot_be_reached_admit_and_say_so(sqlite_engine: Engine,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    service = Limits(BrokenStorage(sqlite_engine, clock=clock), LimitsSection(requests_per_minute=1), clock=clock)
    assert service.admit("U1") is None and service.admit("U1") is None
    service.charge("U1", 50)
    assert [r.levelname for r in caplog.records] == ["WARNING"] * 3
    assert "ConnectionError" in caplog.records[0].getMessage()
    with pytest.raises(ConnectionError):
        service.usage("U1")


@pytest.mark.parametrize(("seconds", "words"), [
    (0.2, "1 s"), (40, "40 s"), (59.5, "1 min"), (60, "1 min"), (61, "2 min"), (3600, "1 h"), (5 * 3600 + 725, "5 h 13 min")])
def test_waits_in_words_round_up(seconds: float, words: str) -> None:
    assert wait(seconds) == words


def test_the_time_shown_is_never_too_early() -> None:
    assert at(START + 10, START) == "at 14:32 UTC (in 10 s)"  # 14:31:30 shown as 14:32
    assert at(START + 40, START) == "at 14:32 UTC (in 40 s)"  # exactly 14:32:00
