"""What a digest is made of: plain data, built from the CRM and rendered by the Slack layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

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
    owner: str | None = None  # a Slack user id, shown as a mention


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
    status: str  # claimed, posted, failed
    catching_up: bool
    claimed_by: str | None
    claimed_at: datetime
    finished_at: datetime | None
    attempts: int
    error: str | None
    message_ts: str | None
    manual: bool = False  # posted on demand (`run now`), not a slot of the schedule
