"""Where requests meet the limits: after a request is claimed (so a redelivery or the second event
of one mention is not counted twice) and before its run starts (so no model is called for a
refused one). A refusal is recorded with the request, then told in one line where the person
asked: privately in a channel's thread, in the DM, or through the /crm response_url.
"""

from __future__ import annotations

import asyncio
import logging

from bot.agent.model import Usage
from bot.limits.service import Limits
from bot.slack.blocks.messages import plain
from bot.slack.conversations import Destination, Incoming
from bot.slack.poster import Poster

log = logging.getLogger(__name__)


class LimitGate:
    """The limits as a request's path sees them: admit or refuse, tell, then charge the run's tokens."""

    def __init__(self, limits: Limits, poster: Poster) -> None:
        self.limits, self._poster = limits, poster

    async def admit(self, incoming: Incoming) -> str | None:
        """Count the request; when it is over a limit, the line saying which and when to ask again."""
        refusal = await asyncio.to_thread(self.limits.admit, incoming.user)
        return refusal.message if refusal is not None else None

    async def refuse(self, incoming: Incoming, destination: Destination, line: str) -> None:
        """Tell the person, where they asked."""
        message = plain(line)
        try:
            if incoming.kind == "dm" or (incoming.kind == "command" and incoming.thread_ts is None):
                await destination.answer([message])  # private already: the DM, or the /crm response_url
            else:  # a channel's thread: only the asker needs to read it
                await self._poster.ephemeral(incoming.channel, incoming.user, message, thread_ts=incoming.thread_ts)
        except Exception:  # noqa: BLE001 - the refusal stands (and is recorded) even if Slack would not take it
            log.exception("could not tell %s of a refusal", incoming.user)

    async def charge(self, user: str, usage: Usage) -> None:
        """Charge the tokens a run used, as the model reported them."""
        await asyncio.to_thread(self.limits.charge, user, usage.total_tokens)
