"""The limits' counters are where the configuration says: the database by default, Redis when set."""

from __future__ import annotations

import uuid

from limits.storage import RedisStorage
from sqlalchemy import Engine, func, select

from bot.config import LimitsSection, Settings
from bot.limits.service import Limits
from bot.store.tables import LimitCounter
from bot.wiring import build_limits
from tests.store.test_counters import REDIS_URL


def rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(LimitCounter)) or 0)


def test_by_default_the_counters_are_in_the_database(sqlite_engine: Engine) -> None:
    refused: list[str] = []
    limits = build_limits(Settings(limits=LimitsSection(requests_per_minute=1)), sqlite_engine,
                          on_refusal=refused.append)
    assert limits.admit("U1") is None and limits.admit("U1") is not None
    assert rows(sqlite_engine) == 1 and refused == ["requests_per_minute"]


def test_with_a_redis_url_the_counters_are_in_redis(sqlite_engine: Engine) -> None:
    settings = Settings(limits=LimitsSection(requests_per_minute=5, redis_url=REDIS_URL))
    user = f"U{uuid.uuid4().hex[:12].upper()}"  # Redis outlives the test; the window expires in a minute
    assert build_limits(settings, sqlite_engine).admit(user) is None
    assert rows(sqlite_engine) == 0
    elsewhere = Limits(RedisStorage(REDIS_URL), settings.limits)  # another replica, on the same Redis
    assert elsewhere.usage(user).requests_this_minute == 1
