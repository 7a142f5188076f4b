"""Claim a digest's slot, build it, post it, record the outcome: at most once per slot everywhere.

Each bot process calls `run_due()` on a timer. A slot is claimed by inserting (digest, slot)
under a unique key, so of several replicas exactly one posts it. Slots missed while no process
ran are coalesced into one run marked as catching up. A transient posting failure is retried
with doubling waits; after the last try, or at once for a permanent failure, the run is recorded
as failed, with its error, where `/crm digest list` shows it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Protocol

from bot.config import DigestConfig, SchedulerSection
from bot.digests import schedule
from bot.digests.model import Digest, RunView, Subscription
from bot.digests.sections import Scope, SectionBuilder
from bot.store.digests import SqlDigests

log = logging.getLogger(__name__)


class PublishError(Exception):
    """Posting failed; `transient` says whether trying again may help (5xx, timeouts, dropped connections)."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class Publisher(Protocol):
    async def publish(self, digest: Digest) -> str:
        """Post the digest (and its overflow) and return the main message's ts; raises PublishError."""
        ...


class Summarizer(Protocol):
    async def summarize(self, digest: Digest) -> str | None: ...


@dataclass(frozen=True)
class Outcome:
    name: str
    slot: datetime | None
    status: str  # posted, failed, claimed_elsewhere, unknown
    message: str
    attempts: int = 0
    message_ts: str | None = None


def from_config(config: DigestConfig) -> Subscription:
    filters = {k: v for k, v in (("owner", config.owner), ("team", config.team)) if v}
    if config.summary:
        filters["summary"] = True
    return Subscription(config.name, config.channel, config.cron, config.timezone, tuple(config.sections), filters)


