"""Digest subscriptions and runs. A run is claimed by inserting (digest, slot) under a unique key:
whichever process inserts first posts that slot; every other one finds it claimed and skips."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.records import RunStatus, RunView, Subscription
from bot.store.tables import DigestRun, DigestSubscription, utcnow


class DuplicateName(Exception):
    """A subscription with this name exists."""


def _subscription(row: DigestSubscription) -> Subscription:
    return Subscription(row.name, row.channel, row.cron, row.timezone, tuple(row.sections), dict(row.filters or {}),
                        row.source, row.created_by, row.enabled, row.created_at)


def _run(row: DigestRun) -> RunView:
    return RunView(row.id or 0, row.digest_name, row.scheduled_for, RunStatus(row.status), row.catching_up,
                   row.claimed_by, row.claimed_at, row.finished_at, row.attempts, row.error, row.message_ts, row.manual)


class SqlDigests:
    """The digest_subscription and digest_run tables."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # -- subscriptions ------------------------------------------------------------------------

    def sync_config(self, subscriptions: Sequence[Subscription], *, now: datetime | None = None) -> None:
        """Make the config-sourced rows match app.toml: add, change, and remove what was deleted there.
        A new row's created_at is now, so a schedule never posts slots from before it existed."""
        try:
            self._sync(subscriptions, now or utcnow())
        except IntegrityError:  # another replica starting at the same moment inserted them first
            self._sync(subscriptions, now or utcnow())

    def _sync(self, subscriptions: Sequence[Subscription], now: datetime) -> None:
        wanted = {s.name: s for s in subscriptions}
        with Session(self._engine) as session, session.begin():
            rows = {r.name: r for r in session.scalars(select(DigestSubscription))}
            for name, row in rows.items():
                if row.source == "config" and name not in wanted:
                    session.delete(row)
            for name, sub in wanted.items():
                row = rows.get(name)
                if row is None:
                    session.add(DigestSubscription(name=name, channel=sub.channel, cron=sub.cron, timezone=sub.timezone,
                                                   sections=list(sub.sections), filters=dict(sub.filters),
                                                   source="config", created_at=now, updated_at=now))
                elif (row.source, row.channel, row.cron, row.timezone, list(row.sections), dict(row.filters or {}),
                      row.enabled) != ("config", sub.channel, sub.cron, sub.timezone, list(sub.sections),
                                       dict(sub.filters), True):
                    row.source, row.channel, row.cron, row.timezone = "config", sub.channel, sub.cron, sub.timezone
                    row.sections, row.filters, row.enabled, row.updated_at = list(sub.sections), dict(sub.filters), True, now

    def subscribe(self, sub: Subscription, *, now: datetime | None = None) -> Subscription:
        """Add a subscription made in Slack; raises DuplicateName."""
        now = now or utcnow()
        row = DigestSubscription(name=sub.name, channel=sub.channel, cron=sub.cron, timezone=sub.timezone,
                                 sections=list(sub.sections), filters=dict(sub.filters), source="slack",
                                 created_by=sub.created_by, created_at=now, updated_at=now)
        try:
            with Session(self._engine, expire_on_commit=False) as session, session.begin():
                session.add(row)
        except IntegrityError:
            raise DuplicateName(sub.name) from None
        return _subscription(row)

    def unsubscribe(self, name: str) -> bool:
        """Remove a subscription made in Slack; False when there is none by that name."""
        with self._engine.begin() as conn:
            gone = conn.execute(delete(DigestSubscription).where(
                DigestSubscription.name == name, DigestSubscription.source == "slack"))  # type: ignore[arg-type]
            return bool(gone.rowcount)

    def get(self, name: str) -> Subscription | None:
        """A subscription by name, or None."""
        with Session(self._engine) as session:
            row = session.scalars(select(DigestSubscription).where(DigestSubscription.name == name)).first()
            return _subscription(row) if row else None

    def subscriptions(self, *, enabled_only: bool = False) -> list[Subscription]:
        """Subscriptions by name, optionally only the enabled ones."""
        query = select(DigestSubscription).order_by(DigestSubscription.name)
        if enabled_only:
            query = query.where(DigestSubscription.enabled.is_(True))  # type: ignore[attr-defined]
        with Session(self._engine) as session:
            return [_subscription(r) for r in session.scalars(query)]

    # -- runs ---------------------------------------------------------------------------------

    def claim(self, name: str, slot: datetime, *, by: str, catching_up: bool = False, manual: bool = False,
              now: datetime | None = None) -> RunView | None:
        """Claim one slot of a digest; None when another process (or an earlier run) has it."""
        row = DigestRun(digest_name=name, scheduled_for=slot, status=RunStatus.CLAIMED, catching_up=catching_up,
                        manual=manual, claimed_by=by, claimed_at=now or utcnow())
        try:
            with Session(self._engine) as session, session.begin():
                session.add(row)
                session.flush()
                return _run(row)
        except IntegrityError:
            return None

    def take_over(self, run_id: int, *, by: str, claimed_before: datetime, now: datetime | None = None) -> bool:
        """Take a claim whose process died (still `claimed` since before the lease); one winner.
        The run is marked as catching up: it posts late."""
        with self._engine.begin() as conn:
            result = conn.execute(update(DigestRun).where(
                DigestRun.id == run_id, DigestRun.status == RunStatus.CLAIMED,  # type: ignore[arg-type]
                DigestRun.claimed_at < claimed_before,  # type: ignore[arg-type]
            ).values(claimed_by=by, claimed_at=now or utcnow(), catching_up=True))
            return result.rowcount == 1

    def abandon(self, name: str, *, claimed_before: datetime, now: datetime | None = None) -> int:
        """Record as failed every claim of a digest still open since before the lease (its process
        stopped before posting); returns how many. A newer slot's run covers their period."""
        with self._engine.begin() as conn:
            result = conn.execute(update(DigestRun).where(
                DigestRun.digest_name == name, DigestRun.status == RunStatus.CLAIMED,  # type: ignore[arg-type]
                DigestRun.claimed_at < claimed_before,  # type: ignore[arg-type]
            ).values(status=RunStatus.FAILED, finished_at=now or utcnow(),
                     error="abandoned: the process that claimed it stopped before posting; "
                           "the next run covers its period"))
            return int(result.rowcount or 0)

    def finish(self, run_id: int, *, by: str, status: RunStatus, attempts: int, error: str | None = None,
               message_ts: str | None = None, now: datetime | None = None) -> bool:
        """Record the outcome of a run this process holds; False when another process took it over."""
        with self._engine.begin() as conn:
            result = conn.execute(update(DigestRun).where(
                DigestRun.id == run_id, DigestRun.claimed_by == by,  # type: ignore[arg-type]
            ).values(status=status, attempts=attempts, error=error, message_ts=message_ts,
                     finished_at=now or utcnow()))
            return result.rowcount == 1

    def last_run(self, name: str) -> RunView | None:
        """The run of the newest scheduled slot of a digest, whatever became of it (runs posted on
        demand are not slots of the schedule)."""
        return self._newest(name, statuses=None, scheduled_only=True)

    def last_posted(self, name: str) -> RunView | None:
        """The newest posted run, scheduled or on demand: where "since the last digest" starts."""
        return self._newest(name, statuses=(RunStatus.POSTED,), scheduled_only=False)

    def runs(self, name: str, *, limit: int = 10) -> list[RunView]:
        """The newest runs of a digest, newest first."""
        with Session(self._engine) as session:
            rows = session.scalars(select(DigestRun).where(DigestRun.digest_name == name)
                                .order_by(DigestRun.scheduled_for.desc()).limit(limit))  # type: ignore[attr-defined]
            return [_run(r) for r in rows]

    def _newest(self, name: str, *, statuses: tuple[RunStatus, ...] | None, scheduled_only: bool) -> RunView | None:
        query = select(DigestRun).where(DigestRun.digest_name == name)
        if scheduled_only:
            query = query.where(DigestRun.manual.is_(False))  # type: ignore[attr-defined]
        if statuses:
            query = query.where(DigestRun.status.in_(statuses))  # type: ignore[attr-defined]
        with Session(self._engine) as session:
            row = session.scalars(query.order_by(DigestRun.scheduled_for.desc()).limit(1)).first()  # type: ignore[attr-defined]
            return _run(row) if row else None
