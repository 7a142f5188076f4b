"""Views of the workspace for assertions, shared by the async and the threaded emulator.

All reads take the workspace lock and return copies, so they are safe from any thread, including
inside a `wait_for` predicate. Channels and users may be named by id or by name. Adding a user or
a channel is here too: it only touches lock-guarded data, so it needs no trip to the event loop.
"""

from __future__ import annotations

from slack_emulator.config import Channel, User
from slack_emulator.records import (
    Ack,
    Call,
    Connection,
    Delivery,
    Ephemeral,
    PostedMessage,
    ResponsePost,
    View,
)
from slack_emulator.state import Workspace


class Readers:
    """Mixin: assertion helpers over `self._state`."""

    _state: Workspace

    def messages(self, channel: str, *, thread_ts: str | None = None) -> list[PostedMessage]:
        """Messages in `channel` as they are now, oldest first; replies included unless `thread_ts` narrows to one thread."""
        return self._state.messages.snapshot(self._state.channel(channel).id, thread_ts=thread_ts)

    def message(self, channel: str, ts: str) -> PostedMessage | None:
        return self._state.messages.one(self._state.channel(channel).id, ts)

    def ephemerals(self, user: str, *, include_deleted: bool = False) -> list[Ephemeral]:
        return self._state.messages.ephemerals(self._state.user(user).id, include_deleted=include_deleted)

    def views(self, user: str) -> list[View]:
        """Every modal shown to `user`, open or closed, oldest first."""
        return self._state.views.of(self._state.user(user).id)

    def open_views(self, user: str) -> list[View]:
        """`user`'s modal stack, bottom first (empty when no modal is open)."""
        return self._state.views.open_stack(self._state.user(user).id)

    def view(self, view_id: str) -> View | None:
        return self._state.views.get(view_id)

    def home(self, user: str) -> View | None:
        return self._state.views.home(self._state.user(user).id)

    def status(self, channel: str, thread_ts: str) -> dict[str, object] | None:
        """The assistant status showing under a thread ({status, loading_messages}), or None."""
        found = self._state.surfaces.status(self._state.channel(channel).id, thread_ts)
        return {"status": found.status, "loading_messages": found.loading_messages} if found else None

    def suggested_prompts(self, channel: str) -> dict[str, object] | None:
        """The suggested prompts of an agent DM ({title, prompts}), as last set without a thread."""
        return self._state.surfaces.prompts(self._state.channel(channel).id)

    def stream(self, channel: str, ts: str) -> dict[str, object] | None:
        """A streamed message's state and task timeline ({state, mode, tasks, plan_title}), or None."""
        return self._state.surfaces.snapshot(self._state.channel(channel).id, ts)

    def expire_streams(self) -> int:
        """Expire every open stream now, as Slack does with an idle one; returns how many."""
        return self._state.surfaces.expire_all()

    @property
    def stream_idle_seconds(self) -> float:
        """How long a stream may stay idle before it expires (default 300 s)."""
        return self._state.surfaces.idle_seconds

    @stream_idle_seconds.setter
    def stream_idle_seconds(self, value: float) -> None:
        self._state.surfaces.idle_seconds = float(value)

    def calls(self, method: str | None = None) -> list[Call]:
        with self._state.lock:
            return [c for c in self._state.calls if method is None or c.method == method]

    def reset_calls(self) -> None:
        with self._state.changing():
            self._state.calls.clear()

    def acks(self) -> list[Ack]:
        with self._state.lock:
            return list(self._state.acks)

    def deliveries(self) -> list[Delivery]:
        """Every delivery attempt, retries included, in the order they completed."""
        with self._state.lock:
            return list(self._state.deliveries)

    def responses(self) -> list[ResponsePost]:
        """Every POST to a response_url, refused ones included."""
        with self._state.lock:
            return list(self._state.responses)

    def connections(self) -> list[Connection]:
        """Every Socket Mode session so far, oldest first."""
        with self._state.lock:
            return list(self._state.connections)

    def user(self, ref: str) -> User:
        return self._state.user(ref)

    def channel(self, ref: str) -> Channel:
        return self._state.channel(ref)

    def add_user(self, user: User) -> None:
        self._state.add_user(user)

    def add_channel(self, channel: Channel) -> None:
        self._state.add_channel(channel)

    def issue_trigger(self, user: str) -> str:
        """A fresh trigger_id for `user`, as if they had just clicked or typed a command."""
        return self._state.issue_trigger(self._state.user(user).id)

    def describe(self, last: int = 8) -> str:
        """A short dump of recent traffic, for failure messages."""
        with self._state.lock:
            calls = self._state.calls[-last:]
            deliveries = self._state.deliveries[-last:]
        lines = [f"last {len(calls)} Web API calls:"]
        for c in calls:
            args = {k: (v if len(repr(v)) < 60 else repr(v)[:57] + "...") for k, v in c.args.items()}
            lines.append(f"  {c.method} -> {'ok' if c.ok else c.error} (HTTP {c.status}) {args}")
        lines.append(f"last {len(deliveries)} deliveries:")
        for d in deliveries:
            outcome = "acked" if d.acked else f"not acked ({d.error})"
            lines.append(f"  {d.mode} {d.kind} {d.event_type} retry={d.retry_attempt} {outcome}")
        return "\n".join(lines)
