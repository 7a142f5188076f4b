"""Things people (and other bots) do in the workspace that reach the app as Events API events.

Each action changes the workspace first (the message exists before the app hears of it, as in
Slack) and then delivers exactly the events Slack would, given the app's subscriptions and
whether its bot is in the conversation.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import Any

from slack_emulator import payloads
from slack_emulator.config import Channel, EmulatorConfig
from slack_emulator.delivery import Deliverer
from slack_emulator.records import Delivery, EmulatorError, Posted
from slack_emulator.state import Workspace


class Happenings:
    """Mixin for `SlackEmulator`: person-side actions that produce events."""

    _state: Workspace
    _deliverer: Deliverer
    config: EmulatorConfig

    async def user_message(
        self, user: str, channel: str, text: str, *, thread_ts: str | None = None,
        mode: str | None = None, signature: str | None = None, timestamp_offset: float = 0.0,
    ) -> Posted:
        """`user` writes `text` in `channel` (or in the thread `thread_ts`); delivers message / app_mention."""
        ws = self._state
        u, c = ws.user(user), ws.channel(channel)
        if u.id not in c.members:
            raise EmulatorError(f"{u.name} is not a member of {c.id}, so cannot post there")
        msg: dict[str, Any] = {
            "client_msg_id": str(uuid.uuid4()),
            "type": "message",
            "text": text,
            "user": u.id,
            "ts": ws.next_ts(),
            "blocks": payloads.rich_text(text),
            "team": u.team_id or self.config.team_id,
        }
        if u.team_id and u.team_id != self.config.team_id:  # Slack Connect: whose user, in whose workspace
            msg.update(user_team=u.team_id, source_team=u.team_id)
        if thread_ts:
            root = ws.messages.get(c.id, thread_ts)
            if root is None:
                raise EmulatorError(f"no message {thread_ts} in {c.id} to reply to")
            msg.update(thread_ts=thread_ts, parent_user_id=root.get("user") or root.get("bot_id"))
        stored = ws.messages.add(c.id, msg)
        deliveries = await self._deliver_events(self._posted_events(stored, c), mode, signature, timestamp_offset,
                                                ext_shared=c.is_ext_shared)
        return Posted(c.id, stored["ts"], thread_ts, deliveries)

    async def bot_message(self, channel: str, text: str, bot_id: str = "BOTHER", *, thread_ts: str | None = None, mode: str | None = None) -> Posted:
        """Another app's bot posts in `channel`: a `bot_message` subtype the app should usually ignore."""
        ws = self._state
        c = ws.channel(channel)
        msg: dict[str, Any] = {"type": "message", "subtype": "bot_message", "text": text, "ts": ws.next_ts(), "bot_id": bot_id, "username": "other-bot"}
        if thread_ts:
            msg["thread_ts"] = thread_ts
        stored = ws.messages.add(c.id, msg)
        deliveries = await self._deliver_events(self._posted_events(stored, c), mode, None, 0.0)
        return Posted(c.id, stored["ts"], thread_ts, deliveries)

    async def edit_message(self, channel: str, ts: str, text: str, *, mode: str | None = None) -> Posted:
        """The author edits a message: a `message_changed` event."""
        ws = self._state
        c = ws.channel(channel)
        before = ws.messages.get(c.id, ts)
        if before is None:
            raise EmulatorError(f"no message {ts} in {c.id}")
        edited_by = before.get("user") or before.get("bot_id")
        after = ws.messages.update(c.id, ts, {"text": text, "blocks": payloads.rich_text(text), "edited": {"user": edited_by, "ts": ws.next_ts()}})
        event_ts = ws.next_ts()
        event = {
            "type": "message", "subtype": "message_changed", "hidden": True, "message": after,
            "previous_message": before, "channel": c.id, "ts": event_ts, "event_ts": event_ts, "channel_type": c.channel_type,
        }
        deliveries = await self._deliver_events([event] if self._hears_messages(c) else [], mode, None, 0.0)
        return Posted(c.id, ts, after.get("thread_ts"), deliveries)

    async def delete_message(self, channel: str, ts: str, *, mode: str | None = None) -> Posted:
        """Someone deletes a message: a `message_deleted` event."""
        ws = self._state
        c = ws.channel(channel)
        before = ws.messages.delete(c.id, ts)
        if before is None:
            raise EmulatorError(f"no message {ts} in {c.id}")
        event_ts = ws.next_ts()
        event = {
            "type": "message", "subtype": "message_deleted", "hidden": True, "deleted_ts": ts, "channel": c.id,
            "previous_message": before, "ts": event_ts, "event_ts": event_ts, "channel_type": c.channel_type,
        }
        deliveries = await self._deliver_events([event] if self._hears_messages(c) else [], mode, None, 0.0)
        return Posted(c.id, ts, before.get("thread_ts"), deliveries)

    async def home_opened(self, user: str, *, tab: str = "home", mode: str | None = None) -> Delivery:
        """`user` opens the app's Home tab (`tab="home"`, with the published view, if any) or its
        Messages tab, the agent DM (`tab="messages"`): an `app_home_opened` event either way."""
        ws = self._state
        u = ws.user(user)
        if tab not in ("home", "messages"):
            raise EmulatorError(f"tab must be 'home' or 'messages', not {tab!r}")
        dm = ws.dm_of(u.id)
        event: dict[str, Any] = {"type": "app_home_opened", "user": u.id, "channel": dm.id if dm else "", "tab": tab, "event_ts": ws.next_ts()}
        home = ws.views.home(u.id)
        if home is not None and tab == "home":
            event["view"] = home.raw
        return await self.send_event(event, mode=mode)

    async def leave_channel(self, channel: str, user: str, *, mode: str | None = None) -> Delivery | None:
        """`user` leaves (or is removed from) `channel`: membership changes, then `member_left_channel`."""
        return await self._membership(channel, user, joined=False, mode=mode)

    async def join_channel(self, channel: str, user: str, *, mode: str | None = None) -> Delivery | None:
        """`user` joins `channel`: membership changes, then `member_joined_channel`."""
        return await self._membership(channel, user, joined=True, mode=mode)

    async def _membership(self, channel: str, user: str, *, joined: bool, mode: str | None) -> Delivery | None:
        ws = self._state
        u, c = ws.user(user), ws.channel(channel)
        with ws.lock:
            members = tuple(m for m in c.members if m != u.id) + ((u.id,) if joined else ())
            ws.channels[c.id] = dataclasses.replace(c, members=members)
        kind = "member_joined_channel" if joined else "member_left_channel"
        if kind not in self.config.bot_events or self.config.bot_user_id not in members:
            return None
        event = {"type": kind, "user": u.id, "channel": c.id, "channel_type": "C" if not c.is_private else "G",
                 "team": self.config.team_id, "event_ts": ws.next_ts()}
        return await self.send_event(event, mode=mode)

    async def send_event(self, event: dict[str, Any], *, mode: str | None = None, signature: str | None = None, timestamp_offset: float = 0.0) -> Delivery:
        """Deliver any event (wrapped in a fresh event_callback), whatever the subscriptions say."""
        (delivery,) = await self._deliver_events([event], mode, signature, timestamp_offset)
        return delivery

    async def redeliver(self, delivery: Delivery) -> Delivery:
        """Send a delivered payload again (same event_id, retry number + 1): a duplicate, as Slack can."""
        return await self._deliverer.redeliver(delivery)

    def _hears_messages(self, c: Channel) -> bool:
        subscription = {"im": "message.im", "group": "message.groups", "channel": "message.channels"}[c.channel_type]
        return subscription in self.config.bot_events and self.config.bot_user_id in c.members

    def _posted_events(self, stored: dict[str, Any], c: Channel) -> list[dict[str, Any]]:
        events = [payloads.message_event(stored, c)] if self._hears_messages(c) else []
        mentioned = f"<@{self.config.bot_user_id}>" in stored.get("text", "")
        if mentioned and not c.is_im and "app_mention" in self.config.bot_events and self.config.bot_user_id in c.members:
            events.append(payloads.app_mention_event(stored, c))
        return events

    async def _deliver_events(self, events: list[dict[str, Any]], mode: str | None, signature: str | None, timestamp_offset: float,
                              *, ext_shared: bool = False) -> tuple[Delivery, ...]:
        ws = self._state
        callbacks = [
            payloads.event_callback(self.config, e, event_id=ws.next_id("Ev"), event_time=int(ws.clock()),
                                    ext_shared=ext_shared)
            for e in events
        ]
        results = await asyncio.gather(*(
            self._deliverer.deliver("events_api", cb, mode=mode, signature=signature, timestamp_offset=timestamp_offset)
            for cb in callbacks
        ))
        return tuple(results)
