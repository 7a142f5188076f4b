"""Requests made in Slack: claimed once by their key (duplicates lose), then finished with an outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.store.tables import SlackRequest, utcnow


@dataclass(frozen=True)
class RequestView:
    key: str
    kind: str
    user: str
    channel: str
    thread_ts: str | None
    conversation_id: str | None
    summary: str
    status: str
    proposals: int
    error: str | None
    received_at: datetime
    finished_at: datetime | None


def _view(row: SlackRequest) -> RequestView:
    return RequestView(row.key, row.kind, row.user, row.channel, row.thread_ts, row.conversation_id, row.summary,
                       row.status, row.proposals, row.error, row.received_at, row.finished_at)


class SqlRequests:
    """The slack_request table. claim() is an INSERT under a unique key: whoever inserts first runs."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def claim(self, key: str, *, kind: str, user: str, channel: str, thread_ts: str | None = None,
              conversation_id: str | None = None, event_id: str | None = None, summary: str = "",
              now: datetime | None = None) -> bool:
        """Record a new request; False when one with this key exists (a duplicate delivery)."""
        row = SlackRequest(key=key, kind=kind, user=user, channel=channel, thread_ts=thread_ts,
                           conversation_id=conversation_id, event_id=event_id, summary=summary[:300],
                           received_at=now or utcnow())
        try:
            with Session(self._engine) as session, session.begin():
                session.add(row)
        except IntegrityError:
            return False
        return True

    def finish(self, key: str, *, status: str, proposals: int = 0, error: str | None = None,
               summary: str | None = None, tools: tuple[str, ...] = (), now: datetime | None = None) -> None:
        """Record how a request ended; tools are the names of the tools its answer used (for feedback)."""
        values: dict[str, object] = {"status": status, "proposals": proposals, "error": error,
                                     "finished_at": now or utcnow()}
        if summary is not None:
            values["summary"] = summary[:300]
        if tools:
            values["tools"] = ",".join(tools)[:500]
        with Session(self._engine) as session, session.begin():
            session.execute(update(SlackRequest).where(SlackRequest.key == key).values(**values))

    def describe(self, key: str, summary: str) -> None:
        """Record the (masked) question while the request still runs, so it is never shown empty."""
        with Session(self._engine) as session, session.begin():
            session.execute(update(SlackRequest).where(SlackRequest.key == key).values(summary=summary[:300]))

    def reopen(self, key: str) -> None:
        """A kept request runs again (a retry from the dead-letter list)."""
        with Session(self._engine) as session, session.begin():
            session.execute(update(SlackRequest).where(SlackRequest.key == key)
                            .values(status="running", error=None, finished_at=None))

    def recent(self, user: str, *, limit: int = 10) -> list[RequestView]:
        query = (select(SlackRequest).where(SlackRequest.user == user)
                 .order_by(SlackRequest.received_at.desc(), SlackRequest.id.desc()).limit(limit))  # type: ignore[attr-defined]
        with Session(self._engine) as session:
            return [_view(r) for r in session.scalars(query).all()]

    def fail_abandoned(self, *, started_before: datetime, now: datetime | None = None) -> int:
        """Mark requests still running since before the cut-off as failed (their process stopped)."""
        statement = (update(SlackRequest)
                     .where(SlackRequest.status == "running", SlackRequest.received_at < started_before)
                     .values(status="failed", error="interrupted: the bot stopped while working on it",
                             finished_at=now or utcnow()))
        with Session(self._engine) as session, session.begin():
            return session.execute(statement).rowcount  # type: ignore[attr-defined]

    def get(self, key: str) -> RequestView | None:
        with Session(self._engine) as session:
            row = session.scalars(select(SlackRequest).where(SlackRequest.key == key)).first()
            return _view(row) if row is not None else None

    def has_conversation(self, conversation_id: str) -> bool:
        with Session(self._engine) as session:
            found = session.scalars(select(SlackRequest.id).where(SlackRequest.conversation_id == conversation_id)
                                    .limit(1)).first()
            return found is not None
