"""Conversations and their masked turns: what the model saw, replayed for follow-ups."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from bot.store.engine import is_sqlite
from bot.store.tables import Conversation, Turn, utcnow


@dataclass(frozen=True)
class StoredTurn:
    role: str
    content: str
    tokens: int


class SqlHistory:
    """Masked history per conversation (a Slack thread or a terminal session id).

    Core statements built once with bound parameters: every turn runs them, and building and
    keying a statement again each time cost about as much as executing it on SQLite.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        dialect_insert = sqlite.insert if is_sqlite(engine) else postgresql.insert
        # RETURNING says whether the row was inserted: a conflict returns nothing (rowcount is not
        # reliable across drivers here: psycopg reports -1).
        self._create = (dialect_insert(Conversation).on_conflict_do_nothing(index_elements=["id"])
                        .returning(Conversation.id))  # type: ignore[arg-type]
        self._recent = (select(Turn.role, Turn.content, Turn.tokens)
                        .where(Turn.conversation_id == bindparam("cid"))
                        .order_by(Turn.seq.desc())
                        .limit(200))
        self._last = select(func.max(Turn.seq)).where(Turn.conversation_id == bindparam("cid"))
        self._add = insert(Turn)
        self._touch = (update(Conversation).where(Conversation.id == bindparam("cid"))  # type: ignore[arg-type]
                       .values(updated_at=bindparam("now")))

    def ensure(self, conversation_id: str, *, channel: str | None = None, thread_ts: str | None = None,
               started_by: str | None = None) -> bool:
        """Create the conversation unless it exists; one statement, so replicas racing on it both
        succeed. True when this call created it (so it has no turns yet)."""
        now = utcnow()
        with self._engine.begin() as conn:
            created = conn.execute(self._create, {
                "id": conversation_id, "channel": channel, "thread_ts": thread_ts, "started_by": started_by,
                "created_at": now, "updated_at": now,
            }).first()
        return created is not None

    def recent(self, conversation_id: str, *, token_budget: int) -> list[StoredTurn]:
        """The newest turns whose tokens fit the budget, oldest first."""
        picked: list[StoredTurn] = []
        used = 0
        with self._engine.connect() as conn:
            rows = conn.execute(self._recent, {"cid": conversation_id}).all()
        for role, content, tokens in rows:
            if used + tokens > token_budget:
                break
            used += tokens
            picked.append(StoredTurn(role, content, tokens))
        # A replay must not start with an assistant reply whose question was cut off.
        while picked and picked[-1].role != "user":
            picked.pop()
        return picked[::-1]

    def append(self, conversation_id: str, turns: Sequence[StoredTurn]) -> None:
        """Add turns after the last one; a concurrent writer makes us retry with the next numbers."""
        for _ in range(5):
            try:
                with self._engine.begin() as conn:  # Core: the ORM's unit of work costs more than the SQL
                    last = conn.scalar(self._last, {"cid": conversation_id})
                    start = (last or 0) + 1
                    conn.execute(self._add, [
                        {"conversation_id": conversation_id, "seq": start + i, "role": t.role, "content": t.content,
                         "tokens": t.tokens}
                        for i, t in enumerate(turns)
                    ])
                    conn.execute(self._touch, {"cid": conversation_id, "now": utcnow()})
                return
            except IntegrityError:
                continue
        raise RuntimeError(f"could not append to conversation {conversation_id}: too many concurrent writers")