class DigestService:
    def __init__(self, store: SqlDigests, sections: SectionBuilder, *, settings: SchedulerSection,
                 groups: Mapping[str, Sequence[str]], clock: Callable[[], datetime], instance: str,
                 publisher: Publisher | None = None, summarizer: Summarizer | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.store, self._sections, self._settings, self._groups = store, sections, settings, groups
        self._clock, self._instance, self.publisher, self._summarizer, self._sleep = (
            clock, instance, publisher, summarizer, sleep)

    def now(self) -> datetime:
        return self._clock()

    def sync_config(self, configs: Sequence[DigestConfig]) -> None:
        """Load the [[digests]] of app.toml into the database (at start; other replicas do the same)."""
        self.store.sync_config([from_config(c) for c in configs], now=self._clock())

    # -- scheduled runs -----------------------------------------------------------------------

    async def run_due(self) -> list[Outcome]:
        """Post every digest whose slot has come (one run per digest, coalescing missed slots)."""
        now = self._clock()
        subscriptions = await asyncio.to_thread(self.store.subscriptions, enabled_only=True)
        outcomes = []
        for sub in subscriptions:
            try:
                outcome = await self._run_if_due(sub, now)
            except Exception:  # noqa: BLE001 - one broken digest must not stop the others
                log.exception("digest %s could not be run", sub.name)
                continue
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    async def _run_if_due(self, sub: Subscription, now: datetime) -> Outcome | None:
        last = await asyncio.to_thread(self.store.last_run, sub.name)
        if last is not None and last.status == "claimed":
            # Its process may have died after claiming; after the lease, one survivor takes it over.
            cutoff = now - timedelta(minutes=self._settings.lease_minutes)
            if last.claimed_at < cutoff and await asyncio.to_thread(
                    self.store.take_over, last.id, by=self._instance, claimed_before=cutoff, now=now):
                log.warning("digest %s: taking over the slot %s left claimed by %s", sub.name, last.scheduled_for,
                            last.claimed_by)
                return await self._post(sub, last, missed=0, now=now)
        after = last.scheduled_for if last else (sub.created_at or now)
        due = schedule.due(sub.cron, sub.timezone, after=after, now=now)
        if due is None:
            return None
        late = now - due.slot > timedelta(minutes=self._settings.late_minutes)
        catching_up = due.count > 1 or late
        run = await asyncio.to_thread(self.store.claim, sub.name, due.slot, by=self._instance,
                                      catching_up=catching_up, now=now)
        if run is None:
            return Outcome(sub.name, due.slot, "claimed_elsewhere", "another process has this slot")
        return await self._post(sub, run, missed=due.count - 1, now=now)

    # -- on demand ----------------------------------------------------------------------------

    async def run_now(self, name: str) -> Outcome:
        """Post a digest now, outside its schedule (its own slot: the current second)."""
        sub = await asyncio.to_thread(self.store.get, name)
        if sub is None:
            return Outcome(name, None, "unknown", f'no digest named "{name}"')
        now = self._clock()
        slot = now.astimezone(timezone.utc).replace(microsecond=0)
        run = await asyncio.to_thread(self.store.claim, name, slot, by=self._instance, now=now)
        if run is None:
            return Outcome(name, slot, "claimed_elsewhere", "a run for this very second exists; try again")
        return await self._post(sub, run, missed=0, now=now)

    async def preview(self, name: str) -> Digest | None:
        """The digest as it would be posted now; nothing is claimed or posted."""
        sub = await asyncio.to_thread(self.store.get, name)
        if sub is None:
            return None
        now = self._clock()
        since = await asyncio.to_thread(self._since, sub, now)
        return await self._with_summary(sub, await asyncio.to_thread(self.build, sub, now, since, now))

    def build(self, sub: Subscription, slot: datetime, since: datetime, now: datetime, *, missed: int = 0,
              catching_up: bool = False) -> Digest:
        """The digest's non-empty sections, computed from the CRM as it is now."""
        scope = self.scope(sub)
        built = (self._sections.build(key, scope=scope, since=since, now=now) for key in sub.sections)
        return Digest(sub.name, sub.channel, slot, since, tuple(s for s in built if s is not None), missed,
                      catching_up)

    def scope(self, sub: Subscription) -> Scope:
        owner, team = sub.filters.get("owner"), sub.filters.get("team")
        if owner:
            return Scope((str(owner),))
        if team:
            return Scope(tuple(self._groups.get(str(team), ())))
        return Scope()

    # -- posting ------------------------------------------------------------------------------

    def _since(self, sub: Subscription, slot: datetime) -> datetime:
        """Start of "since the last run": the last posted slot, else the schedule's previous slot."""
        posted = self.store.last_posted(sub.name)
        if posted is not None and posted.scheduled_for < slot:
            return posted.scheduled_for
        previous = schedule.previous_slot(sub.cron, sub.timezone, before=slot)
        return previous or slot - timedelta(days=1)

    async def _post(self, sub: Subscription, run: RunView, *, missed: int, now: datetime) -> Outcome:
        slot = run.scheduled_for
        try:
            since = await asyncio.to_thread(self._since, sub, slot)
            digest = await asyncio.to_thread(self.build, sub, slot, since, now, missed=missed,
                                             catching_up=run.catching_up)
            digest = await self._with_summary(sub, digest)
        except Exception as exc:  # noqa: BLE001 - recorded, not lost
            log.exception("digest %s: building the slot %s failed", sub.name, slot)
            return await self._finish(run, "failed", 0, f"could not build the digest ({type(exc).__name__}: {exc})")
        if self.publisher is None:
            return await self._finish(run, "failed", 0, "no Slack connection in this process")
        attempts, wait = 0, self._settings.retry_seconds
        while True:
            attempts += 1
            try:
                ts = await self.publisher.publish(digest)
            except PublishError as exc:
                if not exc.transient or attempts >= self._settings.post_attempts:
                    log.error("digest %s: posting slot %s failed after %d tries: %s", sub.name, slot, attempts, exc)
                    return await self._finish(run, "failed", attempts, str(exc))
                log.warning("digest %s: posting failed (%s); trying again in %.1f s", sub.name, exc, wait)
                await self._sleep(wait)
                wait *= 2
                continue
            return await self._finish(run, "posted", attempts, None, ts)

    async def _with_summary(self, sub: Subscription, digest: Digest) -> Digest:
        if not sub.filters.get("summary") or self._summarizer is None or digest.empty:
            return digest
        try:
            text = await self._summarizer.summarize(digest)
        except Exception:  # noqa: BLE001 - the digest goes out without its summary
            log.exception("digest %s: the summary failed; posting without it", digest.name)
            return digest
        return replace(digest, summary=text)

    async def _finish(self, run: RunView, status: str, attempts: int, error: str | None,
                      message_ts: str | None = None) -> Outcome:
        await asyncio.to_thread(self.store.finish, run.id, status=status, attempts=attempts, error=error,
                                message_ts=message_ts, now=self._clock())
        message = "posted" if status == "posted" else f"failed: {error}"
        return Outcome(run.digest_name, run.scheduled_for, status, message, attempts, message_ts)
