"""Channel membership for the `channel_members` approval rule, read from Slack and cached briefly."""

from __future__ import annotations

import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions.policy import ChannelMembers


class Members:
    """conversations.members, paginated, cached per channel for `ttl` seconds."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client, self._ttl, self._clock = client, ttl, clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}

    async def of(self, channel: str) -> frozenset[str]:
        cached = self._cache.get(channel)
        if cached and self._clock() - cached[0] < self._ttl:
            return cached[1]
        members: set[str] = set()
        cursor = None
        try:
            while True:
                response = await self._client.conversations_members(channel=channel, cursor=cursor, limit=200)
                members.update(response.get("members", []))
                cursor = (response.get("response_metadata") or {}).get("next_cursor")
                if not cursor:
                    break
        except SlackApiError:
            return frozenset()  # unknown membership: the rule simply does not match
        found = frozenset(members)
        self._cache[channel] = (self._clock(), found)
        return found

    async def checker(self, channel: str | None) -> ChannelMembers:
        """A synchronous membership test for the approval policy, answered from one lookup."""
        members = await self.of(channel) if channel else frozenset()
        return lambda ch, user: ch == channel and user in members

    async def checker_for(self, channels: set[str]) -> ChannelMembers:
        """One membership test covering several channels (for lists such as the App Home)."""
        members = {channel: await self.of(channel) for channel in channels}
        return lambda ch, user: user in members.get(ch, frozenset())
