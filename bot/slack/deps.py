"""What the listeners share, built once per process by `bot.slack.server`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from adapters.crm.base import CrmAdapter
from bot.actions.service import Approvals
from bot.config import Settings
from bot.digests.service import DigestService
from bot.slack.blocks.home import digest_home_blocks, home_view
from bot.slack.blocks.links import Links
from bot.slack.conversations import Conversations
from bot.slack.decisions import Decisions
from bot.slack.members import Members
from bot.slack.poster import Poster
from bot.slack.runner import Runner
from bot.store.requests import SqlRequests


@dataclass
class SlackDeps:
    settings: Settings
    approvals: Approvals
    crm: CrmAdapter
    conversations: Conversations
    decisions: Decisions
    members: Members
    poster: Poster
    requests: SqlRequests
    runner: Runner
    links: Links
    bot_user_id: str = ""
    digests: DigestService | None = None

    async def publish_home(self, user: str) -> None:
        """Rebuild the user's App Home from the database: it is never stale for long."""
        pending = await asyncio.to_thread(self.approvals.pending)
        checker = await self.members.checker_for({p.channel for p in pending if p.channel})
        awaiting = await asyncio.to_thread(self.approvals.actionable_by, user, checker)
        recent = await asyncio.to_thread(self.requests.recent, user, limit=15)
        shown = [replace(r, summary=await asyncio.to_thread(self.conversations.shown, r.conversation_id, r.summary))
                 for r in recent]
        extra = await self._digest_blocks(user)
        view: dict[str, Any] = home_view(self.settings.bot.name, awaiting, shown, self.links, extra=extra)
        await self.poster.client.views_publish(user_id=user, view=view)

    async def _digest_blocks(self, user: str) -> list[dict[str, Any]]:
        """The digests of the channels the user is in (channels named "#…" in app.toml are shown to all)."""
        if self.digests is None:
            return []
        subs = await asyncio.to_thread(self.digests.store.subscriptions)
        mine = [s for s in subs if s.channel.startswith("#") or user in await self.members.of(s.channel)]
        return digest_home_blocks(mine)
