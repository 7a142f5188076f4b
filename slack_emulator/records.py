"""What tests read back: immutable snapshots of the emulator's state and of what went over the wire.

Snapshots are copies, so a test can keep one and compare it with a later one; nothing a test does
with them changes the emulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class EmulatorError(Exception):
    """A test asked for something impossible (unknown user, no such button, nobody connected)."""


@dataclass(frozen=True)
class Call:
    """One Web API call: parsed arguments (token removed), HTTP status and the JSON answered."""

    method: str
    args: dict[str, Any]
    time: float
    status: int
    response: dict[str, Any]

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error")


@dataclass(frozen=True)
class Ack:
    """One Socket Mode acknowledgement received from the app."""

    envelope_id: str
    payload: dict[str, Any] | None
    latency: float | None  # seconds since the envelope was sent; None for an unknown envelope
    kind: str | None  # events_api | slash_commands | interactive
    retry_attempt: int
    event_id: str | None
    late: bool  # arrived after ack_timeout (the envelope was already given up)


@dataclass(frozen=True)
class Delivery:
    """One attempt at delivering a payload to the app, and how the app answered it."""

    kind: str  # events_api | slash_commands | interactive
    mode: str  # socket | http
    payload: dict[str, Any]
    event_id: str | None = None
    event_type: str | None = None  # event.type, the interaction type or the command
    envelope_id: str | None = None
    retry_attempt: int = 0
    retry_reason: str = ""
    acked: bool = False
    latency: float | None = None  # seconds until the ack / HTTP answer
    http_status: int | None = None
    ack_body: dict[str, Any] | None = None  # the ack's payload, or the parsed HTTP answer
    error: str | None = None  # timeout, http_error, http_timeout, connection_failed, not_connected
    trigger_id: str | None = None
    response_url: str | None = None


@dataclass(frozen=True)
class Posted:
    """A message a person (or another bot) sent, and the event deliveries it caused."""

    channel: str
    ts: str
    thread_ts: str | None
    deliveries: tuple[Delivery, ...]

    def delivery(self, event_type: str) -> Delivery:
        """The first delivery of the event of that type (`message`, `app_mention`)."""
        for d in self.deliveries:
            if d.event_type == event_type:
                return d
        raise EmulatorError(f"no {event_type} event was delivered; got {[d.event_type for d in self.deliveries]}")


@dataclass(frozen=True)
class PostedMessage:
    """A message as it is now in a conversation (after updates)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str | None
    bot_id: str | None
    thread_ts: str | None
    subtype: str | None
    updates: int  # chat.update / edits / replace_original applied so far
    reply_count: int
    unfurl_links: bool | None
    unfurl_media: bool | None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)  # as conversations.history shows it


@dataclass(frozen=True)
class Ephemeral:
    """An ephemeral message shown to one person: by chat.postEphemeral, a response_url or Slack."""

    user: str
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    source: str  # api | response_url | command_ack | slack
    replaced: int
    deleted: bool


@dataclass(frozen=True)
class View:
    """A modal or Home tab view, with where it stands in the user's modal stack."""

    id: str
    user: str
    type: str  # modal | home
    callback_id: str
    external_id: str
    private_metadata: str
    title: str
    blocks: list[dict[str, Any]]
    hash: str
    is_open: bool
    updates: int
    errors: dict[str, str]  # from the last response_action errors
    root_view_id: str
    previous_view_id: str | None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class ResponsePost:
    """One POST to a response_url and what it did (ephemeral, in_channel, replaced, deleted, refused)."""

    url_id: str
    body: dict[str, Any]
    status: int
    applied: str
    user: str
    channel: str
    time: float


@dataclass(frozen=True)
class Connection:
    """One Socket Mode websocket session."""

    id: int
    opened_at: float
    closed_at: float | None
    end: str | None  # closed_by_client | dropped | disconnect_sent | server_stopped
