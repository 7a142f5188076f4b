"""What the browser page sees: one person's view of the workspace, and a feed of changes.

The page long-polls `GET /ui/state?after=N`: the answer comes as soon as the workspace has
changed past version N (or after a while, unchanged), so edits the bot makes to its messages show
up live without the page polling in a loop. The snapshot holds only what that person could see
in Slack: their conversations (with the agent's statuses under threads, the timelines of streamed
answers and the agent DM's suggested prompts), their ephemerals, their open modal and their App Home.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from slack_emulator.state import Workspace


class Feed:
    """A version number bumped on every workspace change, and a way to wait for the next one."""

    def __init__(self, workspace: Workspace, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._workspace = workspace
        self._count = itertools.count(1)
        self.version = 0
        self._closed = False
        self._waiters: set[asyncio.Future[None]] = set()
        workspace.listeners.append(self._on_change)

    def detach(self) -> None:
        """Stop following the workspace and answer every waiting request now (the server is stopping)."""
        self._closed = True
        if self._on_change in self._workspace.listeners:
            self._workspace.listeners.remove(self._on_change)
        self._wake()

    def _on_change(self) -> None:
        # Changes may happen on any thread (a test thread adding a user, say); waiters live on the loop.
        self.version = next(self._count)
        if self._loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._wake()
        else:
            self._loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait_past(self, version: int, timeout: float) -> int:
        """Return the current version once it is past `version`, or after `timeout` seconds."""
        if self.version > version or self._closed:
            return self.version
        waiter = self._loop.create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            self._waiters.discard(waiter)
        return self.version


def snapshot(ws: Workspace, user_id: str, *, version: int, connected: bool, bot_handle: str) -> dict[str, Any]:
    """Everything `user_id` can see now, as plain JSON for the page."""
    with ws.lock:
        cfg = ws.config
        users = [{"id": u.id, "name": u.name, "real_name": u.real_name or u.name, "is_bot": u.is_bot, "tz": u.tz}
                 for u in ws.users.values()]
        users.append({"id": cfg.bot_user_id, "name": bot_handle, "real_name": cfg.bot_name, "is_bot": True})
        visible = [c for c in ws.channels.values() if user_id in c.members]
        channels = [{"id": c.id, "name": c.name, "is_im": c.is_im, "user": c.user, "members": list(c.members)} for c in visible]
        messages = {c.id: [_message(m.raw, m.updates, ws.surfaces.snapshot(c.id, m.ts))
                           for m in ws.messages.snapshot(c.id)] for c in visible}
        statuses = {c.id: ws.surfaces.statuses(c.id) for c in visible}
        prompts = {c.id: ws.surfaces.prompts(c.id) for c in visible if c.is_im and ws.surfaces.prompts(c.id)}
        ephemerals = [
            {"channel": e.channel, "ts": e.ts, "text": e.text, "blocks": e.blocks, "thread_ts": e.thread_ts,
             "source": e.source}
            for e in ws.messages.ephemerals(user_id)
        ]
        stack = ws.views.open_stack(user_id)
        home = ws.views.home(user_id)
    modal = None
    if stack:
        top = stack[-1]
        modal = {"id": top.id, "hash": top.hash, "title": top.title, "blocks": top.blocks, "errors": top.errors,
                 "submit": (top.raw.get("submit") or {}).get("text"), "close": (top.raw.get("close") or {}).get("text"),
                 "depth": len(stack)}
    return {
        "version": version,
        "connected": connected,
        "me": user_id,
        "team": cfg.team_domain,
        "bot": {"id": cfg.bot_user_id, "name": cfg.bot_name, "handle": bot_handle},
        "users": users,
        "channels": channels,
        "messages": messages,
        "statuses": statuses,
        "prompts": prompts,
        "ephemerals": ephemerals,
        "modal": modal,
        "home": {"id": home.id, "blocks": home.blocks, "hash": home.hash} if home else None,
    }


def _message(raw: dict[str, Any], updates: int, stream: dict[str, Any] | None = None) -> dict[str, Any]:
    keep = ("ts", "text", "blocks", "user", "bot_id", "thread_ts", "reply_count", "edited", "subtype")
    shown = {k: raw[k] for k in keep if k in raw}
    shown["updates"] = updates
    if stream is not None:
        shown["stream"] = stream  # the task timeline and whether it still streams
    return shown
