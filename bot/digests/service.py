"""Claim a digest's slot, build it, post it, record the outcome: at most once per slot everywhere.

Each bot process calls `run_due()` on a timer. A slot is claimed by inserting (digest, slot)
under a unique key, so of several replicas exactly one posts it. Slots missed while no process
ran are coalesced into one run marked as catching up. A transient posting failure is retried
with doubling waits; after the last try, or at once for a permanent failure, the run is recorded
as failed, with its error, where `/crm digest list` shows it.

Every run (scheduled, on demand, preview) asks the injected `audience` what every member of the
digest's channel may see at that moment and builds the sections through a CRM view limited to it;
nothing of one run's audience is kept for the next. Without an audience (the terminal with no
Slack connection: there is no channel to ask) the sections read the whole CRM.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Literal, Protocol

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from bot.access.scope import Scope as Readers
from bot.access.scoped_crm import ScopedCrm
from bot.config import DigestConfig, SchedulerSection
from bot.digests import schedule
from bot.digests.sections import Scope, SectionBuilder
from bot.records import Digest, RunStatus, RunView, Subscription
from bot.store.dead_letters import SqlDeadLetters
from bot.store.digests import SqlDigests

log = logging.getLogger(__name__)


class PublishError(Exception):
    """Posting failed; `transient` says whether trying again may help (5xx, timeouts, dropped connections)."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


# The CRM owner ids of Slack users (a digest's `owner` or `team`), matched by e-mail.
OwnerIds = Callable[[Collection[str]], Awaitable[frozenset[str]]]


class Publisher(Protocol):
    """Where digests go (Slack's chat.postMessage in the bot)."""

    async def publish(self, digest: Digest) -> tuple[str, str | None]:
        """Post the digest and its overflow replies; return the main message's ts and, when some
        reply could not be posted, what went wrong. Raises PublishError when the digest itself failed."""
        ...


class Summarizer(Protocol):
    """Writes the optional summary at the top of a digest."""

    async def summarize(self, digest: Digest) -> str | None: ...


@dataclass(frozen=True)
class RunOutcome:
    """What one run of a digest came to: posted or failed, else why it did not run here."""

    name: str
    slot: datetime | None
    status: RunStatus | Literal["claimed_elsewhere", "unknown"]
    message: str
    attempts: int = 0
    message_ts: str | None = None


def from_config(config: DigestConfig) -> Subscription:
    """A [[digests]] table of app.toml as a subscription."""
    filters = {k: v for k, v in (("owner", config.owner), ("team", config.team)) if v}
    if config.summary:
        filters["summary"] = True
    return Subscription(config.name, config.channel, config.cron, config.timezone, tuple(config.sections), filters)


Audience = Callable[[str], Awaitable[Readers]]


