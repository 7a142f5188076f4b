"""Messages and ephemeral messages as Slack keeps them: threads, edits, deletions, reply counts.

The stored form is Slack's own message JSON (what `conversations.history` returns), so the Web API
can hand it out unchanged and payloads (`block_actions.message`) carry the real shape.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_emulator.records import Ephemeral, PostedMessage

if TYPE_CHECKING:
    from slack_emulator.state import Workspace


@dataclass
class _Stored:
    channel: str
    msg: dict[str, Any]
    updates: int = 0
    unfurl_links: bool | None = None
    unfurl_media: bool | None = None


@dataclass
class _Ephemeral:
    user: str
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    source: str
    replaced: int = 0
    deleted: bool = False


class MessageStore:
    """Per-channel messages in ts order, plus everyone's ephemerals; guarded by the workspace lock."""

    def __init__(self, workspace: Workspace) -> None:
        self._ws = workspace
        self._by_channel: dict[str, dict[str, _Stored]] = {}
        self._ephemerals: list[_Ephemeral] = []

    def add(self, channel: str, msg: dict[str, Any], *, unfurl_links: bool | None = None, unfurl_media: bool | None = None) -> dict[str, Any]:
        """Store `msg` (which carries its ts, and thread_ts for a reply); returns a copy."""
        with self._ws.changing():
            self._by_channel.setdefault(channel, {})[msg["ts"]] = _Stored(channel, msg, 0, unfurl_links, unfurl_media)
            root_ts = msg.get("thread_ts")
            if root_ts and root_ts != msg["ts"]:
                self._recount(channel, root_ts)
            return copy.deepcopy(msg)

    def get(self, channel: str, ts: str) -> dict[str, Any] | None:
        """A copy of the stored message JSON, or None."""
        with self._ws.lock:
            stored = self._by_channel.get(channel, {}).get(ts)
            return copy.deepcopy(stored.msg) if stored else None

    def update(self, channel: str, ts: str, changes: dict[str, Any], *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
        """Apply `changes` to a stored message (which must exist); returns a copy of the result."""
        with self._ws.changing():
            stored = self._by_channel[channel][ts]
            for key in drop:
                stored.msg.pop(key, None)
            stored.msg.update(copy.deepcopy(changes))
            stored.updates += 1
            return copy.deepcopy(stored.msg)

    def delete(self, channel: str, ts: str) -> dict[str, Any] | None:
        """Remove a message; returns what it was (None if there was none)."""
        with self._ws.changing():
            stored = self._by_channel.get(channel, {}).pop(ts, None)
            if stored is None:
                return None
            root_ts = stored.msg.get("thread_ts")
            if root_ts and root_ts != ts:
                self._recount(channel, root_ts)
            return stored.msg

    def history(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages, newest first, as `conversations.history` lists them."""
        with self._ws.lock:
            items = [s.msg for s in self._by_channel.get(channel, {}).values() if s.msg.get("thread_ts") in (None, s.msg["ts"])]
            return copy.deepcopy(sorted(items, key=_ts_key, reverse=True))

    def thread(self, channel: str, root_ts: str) -> list[dict[str, Any]]:
        """The root and its replies, oldest first, as `conversations.replies` lists them."""
        with self._ws.lock:
            items = [
                s.msg
                for s in self._by_channel.get(channel, {}).values()
                if s.msg["ts"] == root_ts or s.msg.get("thread_ts") == root_ts
            ]
            return copy.deepcopy(sorted(items, key=_ts_key))

    def snapshot(self, channel: str, *, thread_ts: str | None = None) -> list[PostedMessage]:
        """Every message of the channel (replies included), or one thread, oldest first."""
        with self._ws.lock:
            stored = sorted(self._by_channel.get(channel, {}).values(), key=lambda s: _ts_key(s.msg))
            if thread_ts is not None:
                stored = [s for s in stored if thread_ts in (s.msg["ts"], s.msg.get("thread_ts"))]
            return [_message(s) for s in stored]

    def one(self, channel: str, ts: str) -> PostedMessage | None:
        with self._ws.lock:
            stored = self._by_channel.get(channel, {}).get(ts)
            return _message(stored) if stored else None

    def _recount(self, channel: str, root_ts: str) -> None:
        root = self._by_channel.get(channel, {}).get(root_ts)
        if root is None:
            return
        replies = sorted(
            (s.msg for s in self._by_channel[channel].values() if s.msg.get("thread_ts") == root_ts and s.msg["ts"] != root_ts),
            key=_ts_key,
        )
        root.msg["thread_ts"] = root_ts
        root.msg["reply_count"] = len(replies)
        root.msg["reply_users"] = sorted({r.get("user") or r.get("bot_id") for r in replies} - {None})
        root.msg["reply_users_count"] = len(root.msg["reply_users"])
        if replies:
            root.msg["latest_reply"] = replies[-1]["ts"]

    # -- ephemerals ----------------------------------------------------------------------------

    def add_ephemeral(self, user: str, channel: str, text: str, blocks: list[dict[str, Any]], *, thread_ts: str | None, source: str) -> str:
        ts = self._ws.next_ts()
        with self._ws.changing():
            self._ephemerals.append(_Ephemeral(user, channel, ts, text, copy.deepcopy(blocks), thread_ts, source))
        return ts

    def find_ephemeral(self, user: str, ts: str) -> Ephemeral | None:
        with self._ws.lock:
            found = self._ephemeral(user, ts)
            return _ephemeral_record(found) if found else None

    def replace_ephemeral(self, user: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> bool:
        with self._ws.changing():
            found = self._ephemeral(user, ts)
            if found is None:
                return False
            found.text, found.blocks = text, copy.deepcopy(blocks)
            found.replaced += 1
            return True

    def delete_ephemeral(self, user: str, ts: str) -> bool:
        with self._ws.changing():
            found = self._ephemeral(user, ts)
            if found is not None:
                found.deleted = True
            return found is not None

    def ephemerals(self, user: str, *, include_deleted: bool = False) -> list[Ephemeral]:
        with self._ws.lock:
            return [_ephemeral_record(e) for e in self._ephemerals if e.user == user and (include_deleted or not e.deleted)]

    def _ephemeral(self, user: str, ts: str) -> _Ephemeral | None:
        return next((e for e in self._ephemerals if e.user == user and e.ts == ts and not e.deleted), None)


def _ts_key(msg: dict[str, Any]) -> tuple[int, int]:
    seconds, _, micros = msg["ts"].partition(".")
    return int(seconds), int(micros or 0)


def _message(s: _Stored) -> PostedMessage:
    msg = copy.deepcopy(s.msg)
    thread_ts = msg.get("thread_ts")
    return PostedMessage(
        channel=s.channel,
        ts=msg["ts"],
        text=msg.get("text", ""),
        blocks=msg.get("blocks", []),
        user=msg.get("user"),
        bot_id=msg.get("bot_id"),
        thread_ts=thread_ts,
        subtype=msg.get("subtype"),
        updates=s.updates,
        reply_count=msg.get("reply_count", 0),
        unfurl_links=s.unfurl_links,
        unfurl_media=s.unfurl_media,
        raw=msg,
    )


def _ephemeral_record(e: _Ephemeral) -> Ephemeral:
    return Ephemeral(e.user, e.channel, e.ts, e.text, copy.deepcopy(e.blocks), e.thread_ts, e.source, e.replaced, e.deleted)
