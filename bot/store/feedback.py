"""Ratings of answers: one per answer and person (a double click or a redelivered click counts
once), with an optional comment, and the report of them per tool and per week."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.store.tables import AnswerFeedback, SlackRequest, utcnow

Rated = Literal["new", "changed", "same"]
NO_TOOL = "(no tool)"


@dataclass(frozen=True)
class FeedbackRow:
    """One line of the report: a week, a tool the rated answers used, and their ratings."""

    week: str  # ISO week, 2026-W49
    tool: str
    up: int
    down: int


@dataclass(frozen=True)
class Rating:
    request_key: str
    conversation_id: str | None
    user: str
    rating: str
    comment: str | None
    created_at: datetime
    tools: tuple[str, ...]


class SqlFeedback:
    """The answer_feedback table; the unique (request, person) key makes a rating count once."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def rate(self, request_key: str, *, user: str, rating: str, conversation_id: str | None = None,
             now: datetime | None = None) -> Rated:
        """Record user's rating of the answer to request_key: "new", "changed" (they changed their
        mind) or "same" (a repeated click: nothing recorded)."""
        at = now or utcnow()
        try:
            with Session(self._engine) as session, session.begin():
                session.add(AnswerFeedback(request_key=request_key, conversation_id=conversation_id, user=user,
                                           rating=rating, created_at=at, updated_at=at))
            return "new"
        except IntegrityError:
            pass
        statement = (update(AnswerFeedback)
                     .where(AnswerFeedback.request_key == request_key, AnswerFeedback.user == user,
                            AnswerFeedback.rating != rating)
                     .values(rating=rating, updated_at=at))
        with Session(self._engine) as session, session.begin():
            changed = session.execute(statement).rowcount  # type: ignore[attr-defined]
        return "changed" if changed else "same"

    def comment(self, request_key: str, *, user: str, comment: str, now: datetime | None = None) -> bool:
        """Attach a (masked) comment to user's rating; False when they have not rated that answer."""
        statement = (update(AnswerFeedback)
                     .where(AnswerFeedback.request_key == request_key, AnswerFeedback.user == user)
                     .values(comment=comment[:1000], updated_at=now or utcnow()))
        with Session(self._engine) as session, session.begin():
            return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]

    def ratings(self, *, since: datetime | None = None) -> list[Rating]:
        """Every rating (oldest first) with the tools its answer used."""
        query = (select(AnswerFeedback, SlackRequest.tools)
                 .join(SlackRequest, SlackRequest.key == AnswerFeedback.request_key, isouter=True)
                 .order_by(AnswerFeedback.created_at, AnswerFeedback.id))  # type: ignore[arg-type]
        if since is not None:
            query = query.where(AnswerFeedback.created_at >= since)
        with Session(self._engine) as session:
            return [Rating(f.request_key, f.conversation_id, f.user, f.rating, f.comment, f.created_at,
                           tuple(t for t in (tools or "").split(",") if t))
                    for f, tools in session.execute(query).all()]

    def report(self, *, since: datetime | None = None) -> list[FeedbackRow]:
        """Ratings counted per ISO week and per tool (an answer that used two tools counts for both)."""
        counts: Counter[tuple[str, str, str]] = Counter()
        for r in self.ratings(since=since):
            year, week, _ = r.created_at.isocalendar()
            for tool in r.tools or (NO_TOOL,):
                counts[(f"{year}-W{week:02d}", tool, r.rating)] += 1
        keys = sorted({(week, tool) for week, tool, _ in counts})
        return [FeedbackRow(week, tool, counts[(week, tool, "up")], counts[(week, tool, "down")])
                for week, tool in keys]
