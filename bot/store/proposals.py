"""Proposals in the database. Every state change is one conditional UPDATE whose row count says
whether this caller won; that, not a read-then-write, is what makes approval exactly-once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update
from sqlmodel import Session

from bot.records import ProposalStatus, ProposalView
from bot.store.tables import Proposal

_COLUMNS = [f.name for f in fields(ProposalView)]


def _view(row: Proposal) -> ProposalView:
    values = {name: getattr(row, name) for name in _COLUMNS}
    return ProposalView(**{**values, "status": ProposalStatus(values["status"])})


class SqlProposals:
    """Storage of proposals; state changes are conditional and report whether they applied."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def insert(self, proposal: ProposalView) -> None:
        with Session(self._engine) as session, session.begin():
            session.add(Proposal(**{name: getattr(proposal, name) for name in _COLUMNS}))

    def get(self, proposal_id: str) -> ProposalView | None:
        with Session(self._engine) as session:
            row = session.get(Proposal, proposal_id)
            return _view(row) if row is not None else None

    def transition(self, proposal_id: str, *, from_statuses: Sequence[ProposalStatus], to: ProposalStatus,
                   not_expired_at: datetime | None = None, **values: Any) -> bool:
        """Move the proposal to `to` only if it is in one of from_statuses (and, when given, has not
        expired at that time). True if this call made the change."""
        statement = (
            update(Proposal)
            .where(Proposal.id == proposal_id, Proposal.status.in_(tuple(from_statuses)))  # type: ignore[attr-defined]
            .values(status=to, **values)
        )
        if not_expired_at is not None:
            statement = statement.where(Proposal.expires_at > not_expired_at)
        with Session(self._engine) as session, session.begin():
            return session.execute(statement).rowcount == 1  # type: ignore[attr-defined]

    def set_message(self, proposal_id: str, *, channel: str, message_ts: str, thread_ts: str | None = None) -> None:
        """Where the proposal's card was posted (so it can be updated in place), and in which thread."""
        with Session(self._engine) as session, session.begin():
            session.execute(update(Proposal).where(Proposal.id == proposal_id)
                            .values(channel=channel, message_ts=message_ts, thread_ts=thread_ts))

    def set_group(self, proposal_ids: Sequence[str], *, group_ts: str) -> None:
        """The "Approve all" message that covers these proposals."""
        with Session(self._engine) as session, session.begin():
            session.execute(update(Proposal).where(Proposal.id.in_(tuple(proposal_ids)))  # type: ignore[attr-defined]
                            .values(group_ts=group_ts))

    def mark_told(self, proposal_id: str, status: ProposalStatus) -> bool:
        """Claim telling the requester of this final status: True for exactly one caller (every
        replica redraws cards; only one tells)."""
        statement = (update(Proposal)
                     .where(Proposal.id == proposal_id, Proposal.status == status,
                            (Proposal.told.is_(None)) | (Proposal.told != status))  # type: ignore[union-attr]
                     .values(told=status))
        with Session(self._engine) as session, session.begin():
            return session.execute(statement).rowcount == 1  # type: ignore[attr-defined]

    def related(self, *, group_ts: str | None = None, reverts_id: str | None = None,
                conversation_ids: Sequence[str] = (), supersedes_id: str | None = None) -> list[ProposalView]:
        """Proposals in any status: of one "Approve all" message, reverting one proposal, replacing
        one proposal, or of some conversations; oldest first."""
        query = select(Proposal)
        if group_ts is not None:
            query = query.where(Proposal.group_ts == group_ts)
        if reverts_id is not None:
            query = query.where(Proposal.reverts_id == reverts_id)
        if supersedes_id is not None:
            query = query.where(Proposal.supersedes_id == supersedes_id)
        if conversation_ids:
            query = query.where(Proposal.conversation_id.in_(tuple(conversation_ids)))  # type: ignore[union-attr]
        if group_ts is None and reverts_id is None and supersedes_id is None and not conversation_ids:
            return []
        with Session(self._engine) as session:
            rows = session.scalars(query.order_by(Proposal.created_at, Proposal.id).limit(500)).all()
            return [_view(r) for r in rows]

    def list(self, *, statuses: Sequence[ProposalStatus] = (ProposalStatus.PENDING,), requester: str | None = None,
             conversation_id: str | None = None, expired_before: datetime | None = None,
             decided_between: tuple[datetime, datetime] | None = None, limit: int = 100) -> list[ProposalView]:
        query = select(Proposal).where(Proposal.status.in_(tuple(statuses)))  # type: ignore[attr-defined]
        if decided_between is not None:  # (after, up to and including)
            query = query.where(Proposal.decided_at > decided_between[0],  # type: ignore[operator]
                                Proposal.decided_at <= decided_between[1])  # type: ignore[operator]
        if requester is not None:
            query = query.where(Proposal.requester == requester)
        if conversation_id is not None:
            query = query.where(Proposal.conversation_id == conversation_id)
        if expired_before is not None:
            query = query.where(Proposal.expires_at <= expired_before)
        with Session(self._engine) as session:
            rows = session.scalars(query.order_by(Proposal.created_at, Proposal.id).limit(limit)).all()
            return [_view(r) for r in rows]
