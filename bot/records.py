"""The records every layer passes around: proposals, digest subscriptions, digests and their runs.

A leaf module: plain frozen dataclasses, status enums and the one error of proposing, importing
only the standard library, so the store, the services, the agent and the Slack layer can all name
the same types. Statuses are `StrEnum`s: they compare equal to, and are stored as, the plain strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal


class PlanError(Exception):
    """A write cannot be proposed (unknown tool, invalid arguments, missing record...); the message
    says why, for the model or the person who asked."""


class ProposalStatus(StrEnum):
    """Where a proposal stands. Pending and executing are open; every other status is final,
    except a failed proposal whose failure was transient, which may be approved again."""

    PENDING = "pending"
    EXECUTING = "executing"
    EXECUTED = "executed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    STALE = "stale"
    FAILED = "failed"
    SUPERSEDED = "superseded"


class RunStatus(StrEnum):
    """Where one claimed slot of a digest stands."""

    CLAIMED = "claimed"
    POSTED = "posted"
    FAILED = "failed"


@dataclass(frozen=True)
class ProposalView:
    """A proposal as stored: a write waiting for (or past) a person's decision."""

    id: str
    conversation_id: str | None
    tool: str
    args: dict[str, Any]
    payload_hash: str
    summary: str
    diff: list[dict[str, Any]]
    risk: str
    requester: str
    record_kind: str | None
    record_id: int | None
    record_version: int | None
    status: ProposalStatus
    created_at: datetime
    expires_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    result: dict[str, Any] | None
    error: str | None
    supersedes_id: str | None
    channel: str | None
    message_ts: str | None
    # The fields the write depends on, as planned (field -> value): it is stale only if one of them
    # changed. None for creates, e-mails and proposals stored before field-level checks.
    basis: dict[str, Any] | None = None
    thread_ts: str | None = None  # the thread its card is in: where its requester hears the outcome
    reverts_id: str | None = None  # the executed proposal this one undoes
    told: str | None = None  # the final status its requester has been told of
    group_ts: str | None = None  # the "Approve all" message that covers it


# -- digests ------------------------------------------------------------------------------------

ActionKind = Literal["follow_up", "snooze"]
ACTION_KINDS: tuple[ActionKind, ...] = ("follow_up", "snooze")


@dataclass(frozen=True)
class Subscription:
    """A digest schedule, from app.toml (`source="config"`) or made in Slack (`source="slack"`)."""

    name: str
    channel: str
    cron: str
    timezone: str
    sections: tuple[str, ...]
    filters: dict[str, Any] = field(default_factory=dict)  # owner, team, summary
    source: str = "config"
    created_by: str | None = None
    enabled: bool = True
    created_at: datetime | None = None


@dataclass(frozen=True)
class Line:
    """One entry of a section; `record` ("deal", 12) lets the renderer link it and attach actions."""

    text: str
    record: tuple[str, int] | None = None
    actions: tuple[ActionKind, ...] = ()
    owner: str | None = None  # the record owner's name, as people know them


@dataclass(frozen=True)
class Section:
    """A part of a digest. `total` counts every matching entry, which may be more than `lines`."""

    key: str
    title: str
    lines: tuple[Line, ...]
    total: int
    note: str = ""  # a one-line summary under the title, e.g. value by stage


@dataclass(frozen=True)
class Digest:
    """What is posted for one slot of a subscription: plain data, built from the CRM."""

    name: str
    channel: str
    slot: datetime  # the scheduled time this digest is for (UTC)
    since: datetime  # start of the period "since the last run"
    sections: tuple[Section, ...]  # only the non-empty ones
    missed: int = 0  # slots coalesced into this run (catching up after downtime)
    catching_up: bool = False
    summary: str | None = None  # the model-written summary, when asked for and available

    @property
    def empty(self) -> bool:
        return not self.sections


@dataclass(frozen=True)
class RunView:
    """One claimed slot of a digest and what became of it."""

    id: int
    digest_name: str
    scheduled_for: datetime
    status: RunStatus
    catching_up: bool
    claimed_by: str | None
    claimed_at: datetime
    finished_at: datetime | None
    attempts: int
    error: str | None
    message_ts: str | None
    manual: bool = False  # posted on demand (`run now`), not a slot of the schedule
