"""The append-only audit trail: model calls, tool calls and proposal transitions, PII masked."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, or_, select
from sqlmodel import Session

from bot.store.tables import AuditEvent, Proposal, utcnow


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    kind: str
    actor: str | None
    conversation_id: str | None
    proposal_id: str | None
    from_status: str | None
    to_status: str | None
    payload_hash: str | None
    data: dict[str, Any]


class SqlAuditLog:
    """Writes audit events and reads a conversation's or a proposal's trail. Never updates."""

    def __init__(self, engine: Engine, *, on_recorded: Callable[[Sequence[Mapping[str, Any]]], None] | None = None
                 ) -> None:
        self._engine = engine
        self._add = insert(AuditEvent)  # built once: every model and tool call writes here
        # Told of every batch once it is stored (the log of decisions and the metrics read it).
        self._on_recorded = on_recorded

    def record(self, kind: str, **fields: Any) -> None:
        """Append one event (fields: actor, conversation_id, proposal_id, from_status, to_status,
        payload_hash, data); data must already be masked (it is what the model saw)."""
        self.record_many([{"kind": kind, **fields}])

    def record_many(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Append events in one transaction, all or none, stamped with the commit time; each maps
        field names (those of record()) to values; an unknown name is a TypeError."""
        now = utcnow()
        rows = [_row(now, **event) for event in events]
        if rows:
            # A Core executemany: the ORM's unit of work costs several times the INSERT itself.
            with self._engine.begin() as conn:
                conn.execute(self._add, rows)
            if self._on_recorded is not None:
                self._on_recorded(events)

    def trail(self, ref: str) -> list[AuditRecord]:
        """Every event of a conversation (with its proposals') or of one proposal, oldest first."""
        proposals = select(Proposal.id).where(Proposal.conversation_id == ref)
        with Session(self._engine) as session:
            rows = session.scalars(
                select(AuditEvent)
                .where(or_(AuditEvent.conversation_id == ref, AuditEvent.proposal_id == ref,
                           AuditEvent.proposal_id.in_(proposals)))  # type: ignore[union-attr]
                .order_by(AuditEvent.id)  # type: ignore[arg-type]
            ).all()
            return [
                AuditRecord(r.id or 0, r.at, r.kind, r.actor, r.conversation_id, r.proposal_id, r.from_status,
                            r.to_status, r.payload_hash, dict(r.data or {}))
                for r in rows
            ]


def _row(at: datetime, kind: str, *, actor: str | None = None, conversation_id: str | None = None,
         proposal_id: str | None = None, from_status: str | None = None, to_status: str | None = None,
         payload_hash: str | None = None, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    # Every row names every column, as one executemany needs; an unknown name is a TypeError here.
    return {"at": at, "kind": kind, "actor": actor, "conversation_id": conversation_id, "proposal_id": proposal_id,
            "from_status": from_status, "to_status": to_status, "payload_hash": payload_hash,
            "data": dict(data or {})}
