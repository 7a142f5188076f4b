"""The limits' counters shared by replicas: in the database (SQLite, PostgreSQL) and in Redis.

Every backend must count every increment made at once from several connections and "processes"
(separate engines or clients): none lost, none twice. The database counters run on a fake clock;
Redis keeps its own time, so its tests look only at counts.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator

import pytest
from limits.storage import RedisStorage, Storage
from sqlalchemy import Engine, func, select

from bot.config import LimitsSection
from bot.limits.service import Limits
from bot.store.counters import PRUNE_EVERY_S, SqlCounters
from bot.store.engine import make_engine
from bot.store.tables import LimitCounter

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def test_a_counter_counts_until_it_expires_then_starts_afresh(engine: Engine) -> None:
    clock = Clock()
    counters = SqlCounters(engine, clock=clock)
    assert counters.get("k") == 0 and counters.get_expiry("k") == T0
    assert counters.incr("k", 60) == 1
    assert counters.incr("k", 60, amount=5) == 6
    clock.now += 59
    assert counters.incr("k", 60) == 7  # the expiry is set when the counter starts, not moved
    assert (counters.get("k"), counters.get_expiry("k")) == (7, T0 + 60)
    clock.now = T0 + 60
    assert counters.get("k") == 0  # expired counts as absent
    assert counters.incr("k", 30, amount=2) == 2
    assert counters.get_expiry("k") == T0 + 90
    counters.clear("k")
    assert counters.get("k") == 0
    assert counters.check()


def test_expired_counters_are_pruned(engine: Engine) -> None:
    clock = Clock()
    counters = SqlCounters(engine, clock=clock)
    for key in ("a", "b", "c"):
        counters.incr(key, 10)
    counters.incr("long", 10 * PRUNE_EVERY_S)
    clock.now += PRUNE_EVERY_S + 1
    counters.incr("d", 10)  # the first increment past the hour prunes
    with engine.connect() as conn:
        keys = set(conn.scalars(select(LimitCounter.key)))  # type: ignore[call-overload]
    assert keys == {"long", "d"}
    assert counters.reset() == 2


def hammer(storages: list[Storage], key: str, *, threads_each: int, increments: int, amount: int) -> None:
    """Increment one key from several threads over each storage (each storage stands for a process)."""
    start = threading.Barrier(len(storages) * threads_each)
    errors: list[BaseException] = []

    def work(storage: Storage) -> None:
        start.wait()
        try:
            for _ in range(increments):
                storage.incr(key, 3600, amount=amount)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(s,)) for s in storages for _ in range(threads_each)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors, errors


def test_two_processes_charging_at_once_lose_no_tokens(db_url: str) -> None:
    # Two engines are two replicas' connection pools; the first increment of the key races too.
    engines = [make_engine(db_url) for _ in range(2)]
    try:
        from bot.store import schema

        schema.upgrade(engines[0])
        storages: list[Storage] = [SqlCounters(e) for e in engines]
        hammer(storages, "tokens/U1/today", threads_each=4, increments=25, amount=7)
        assert storages[1].get("tokens/U1/today") == 2 * 4 * 25 * 7
        with engines[0].connect() as conn:
            assert conn.scalar(select(func.count()).select_from(LimitCounter)) == 1
    finally:
        for e in engines:
            e.dispose()


@pytest.fixture
def redis_storages() -> Iterator[Callable[[], RedisStorage]]:
    """Redis clients (each like another replica's) on the server of the machine; it must be up.
    Their keys carry a prefix of this test's own, deleted afterwards."""
    prefix = f"crm-copilot-test-{uuid.uuid4().hex}"

    def make() -> RedisStorage:
        return RedisStorage(REDIS_URL, key_prefix=prefix)

    first = make()
    if not first.check():
        pytest.fail(f"Redis is required at {REDIS_URL} (set TEST_REDIS_URL to change it)", pytrace=False)
    yield make
    first.reset()


def test_redis_counters_lose_nothing_under_concurrent_increments(redis_storages: Callable[[], RedisStorage]) -> None:
    storages: list[Storage] = [redis_storages(), redis_storages()]
    hammer(storages, "tokens/U1/today", threads_each=4, increments=25, amount=7)
    assert storages[0].get("tokens/U1/today") == 2 * 4 * 25 * 7
    assert 0 < storages[0].get_expiry("tokens/U1/today") - storages[0].get_expiry("absent") <= 3600


@pytest.mark.parametrize("backend", ["database", "redis"])
def test_replicas_share_limits_on_either_backend(backend: str, engine: Engine,
                                                 redis_storages: Callable[[], RedisStorage]) -> None:
    settings = LimitsSection(requests_per_minute=3, tokens_per_day=1_000)
    make: Callable[[], Storage] = (lambda: SqlCounters(engine)) if backend == "database" else redis_storages
    replicas = [Limits(make(), settings), Limits(make(), settings)]
    user = "U01ALICE"
    assert [replicas[i % 2].admit(user) for i in range(3)] == [None, None, None]
    refusal = replicas[1].admit(user)
    assert refusal is not None and refusal.limit == "requests_per_minute"
    other = "U02BOB"
    replicas[0].charge(other, 600)
    replicas[1].charge(other, 500)
    usage = replicas[0].usage(other)
    assert (usage.tokens_today, usage.workspace_tokens_today) == (1_100, 1_100)
    refusal = replicas[1].admit(other)
    assert refusal is not None and refusal.limit == "tokens_per_day"
