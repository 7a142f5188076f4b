"""What Slack keeps for AI agents: thread statuses, the agent DM's suggested prompts, and the state
of streamed messages (their text so far, their task timeline, whether they still stream).

A status shows until the app replies in the thread or two minutes pass without it being set
again. A stream stays open until it is stopped or it has been idle for `idle_seconds`; after that
(or after `expire_all()`, which tests use to expire a stream at a moment of their choosing) every
append or stop is refused with `message_not_in_streaming_state`, as Slack does.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slack_emulator.state import Workspace

STATUS_SECONDS = 120.0  # Slack clears a status after two minutes without a message
STREAM_IDLE_SECONDS = 300.0


@dataclass
class Status:
    status: str
    loading_messages: list[str]
    set_at: float


@dataclass
class Stream:
    """A streamed message's progress: text so far, tasks by id (in first-seen order), state."""

    channel: str
    ts: str
    thread_ts: str
    mode: str
    recipient: str | None
    last_activity: float
    text: str = ""
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    plan_title: str | None = None
    state: str = "streaming"  # streaming, stopped, expired
    appends: int = 0


class AgentSurfaces:
    """Statuses, suggested prompts and streams of one workspace; guarded by the workspace lock."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace
        self._statuses: dict[tuple[str, str], Status] = {}
        self._prompts: dict[str, dict[str, Any]] = {}
        self._streams: dict[tuple[str, str], Stream] = {}
        self.idle_seconds = STREAM_IDLE_SECONDS

    # -- statuses ------------------------------------------------------------------------------

    def set_status(self, channel: str, thread_ts: str, status: str, loading: list[str]) -> None:
        with self._ws.changing():
            if status:
                self._statuses[(channel, thread_ts)] = Status(status, list(loading), self._ws.clock())
            else:
                self._statuses.pop((channel, thread_ts), None)

    def clear_status(self, channel: str, thread_ts: str | None) -> None:
        """The app replied in the thread: its status is gone."""
        if thread_ts is None:
            return
        with self._ws.changing():
            self._statuses.pop((channel, thread_ts), None)

    def status(self, channel: str, thread_ts: str) -> Status | None:
        with self._ws.lock:
            found = self._statuses.get((channel, thread_ts))
            if found is None or self._ws.clock() - found.set_at > STATUS_SECONDS:
                return None
            return copy.deepcopy(found)

    def statuses(self, channel: str) -> dict[str, dict[str, Any]]:
        """thread_ts -> {status, loading_messages} of the statuses showing in a conversation."""
        with self._ws.lock:
            keys = [ts for (c, ts) in self._statuses if c == channel]
        shown = {ts: self.status(channel, ts) for ts in keys}
        return {ts: {"status": s.status, "loading_messages": s.loading_messages} for ts, s in shown.items() if s}

    # -- suggested prompts ---------------------------------------------------------------------

    def set_prompts(self, channel: str, title: str | None, prompts: list[dict[str, str]]) -> None:
        with self._ws.changing():
            self._prompts[channel] = {"title": title or "", "prompts": copy.deepcopy(prompts)}

    def prompts(self, channel: str) -> dict[str, Any] | None:
        with self._ws.lock:
            return copy.deepcopy(self._prompts.get(channel))

    # -- streams -------------------------------------------------------------------------------

    def start(self, stream: Stream) -> None:
        with self._ws.changing():
            self._streams[(stream.channel, stream.ts)] = stream

    def stream(self, channel: str, ts: str) -> Stream | None:
        """The live stream state (callers mutate it under `changing()`), expired if idle too long."""
        with self._ws.lock:
            found = self._streams.get((channel, ts))
            if found is not None and found.state == "streaming" \
                    and self._ws.clock() - found.last_activity > self.idle_seconds:
                found.state = "expired"
            return found

    def drop(self, channel: str, ts: str) -> None:
        """The message was replaced by chat.update: it shows as a normal message from now on."""
        with self._ws.changing():
            self._streams.pop((channel, ts), None)

    def expire_all(self) -> int:
        """Expire every open stream now (as an idle timeout would); returns how many."""
        with self._ws.changing():
            open_ = [s for s in self._streams.values() if s.state == "streaming"]
            for s in open_:
                s.state = "expired"
            return len(open_)

    def snapshot(self, channel: str, ts: str) -> dict[str, Any] | None:
        """A streamed message's timeline and state for the browser page."""
        found = self.stream(channel, ts)
        if found is None:
            return None
        with self._ws.lock:
            return {"state": found.state, "mode": found.mode, "tasks": copy.deepcopy(list(found.tasks.values())),
                    "plan_title": found.plan_title}

    def all_streams(self) -> list[Stream]:
        with self._ws.lock:
            return [copy.deepcopy(s) for s in self._streams.values()]
