"""What the listeners share: built once per process, complete and frozen, by `bot.wiring`.

Bolt hands it to every listener as `context["deps"]` (see bot.slack.middleware); `deps_of`
reads it back with its type.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from adapters.crm.base import CrmAdapter
from bot.access.service import Access, Admitted
from bot.actions.service import Approvals
from bot.config import Settings
from bot.digests.service import DigestService
from bot.ops import Ops
from bot.slack.blocks.home import digest_home_blocks, failed_home_blocks, home_view
from bot.slack.blocks.links import Links
from bot.slack.blocks.outcomes import request_outcomes
from bot.limits.service import Limits, Usage
from bot.slack.blocks.home import digest_home_blocks, home_view
from bot.slack.blocks.links import Links
from bot.slack.blocks.usage import usage_home_blocks
from bot.slack.conversations import Conversations
from bot.slack.decisions import CardDecisions
from bot.slack.members import Members
from bot.slack.poster import Poster
from bot.slack.ratings import Ratings
from bot.slack.runner import Runner
from bot.store.dead_letters import SqlDeadLetters
from bot.store.requests import SqlRequests

CONTEXT_KEY = "deps"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlackDeps:
    """The services and Slack helpers every listener may use, and who the bot is."""

    settings: Settings
    bot_user_id: str
    access: Access
    approvals: Approvals
    crm: CrmAdapter
    digests: DigestService
    conversations: Conversations
    decisions: CardDecisions
    members: Members
    poster: Poster
    requests: SqlRequests
    runner: Runner
    links: Links
    ratings: Ratings
    ops: Ops | None = None  # metrics and the log of decisions (None where nothing watches, as in some tests)
    limits: Limits | None = None
    letters: SqlDeadLetters | None = None  # the dead-letter list (`/crm failed`, the admins' App Home)

    async def publish_home(self, user: str) -> None:
        """Rebuild the user's App Home from the database: it is never stale for long."""
        awaiting = await self.decisions.awaiting(user)
        recent = await asyncio.to_thread(self.requests.recent, user, limit=15)
        shown = [replace(r, summary=await asyncio.to_thread(self.conversations.shown, r.conversation_id, r.summary))
                 for r in recent]
        extra = await self._failed_blocks(user) + await self._digest_blocks(user)
        conversations = sorted({r.conversation_id for r in recent if r.proposals and r.conversation_id})
        made = await asyncio.to_thread(self.approvals.related, conversation_ids=conversations)
        top = usage_home_blocks(await self.usage(user)) if self.limits is not None else []
        view: dict[str, Any] = home_view(self.settings.bot.name, awaiting, shown, self.links, extra=extra,
                                         outcomes=request_outcomes(recent, made), top=top)
        await self.poster.client.views_publish(user_id=user, view=view)

    async def usage(self, user: str) -> Usage | None:
        """The person's usage and limits; None when there are no limits or the counters cannot be read."""
        if self.limits is None:
            return None
        try:
            return await asyncio.to_thread(self.limits.usage, user)
        except Exception as exc:  # noqa: BLE001 - the counters' storage is down: say so, do not fail the view
            log.warning("usage of %s cannot be read (%s)", user, type(exc).__name__)
            return None

    async def _failed_blocks(self, user: str) -> list[dict[str, Any]]:
        """For people with the audit right: how many items the dead-letter list holds."""
        if self.letters is None:
            return []
        admitted = await self.access.admit(user)
        if not isinstance(admitted, Admitted) or not admitted.grant.audit:
            return []
        return failed_home_blocks(await asyncio.to_thread(self.letters.count_open))

    async def _digest_blocks(self, user: str) -> list[dict[str, Any]]:
        """The digests of the channels the user is in (channels named "#…" in app.toml are shown to all)."""
        subs = await asyncio.to_thread(self.digests.store.subscriptions)
        mine = [s for s in subs if s.channel.startswith("#") or user in await self.members.of(s.channel)]
        return digest_home_blocks(mine)


def deps_of(context: Mapping[str, Any]) -> SlackDeps:
    """The listeners' shared dependencies from Bolt's context (put there by bot.slack.middleware)."""
    deps = context[CONTEXT_KEY]
    assert isinstance(deps, SlackDeps), f"context[{CONTEXT_KEY!r}] is {type(deps).__name__}"
    return deps
