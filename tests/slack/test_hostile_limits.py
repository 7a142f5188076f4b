"""Attacks on the per-minute limit: a `/crm digest preview` (or `run now`) of a digest with a
model-written summary calls the model each time, so it counts as the asker's request and is
refused over the limit, before any model call; a digest without a summary costs no model call
and is not counted."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.config import LimitsSection
from bot.limits.service import Limits
from bot.records import Digest, Subscription
from bot.slack.listeners import commands
from bot.store.counters import SqlCounters
from tests.slack.fakes import Calls, make_bench

NOW = datetime(2026, 12, 6, 14, 31, 20, tzinfo=timezone.utc)


class SummarizingDigests:
    """A digest service whose every preview or run would call the model (counted here)."""

    def __init__(self, summary: bool) -> None:
        self.sub = Subscription("d", "C0SALES", "0 9 * * *", "UTC", ("closing_soon",),
                                filters={"summary": True} if summary else {})
        self.model_calls = 0

    def subscription(self, name: str) -> Subscription | None:
        return self.sub if name == "d" else None

    async def preview(self, name: str) -> Digest:
        self.model_calls += 1
        return Digest("d", "C0SALES", NOW, NOW, (), summary="Summary.")

    async def run_now(self, name: str) -> Any:
        self.model_calls += 1
        return type("Outcome", (), {"message": "posted"})()


@pytest.mark.parametrize("verb", ["preview d", "run now d"])
@pytest.mark.parametrize("summary", [True, False])
def test_digest_previews_with_a_summary_count_against_the_per_minute_limit(sqlite_engine: Engine, verb: str,
                                                                           summary: bool) -> None:
    limits = Limits(SqlCounters(sqlite_engine, clock=NOW.timestamp), LimitsSection(requests_per_minute=2),
                    clock=NOW.timestamp)
    digests = SummarizingDigests(summary)
    bench = make_bench()
    deps = dataclasses.replace(bench.deps, digests=digests, limits=limits)
    answers = Calls()

    async def ask() -> None:
        command = {"user_id": "U01ALICE", "channel_id": "C0SALES", "channel_name": "sales", "text": f"digest {verb}"}
        await commands.on_crm(ack=Calls(), command=command, respond=answers, context={"deps": deps})
        await bench.runner.run_all()

    for _ in range(5):
        asyncio.run(ask())
    if summary:
        assert digests.model_calls == 2  # the limit: the third and later are refused before the model
        assert sum("limit" in str(c) for c in answers.calls) == 3, answers.calls
        assert limits.usage("U01ALICE").requests_this_minute >= 2
    else:
        assert digests.model_calls == 5  # no model call to limit
        assert limits.usage("U01ALICE").requests_this_minute == 0
