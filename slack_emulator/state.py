"""The workspace's mutable heart: who is in it, the ids Slack hands out, and the record of traffic.

One re-entrant lock guards everything and one condition variable is notified on every change, so
a test thread can wait for "the bot has answered" without polling while the emulator's event loop
thread mutates the state. Messages and views live in their own stores (`messages.py`,
`modals.py`) that share this lock.
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from slack_emulator.agent_surfaces import AgentSurfaces
from slack_emulator.config import Channel, EmulatorConfig, User
from slack_emulator.messages import MessageStore
from slack_emulator.modals import ViewStore
from slack_emulator.records import (
    Ack,
    Call,
    Connection,
    Delivery,
    EmulatorError,
    ResponsePost,
)

RESPONSE_URL_USES = 5
RESPONSE_URL_TTL = 30 * 60.0


@dataclass
class Trigger:
    user: str
    issued_at: float
    used: bool = False


@dataclass
class ResponseUrl:
    """Where a response_url's posts land: the clicked message (if any), for one person."""

    user: str
    channel: str
    created_at: float
    source_ts: str | None = None  # the message the interaction came from
    source_ephemeral: bool = False
    uses: int = 0


class Workspace:
    """Users, channels, stores and records of one emulated workspace, safe to read from any thread."""

    def __init__(
        self,
        config: EmulatorConfig,
        *,
        users: Iterable[User],
        channels: Iterable[Channel],
        clock: Callable[[], float],
        usergroups: dict[str, tuple[str, tuple[str, ...]]] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.listeners: list[Callable[[], None]] = []
        self.base_url = ""
        self.users: dict[str, User] = {u.id: u for u in users}
        self.channels: dict[str, Channel] = {c.id: c for c in channels}
        self.usergroups = dict(usergroups or {})  # handle -> (id, member user ids)
        self.messages = MessageStore(self)
        self.views = ViewStore(self)
        self.surfaces = AgentSurfaces(self)
        self.calls: list[Call] = []
        self.acks: list[Ack] = []
        self.deliveries: list[Delivery] = []
        self.responses: list[ResponsePost] = []
        self.connections: list[Connection] = []
        self.triggers: dict[str, Trigger] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.tickets: set[str] = set()
        self._last_us = 0
        self._counter = itertools.count(1)
        self._prefix = secrets.token_hex(2).upper()

    # -- change notification -------------------------------------------------------------------

    @contextlib.contextmanager
    def changing(self) -> Iterator[None]:
        """Hold the lock for a mutation, then wake everyone waiting for a change."""
        with self.changed:
            yield
            self.changed.notify_all()
        for listener in list(self.listeners):
            listener()

    def record(self, kind: str, item: object) -> None:
        with self.changing():
            getattr(self, kind).append(item)

    # -- directory -----------------------------------------------------------------------------

    def user(self, ref: str) -> User:
        """A user by id (U01ALICE) or handle (alice, @alice); unknown ones fail loudly."""
        with self.lock:
            if ref in self.users:
                return self.users[ref]
            for u in self.users.values():
                if u.name == ref.lstrip("@"):
                    return u
        raise EmulatorError(f"no user {ref!r}; known: {sorted(u.name for u in self.users.values())}")

    def channel(self, ref: str) -> Channel:
        """A conversation by id, '#name' or name, or a user's DM by the user's id or handle."""
        found = self.find_channel(ref)
        if found is None:
            raise EmulatorError(f"no channel {ref!r}; known: {sorted(self.channels)}")
        return found

    def find_channel(self, ref: str) -> Channel | None:
        with self.lock:
            if ref in self.channels:
                return self.channels[ref]
            name = ref.removeprefix("#")
            for c in self.channels.values():
                if not c.is_im and c.name == name:
                    return c
            if ref.startswith("#"):
                return None
            user = next((u for u in self.users.values() if ref in (u.id, u.name)), None)
            if user is not None:
                return self.dm_of(user.id)
        return None

    def dm_of(self, user_id: str) -> Channel | None:
        with self.lock:
            return next((c for c in self.channels.values() if c.user == user_id), None)

    def add_user(self, user: User) -> None:
        with self.changing():
            self.users[user.id] = user

    def add_channel(self, channel: Channel) -> None:
        with self.changing():
            self.channels[channel.id] = channel

    # -- ids -----------------------------------------------------------------------------------

    def next_ts(self) -> str:
        """A message ts like Slack's ('1700000000.000100'), unique and increasing."""
        with self.lock:
            us = max(int(self.clock() * 1_000_000), self._last_us + 1)
            self._last_us = us
        return f"{us // 1_000_000}.{us % 1_000_000:06d}"

    def next_id(self, prefix: str) -> str:
        """An id in Slack's style: 'Ev' for events, 'V' for views; unique within this emulator."""
        return f"{prefix}{self._prefix}{next(self._counter):07X}"

    def envelope_id(self) -> str:
        return str(uuid.uuid4())

    # -- triggers, tickets, response URLs ------------------------------------------------------

    def issue_trigger(self, user: str) -> str:
        trigger_id = f"{next(self._counter)}.{int(self.clock())}.{secrets.token_hex(16)}"
        with self.changing():
            self.triggers[trigger_id] = Trigger(user, self.clock())
        return trigger_id

    def use_trigger(self, trigger_id: str) -> Trigger:
        """Exchange a trigger for the right to open a view: once, and within `trigger_ttl`."""
        with self.changing():
            trigger = self.triggers.get(trigger_id or "")
            if trigger is None:
                raise TriggerError("invalid_trigger_id")
            if trigger.used:
                raise TriggerError("exchanged_trigger_id")
            if self.clock() - trigger.issued_at > self.config.trigger_ttl:
                raise TriggerError("expired_trigger_id")
            trigger.used = True
            return trigger

    def issue_response_url(self, user: str, channel: str, source_ts: str | None = None, *, ephemeral: bool = False) -> str:
        url_id = secrets.token_hex(12)
        with self.changing():
            self.response_urls[url_id] = ResponseUrl(user, channel, self.clock(), source_ts, ephemeral)
        return f"{self.base_url}/response/{url_id}"

    def use_response_url(self, url_id: str) -> ResponseUrl | None:
        """The target of a response_url, counting the use; None once used 5 times or 30 min old."""
        with self.changing():
            target = self.response_urls.get(url_id)
            if target is None or target.uses >= RESPONSE_URL_USES:
                return None
            if self.clock() - target.created_at > RESPONSE_URL_TTL:
                return None
            target.uses += 1
            return target

    def issue_ticket(self) -> str:
        ticket = str(uuid.uuid4())
        with self.changing():
            self.tickets.add(ticket)
        return ticket


class TriggerError(Exception):
    """A trigger_id that cannot open a view; the message is Slack's error code."""
