"""The bot's own tables. Timestamps are aware UTC datetimes, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from bot.records import ProposalStatus, RunStatus


def utcnow() -> datetime:
    """Current time as an aware UTC datetime, the form every timestamp column takes."""
    return datetime.now(timezone.utc)


class Conversation(SQLModel, table=True):
    """A Slack thread or a terminal session: the unit of history and of the placeholder vault."""

    __tablename__ = "conversation"

    id: str = Field(primary_key=True, max_length=200)
    channel: str | None = Field(default=None, max_length=64)
    thread_ts: str | None = Field(default=None, max_length=32)
    started_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Turn(SQLModel, table=True):
    """One message of a conversation as the model saw it (masked)."""

    __tablename__ = "turn"
    __table_args__ = (UniqueConstraint("conversation_id", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(foreign_key="conversation.id", max_length=200, index=True)
    seq: int
    role: str = Field(max_length=16)
    content: str = Field(sa_type=Text)
    name: str | None = Field(default=None, max_length=64)
    tool_call_id: str | None = Field(default=None, max_length=64)
    tokens: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class Proposal(SQLModel, table=True):
    """A write the agent wants; executes only after an authorised approval, at most once."""

    __tablename__ = "proposal"
    __table_args__ = (Index("ix_proposal_status_expires", "status", "expires_at"),)

    id: str = Field(primary_key=True, max_length=32)
    conversation_id: str | None = Field(
        default=None, foreign_key="conversation.id", max_length=200, index=True
    )
    tool: str = Field(max_length=64)
    args: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    payload_hash: str = Field(max_length=64)
    summary: str = Field(sa_type=Text)
    diff: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    risk: str = Field(max_length=8)
    requester: str = Field(max_length=64, index=True)
    record_kind: str | None = Field(default=None, max_length=16)
    record_id: int | None = None
    record_version: int | None = None
    status: str = Field(default=ProposalStatus.PENDING, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = None
    reason: str | None = Field(default=None, sa_type=Text)
    result: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    error: str | None = Field(default=None, sa_type=Text)
    supersedes_id: str | None = Field(default=None, foreign_key="proposal.id", max_length=32)
    channel: str | None = Field(default=None, max_length=64)
    message_ts: str | None = Field(default=None, max_length=32)
    basis: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    thread_ts: str | None = Field(default=None, max_length=32)
    reverts_id: str | None = Field(default=None, foreign_key="proposal.id", max_length=32, index=True)
    told: str | None = Field(default=None, max_length=16)
    group_ts: str | None = Field(default=None, max_length=32)


class AuditEvent(SQLModel, table=True):
    """Append-only trail: model calls, tool calls and proposal transitions, PII masked."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    kind: str = Field(max_length=32)
    actor: str | None = Field(default=None, max_length=64)
    conversation_id: str | None = Field(default=None, max_length=200, index=True)
    proposal_id: str | None = Field(default=None, max_length=32, index=True)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    payload_hash: str | None = Field(default=None, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class SlackRequest(SQLModel, table=True):
    """A request a person made in Slack (a message or a /crm command) and what became of it.

    The unique key (channel and message ts, or the command's trigger) is what makes a redelivered
    event, or the app_mention and message events Slack sends for one message, run the agent once.
    """

    __tablename__ = "slack_request"
    __table_args__ = (Index("ix_slack_request_user_received", "user", "received_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=128, unique=True)
    event_id: str | None = Field(default=None, max_length=128)
    kind: str = Field(max_length=16)
    user: str = Field(max_length=64)
    channel: str = Field(max_length=64)
    thread_ts: str | None = Field(default=None, max_length=32)
    conversation_id: str | None = Field(default=None, max_length=200, index=True)
    summary: str = Field(default="", sa_type=Text)
    status: str = Field(default="running", max_length=16, index=True)
    proposals: int = 0
    error: str | None = Field(default=None, sa_type=Text)
    received_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    tools: str | None = Field(default=None, max_length=500)  # tools the answer used, comma-separated


class DigestSubscription(SQLModel, table=True):
    """A digest schedule, from app.toml ([[digests]]) or made in Slack."""

    __tablename__ = "digest_subscription"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    channel: str = Field(max_length=64)
    cron: str = Field(max_length=64)
    timezone: str = Field(max_length=64)
    sections: list[str] = Field(default_factory=list, sa_type=JSON)
    filters: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    source: str = Field(default="config", max_length=8)
    created_by: str | None = Field(default=None, max_length=64)
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DigestRun(SQLModel, table=True):
    """One claimed slot of a digest; the unique key makes each slot post once."""

    __tablename__ = "digest_run"
    __table_args__ = (UniqueConstraint("digest_name", "scheduled_for"),)

    id: int | None = Field(default=None, primary_key=True)
    digest_name: str = Field(max_length=64)
    scheduled_for: datetime
    status: str = Field(default=RunStatus.CLAIMED, max_length=16)
    catching_up: bool = False
    manual: bool = Field(default=False, sa_column_kwargs={"server_default": false()})  # posted on demand
    claimed_by: str | None = Field(default=None, max_length=128)
    claimed_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    attempts: int = 0
    error: str | None = Field(default=None, sa_type=Text)
    message_ts: str | None = Field(default=None, max_length=32)


class VaultRow(SQLModel, table=True):
    """A placeholder and the real value it stands for, within one conversation."""

    __tablename__ = "vault_entry"
    __table_args__ = (
        UniqueConstraint("conversation_id", "placeholder"),
        UniqueConstraint("conversation_id", "key_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(max_length=200)  # the unique keys above serve look-ups by conversation
    placeholder: str = Field(max_length=48)
    entity_type: str = Field(max_length=32)
    key_hash: str = Field(max_length=64)
    value: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow)


class LimitCounter(SQLModel, table=True):
    """A counter of the limits (requests in a window, tokens of a day), shared by every replica.

    `expires_at` is in seconds since the epoch, the unit the `limits` package works in; an expired
    row counts as absent and is replaced by the next increment.
    """

    __tablename__ = "limit_counter"

    key: str = Field(primary_key=True, max_length=200)
    value: int = Field(default=0, sa_type=BigInteger)
    expires_at: float = Field(index=True)


class AnswerFeedback(SQLModel, table=True):
    """A person's rating of one answer: one row per (request, person), so a double click counts once.

    The comment is masked like the audit log (it is read by operators, not by the model)."""

    __tablename__ = "answer_feedback"
    __table_args__ = (UniqueConstraint("request_key", "user"),)

    id: int | None = Field(default=None, primary_key=True)
    request_key: str = Field(max_length=200)
    conversation_id: str | None = Field(default=None, max_length=200)
    user: str = Field(max_length=64)
    rating: str = Field(max_length=8)  # up or down
    comment: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    updated_at: datetime = Field(default_factory=utcnow)


class DeadLetter(SQLModel, table=True):
    """Work accepted from Slack that could not be finished, with its reason and what redoes it.

    One row per piece of work (kind and ref unique: a request key, a proposal id, a digest run), so
    a second failure of the same work, or the same failure seen by two replicas, updates it. The
    payload holds references and masked text only, as the request and history tables do; real
    values stay in the conversation's placeholder vault.
    """

    __tablename__ = "dead_letter"
    __table_args__ = (UniqueConstraint("kind", "ref"), Index("ix_dead_letter_status_next", "status", "next_try_at"))

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # turn, answer, execution, digest
    ref: str = Field(max_length=128)
    status: str = Field(default="failed", max_length=16)  # queued, retrying, failed, done, dropped
    reason: str = Field(sa_type=Text)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    user: str | None = Field(default=None, max_length=64)
    channel: str | None = Field(default=None, max_length=64)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=128)
    next_try_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
