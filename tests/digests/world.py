"""A small CRM for digest tests, and a publisher that records (or fails) what it is asked to post."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from adapters.crm.local.adapter import LocalCrm
from bot.config import DigestSectionsSection, SchedulerSection
from bot.digests.sections import SectionBuilder
from bot.digests.service import DigestService, PublishError
from bot.records import Digest
from bot.store.digests import SqlDigests

_keys: Iterator[int] = itertools.count()


def add(crm: LocalCrm, kind: str, **fields: Any) -> int:
    return crm.create(kind, fields, idempotency_key=f"digest-test-{next(_keys)}").record.id  # type: ignore[arg-type]


def stale_deals(crm: LocalCrm, count: int, *, owner: str = "U01ALICE") -> list[int]:
    company = add(crm, "company", name=f"Stale Works {next(_keys)}", owner=owner)
    return [add(crm, "deal", name=f"Stale deal {i}", company_id=company, stage="proposal", amount="1000",
                currency="EUR", close_date=date(2027, 6, 1), owner=owner) for i in range(count)]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Publisher:
    """Records digests; `failures` are raised first, one per call."""

    posted: list[Digest] = field(default_factory=list)
    failures: list[PublishError] = field(default_factory=list)
    calls: int = 0

    async def publish(self, digest: Digest) -> tuple[str, str | None]:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        self.posted.append(digest)
        return f"1700000000.{len(self.posted):06d}", None


@dataclass
class Sleeps:
    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def service(engine: Any, clock: Clock, *, publisher: Publisher | None = None, sleep: Sleeps | None = None,
            instance: str = "test-1", pending: Any = (), audience: Any = None, owner_ids: Any = None,
            letters: Any = None, **scheduler: Any) -> DigestService:
    crm = LocalCrm(engine)
    sections = SectionBuilder(crm, lambda: list(pending), DigestSectionsSection())
    return DigestService(SqlDigests(engine), sections, settings=SchedulerSection(**scheduler),
                         groups={"sales": ("U01ALICE", "U02BOB")}, clock=clock, instance=instance,
                         publisher=publisher, sleep=sleep or Sleeps(), audience=audience, owner_ids=owner_ids,
                         letters=letters)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


LATER = timedelta(days=40)  # digests "now" is this far after the records were written