class DigestService:
    """Runs digests: on schedule (`run_due`), on demand (`run_now`) and as a dry run (`preview`).

    `configured` are the [[digests]] of app.toml: commands that only read (preview, list) find them
    even before a bot process has loaded them into the database, without writing it. `audience`
    answers, for a channel, what every one of its members may see (asked at every run).
    """

    def __init__(self, store: SqlDigests, sections: SectionBuilder, *, settings: SchedulerSection,
                 groups: Mapping[str, Sequence[str]], clock: Callable[[], datetime], instance: str,
                 publisher: Publisher | None = None, summarizer: Summarizer | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 configured: Sequence[DigestConfig] = (), audience: Audience | None = None,
                 owner_ids: OwnerIds | None = None, letters: SqlDeadLetters | None = None) -> None:
        self._letters = letters  # the dead-letter list: a digest that could not be posted is kept there
        self.store, self._sections, self._settings, self._groups = store, sections, settings, groups
        self._audience, self._owner_ids = audience, owner_ids
        self._clock, self._instance, self.publisher, self._summarizer, self._sleep = (
            clock, instance, publisher, summarizer, sleep)
        self._configured = {c.name: from_config(c) for c in configured}

    def now(self) -> datetime:
        return self._clock()

    def sync_config(self) -> None:
        """Load the [[digests]] of app.toml into the database (at start; other replicas do the same)."""
        self.store.sync_config(list(self._configured.values()), now=self._clock())

    def subscription(self, name: str) -> Subscription | None:
        """A digest by name: from the database, else from app.toml."""
        return self.store.get(name) or self._configured.get(name)

    def subscriptions(self) -> list[Subscription]:
        """Every digest: the database's, and those of app.toml not loaded into it yet."""
        stored = self.store.subscriptions()
        known = {s.name for s in stored}
        return sorted([*stored, *(s for n, s in self._configured.items() if n not in known)], key=lambda s: s.name)

    # -- scheduled runs -----------------------------------------------------------------------

    async def run_due(self) -> list[RunOutcome]:
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

    async def _run_if_due(self, sub: Subscription, now: datetime) -> RunOutcome | None:
        cutoff = now - timedelta(minutes=self._settings.lease_minutes)
        last = await asyncio.to_thread(self.store.last_run, sub.name)
        after = last.scheduled_for if last else (sub.created_at or now)
        due = schedule.due(sub.cron, sub.timezone, after=after, now=now)
        if due is None:
            # The newest slot may be claimed by a process that died before posting: after the
            # lease, one survivor takes it over (a conditional update) and posts it late.
            if (last is not None and last.status == RunStatus.CLAIMED and last.claimed_at < cutoff
                    and await asyncio.to_thread(self.store.take_over, last.id, by=self._instance,
                                                claimed_before=cutoff, now=now)):
                log.warning("digest %s: taking over the slot %s left claimed by %s", sub.name, last.scheduled_for,
                            last.claimed_by)
                return await self._post(sub, replace(last, claimed_by=self._instance, catching_up=True),
                                        missed=0, now=now)
            return None
        # A newer slot is due: older claims left open past the lease are closed as failed, and this
        # run covers their period too.
        abandoned = await asyncio.to_thread(self.store.abandon, sub.name, claimed_before=cutoff, now=now)
        late = now - due.slot > timedelta(minutes=self._settings.late_minutes)
        missed = due.count - 1 + abandoned
        run = await asyncio.to_thread(self.store.claim, sub.name, due.slot, by=self._instance,
                                      catching_up=missed > 0 or late, now=now)
        if run is None:
            return RunOutcome(sub.name, due.slot, "claimed_elsewhere", "another process has this slot")
        return await self._post(sub, run, missed=missed, now=now)

    # -- on demand ----------------------------------------------------------------------------

    async def run_now(self, name: str) -> RunOutcome:
        """Post a digest now, outside its schedule (its own slot: the current second)."""
        sub = await asyncio.to_thread(self.subscription, name)
        if sub is None:
            return RunOutcome(name, None, "unknown", f'no digest named "{name}"')
        now = self._clock()
        slot = now.astimezone(timezone.utc).replace(microsecond=0)
        # Marked manual: it is not a slot of the schedule, so the next scheduled slot still posts.
        run = await asyncio.to_thread(self.store.claim, name, slot, by=self._instance, manual=True, now=now)
        if run is None:
            return RunOutcome(name, slot, "claimed_elsewhere", "a run for this very second exists; try again")
        return await self._post(sub, run, missed=0, now=now)

    async def preview(self, name: str) -> Digest | None:
        """The digest as it would be posted now; nothing is claimed or posted."""
        sub = await asyncio.to_thread(self.subscription, name)
        if sub is None:
            return None
        now = self._clock()
        readers, scope = await self.readers(sub), await self.filter_scope(sub)
        return await self._with_summary(sub, await asyncio.to_thread(self.build, sub, now, now, readers=readers,
                                                                      scope=scope))

    async def readers(self, sub: Subscription) -> Readers | None:
        """What every member of the digest's channel may see now (None: no audience to ask)."""
        return None if self._audience is None else await self._audience(sub.channel)

    def build(self, sub: Subscription, slot: datetime, now: datetime, *, missed: int = 0,
              catching_up: bool = False, readers: Readers | None = None, scope: Scope | None = None) -> Digest:
        """The digest for a slot: its non-empty sections, computed from the CRM as it is now, over
        the period since the last digest, from the records `readers` may see (all for None)."""
        since = self._since(sub, slot)
        crm = None if readers is None else ScopedCrm(self._sections.crm, readers)
        sections = self._sections.build_all(sub.sections, scope=scope or self.scope(sub), since=since, now=now, crm=crm,
                                            channel=sub.channel)
        return Digest(sub.name, sub.channel, slot, since, sections, missed, catching_up)

    def scope(self, sub: Subscription) -> Scope:
        """The digest's own owner filter, its Slack users taken as CRM owner ids (without an audience
        to map them: the terminal); `filter_scope` maps them by e-mail."""
        users = self._filter_users(sub)
        return Scope() if users is None else Scope(tuple(users))

    async def filter_scope(self, sub: Subscription) -> Scope:
        """The digest's `owner` / `team` filter as CRM owner ids: Slack users mapped by e-mail."""
        users = self._filter_users(sub)
        if users is None:
            return Scope()
        if self._owner_ids is None:
            return Scope(tuple(users))
        return Scope(tuple(sorted(await self._owner_ids(users))))

    def _filter_users(self, sub: Subscription) -> list[str] | None:
        owner, team = sub.filters.get("owner"), sub.filters.get("team")
        if owner:
            return [str(owner)]
        if team:
            return list(self._groups.get(str(team), ()))
        return None

    # -- posting ------------------------------------------------------------------------------

    def _since(self, sub: Subscription, slot: datetime) -> datetime:
        """Start of "since the last run": the last posted slot, else the schedule's previous slot."""
        posted = self.store.last_posted(sub.name)
        if posted is not None and posted.scheduled_for != slot:
            return posted.scheduled_for  # a digest posted on demand after the slot counts too
        previous = schedule.previous_slot(sub.cron, sub.timezone, before=slot)
        return previous or slot - timedelta(days=1)

    async def _post(self, sub: Subscription, run: RunView, *, missed: int, now: datetime) -> RunOutcome:
        slot = run.scheduled_for
        try:
            readers, scope = await self.readers(sub), await self.filter_scope(sub)
            digest = await asyncio.to_thread(self.build, sub, slot, now, missed=missed, catching_up=run.catching_up,
                                             readers=readers, scope=scope)
            digest = await self._with_summary(sub, digest)
        except Exception as exc:  # noqa: BLE001 - recorded, not lost
            log.exception("digest %s: building the slot %s failed", sub.name, slot)
            return await self._finish(run, RunStatus.FAILED, 0,
                                      f"could not build the digest ({type(exc).__name__}: {exc})")
        if self.publisher is None:
            return await self._finish(run, RunStatus.FAILED, 0, "no Slack connection in this process")
        attempts = 0
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._settings.post_attempts), reraise=True, sleep=self._sleep,
            wait=wait_exponential(multiplier=self._settings.retry_seconds, exp_base=2),  # retry_seconds, then doubling
            retry=retry_if_exception(lambda exc: isinstance(exc, PublishError) and exc.transient),
            before_sleep=lambda state: log.warning(
                "digest %s: posting failed (%s); trying again in %.1f s", sub.name,
                state.outcome.exception() if state.outcome else "?", state.upcoming_sleep))
        try:
            async for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    ts, problem = await self.publisher.publish(digest)
        except PublishError as exc:
            log.error("digest %s: posting slot %s failed after %d tries: %s", sub.name, slot, attempts, exc)
            return await self._finish(run, RunStatus.FAILED, attempts, str(exc))
        return await self._finish(run, RunStatus.POSTED, attempts, problem, ts)

    async def _with_summary(self, sub: Subscription, digest: Digest) -> Digest:
        if not sub.filters.get("summary") or self._summarizer is None or digest.empty:
            return digest
        try:
            text = await self._summarizer.summarize(digest)
        except Exception:  # noqa: BLE001 - the digest goes out without its summary
            log.exception("digest %s: the summary failed; posting without it", digest.name)
            return digest
        return replace(digest, summary=text)

    def _keep(self, run: RunView, error: str) -> None:
        assert self._letters is not None
        try:
            self._letters.record("digest", f"{run.digest_name}@{run.scheduled_for.isoformat()}", reason=error,
                                 payload={"digest": run.digest_name, "slot": run.scheduled_for.isoformat()},
                                 now=self._clock())
        except Exception:  # noqa: BLE001 - the run itself records the failure
            log.exception("digest %s: could not be kept on the dead-letter list", run.digest_name)

    async def _finish(self, run: RunView, status: RunStatus, attempts: int, error: str | None,
                      message_ts: str | None = None) -> RunOutcome:
        held = await asyncio.to_thread(self.store.finish, run.id, by=self._instance, status=status, attempts=attempts,
                                       error=error, message_ts=message_ts, now=self._clock())
        if not held:  # this process outlived its lease and another took the run over
            log.warning("digest %s: the run for %s was taken over by another process while this one posted it",
                        run.digest_name, run.scheduled_for)
        if status == RunStatus.FAILED and self._letters is not None and held:
            await asyncio.to_thread(self._keep, run, error or "failed")
        message = "posted" if status == RunStatus.POSTED else f"failed: {error}"
        if status == RunStatus.POSTED and error:
            message += f" ({error})"
        return RunOutcome(run.digest_name, run.scheduled_for, status, message, attempts, message_ts)
