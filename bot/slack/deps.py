"""What the listeners share, built once per process by `bot.slack.server`."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

from adapters.crm.base import CrmAdapter
from bot.actions.service import Approvals
from bot.config import Settings
from bot.slack.blocks.home import home_view
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

    async def publish_home(self, user: str) -> None:
        """Rebuild the user's App Home from the database: it is never stale for long."""
        pending = await asyncio.to_thread(self.approvals.pending)
        checker = await self.members.checker_for({p.channel for p in pending if p.channel})
        awaiting = await asyncio.to_thread(self.approvals.actionable_by, user, checker)
        recent = await asyncio.to_thread(self.requests.recent, user, limit=15)
        shown = [replace(r, summary=await asyncio.to_thread(self.conversations.shown, r.conversation_id, r.summary))
                 for r in recent]
        view: dict[str, Any] = home_view(self.settings.bot.name, awaiting, shown, self.links)
        await self.poster.client.views_publish(user_id=user, view=view)
