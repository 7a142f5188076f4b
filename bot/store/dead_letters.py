"""The dead-letter list: work accepted from Slack that could not be finished, until it is.

Guarantees: a piece of work is listed once (kind and ref unique; recording it again updates the
row); an item is retried by one process at a time (claimed with a conditional UPDATE, queued ->
retrying, as approvals are); nothing is deleted: dropping an item marks it dropped, so the list
keeps its history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.store.tables import DeadLetter, utcnow

Kind = Literal["turn", "answer", "execution", "digest"]
OPEN = ("queued", "retrying", "failed")  # what `failed list` shows and the App Home counts


@dataclass(frozen=True)
class Letter:
    id: int
    kind: str
    ref: str
    status: str
    reason: str
    payload: dict[str, Any]
    user: str | None
    channel: str | None
    attempts: int
    next_try_at: datetime | None
    created_at: datetime
    updated_at: datetime


def _view(row: DeadLetter) -> Letter:
    assert row.id is not None
    return Letter(row.id, row.kind, row.ref, row.status, row.reason, dict(row.payload or {}), row.user, row.channel,
                  row.attempts, row.next_try_at, row.created_at, row.updated_at)


class SqlDeadLetters:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, kind: Kind, ref: str, *, reason: str, payload: dict[str, Any], user: str | None = None,
               channel: str | None = None, retry_at: datetime | None = None, now: datetime | None = None) -> int:
        """Keep a failed piece of work: queued for retry at retry_at, else listed as failed. Returns its id."""
        now = now or utcnow()
        status = "queued" if retry_at is not None else "failed"
        values = {"status": status, "reason": reason[:2000], "payload": payload, "next_try_at": retry_at,
                  "updated_at": now, "claimed_by": None}
        try:
            with Session(self._engine) as session, session.begin():
                row = DeadLetter(kind=kind, ref=ref, user=user, channel=channel, created_at=now, **values)
                session.add(row)
                session.flush()
                assert row.id is not None
                return row.id
        except IntegrityError:
            pass  # recorded before (a retry failed again, or another replica saw it): update it
        with Session(self._engine) as session, session.begin():
            session.execute(update(DeadLetter).where(DeadLetter.kind == kind, DeadLetter.ref == ref)
                            .values(**values))
            found = session.scalars(select(DeadLetter.id).where(DeadLetter.kind == kind, DeadLetter.ref == ref)).one()
            return int(found)

    def get(self, letter_id: int) -> Letter | None:
        with Session(self._engine) as session:
            row = session.get(DeadLetter, letter_id)
            return _view(row) if row is not None else None

    def find(self, kind: Kind, ref: str) -> Letter | None:
        with Session(self._engine) as session:
            row = session.scalars(select(DeadLetter).where(DeadLetter.kind == kind, DeadLetter.ref == ref)).first()
            return _view(row) if row is not None else None

    def list(self, *, statuses: Sequence[str] = OPEN, limit: int = 100) -> list[Letter]:
        query = (select(DeadLetter).where(DeadLetter.status.in_(statuses))  # type: ignore[attr-defined]
                 .order_by(DeadLetter.created_at.desc(), DeadLetter.id.desc()).limit(limit))  # type: ignore[attr-defined, union-attr]
        with Session(self._engine) as session:
            return [_view(r) for r in session.scalars(query).all()]

    def count_open(self) -> int:
        with Session(self._engine) as session:
            return int(session.scalar(select(func.count()).select_from(DeadLetter)
                                      .where(DeadLetter.status.in_(OPEN))) or 0)  # type: ignore[attr-defined]

    def queue(self, letter_id: int, *, now: datetime | None = None) -> bool:
        """Ask for a retry as soon as a bot process gets to it (an operator's `retry`); False when
        it is not open or is being retried right now."""
        return self._move(letter_id, ("failed", "queued"), status="queued", next_try_at=now or utcnow(),
                          updated_at=now or utcnow())

    def drop(self, letter_id: int, *, now: datetime | None = None) -> bool:
        """Give up on it (it stays in the table, marked dropped)."""
        return self._move(letter_id, ("failed", "queued"), status="dropped", updated_at=now or utcnow())

    def claim_due(self, *, by: str, now: datetime | None = None, kinds: Sequence[str] = ("turn", "answer",
                                                                                         "execution", "digest"),
                  limit: int = 20) -> list[Letter]:
        """Queued items of these kinds whose time has come, each claimed by this process alone
        (attempts counted)."""
        now = now or utcnow()
        query = (select(DeadLetter.id).where(DeadLetter.status == "queued", DeadLetter.next_try_at <= now,  # type: ignore[operator]
                                             DeadLetter.kind.in_(kinds))  # type: ignore[attr-defined]
                 .order_by(DeadLetter.next_try_at).limit(limit))  # type: ignore[arg-type]
        with Session(self._engine) as session:
            ids = list(session.scalars(query).all())
        claimed = []
        for letter_id in ids:
            with Session(self._engine) as session, session.begin():
                won = session.execute(update(DeadLetter).where(DeadLetter.id == letter_id, DeadLetter.status == "queued")
                                      .values(status="retrying", claimed_by=by, updated_at=now,
                                              attempts=DeadLetter.attempts + 1)).rowcount  # type: ignore[attr-defined]
            if won:
                letter = self.get(letter_id)
                if letter is not None:
                    claimed.append(letter)
        return claimed

    def done(self, letter_id: int, *, now: datetime | None = None) -> None:
        self._move(letter_id, ("retrying", "queued", "failed"), status="done", updated_at=now or utcnow())

    def settle(self, kind: Kind, ref: str, *, now: datetime | None = None) -> None:
        """The work was finished another way (a Retry click, a later success): no longer open."""
        with Session(self._engine) as session, session.begin():
            session.execute(update(DeadLetter).where(DeadLetter.kind == kind, DeadLetter.ref == ref,
                                                     DeadLetter.status.in_(OPEN))  # type: ignore[attr-defined]
                            .values(status="done", updated_at=now or utcnow()))

    def requeue_stuck(self, *, claimed_before: datetime, now: datetime | None = None) -> int:
        """Items left retrying by a process that stopped: back in the queue."""
        with Session(self._engine) as session, session.begin():
            return session.execute(update(DeadLetter).where(DeadLetter.status == "retrying",
                                                            DeadLetter.updated_at < claimed_before)
                                   .values(status="queued", next_try_at=now or utcnow(),
                                           claimed_by=None)).rowcount  # type: ignore[attr-defined]

    def _move(self, letter_id: int, from_statuses: Sequence[str], **values: Any) -> bool:
        with Session(self._engine) as session, session.begin():
            return bool(session.execute(update(DeadLetter).where(DeadLetter.id == letter_id,
                                                                 DeadLetter.status.in_(from_statuses))  # type: ignore[attr-defined]
                                        .values(**values)).rowcount)  # type: ignore[attr-defined]


def backoff(attempts: int, base_seconds: float) -> timedelta:
    """Wait before automatic try number attempts+1: base, 2x, 4x ... capped at one hour."""
    return timedelta(seconds=min(base_seconds * 2 ** max(0, attempts - 1), 3_600))


class RetryPolicy(Protocol):
    """What decides automatic retries ([dead_letters] in app.toml)."""

    auto_retry: bool
    max_attempts: int
    retry_seconds: float


def next_try(policy: RetryPolicy, attempts: int, now: datetime) -> datetime | None:
    """When an item tried `attempts` times so far is tried again automatically; None: it is listed
    as failed for an operator (automatic retries off, or its tries used up)."""
    if not policy.auto_retry or attempts >= policy.max_attempts:
        return None
    return now + backoff(attempts + 1, policy.retry_seconds)
