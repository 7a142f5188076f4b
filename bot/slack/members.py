"""Channel membership and sharing, read from Slack when a decision needs them.

Membership decides the `channel_members` approval rule and who reads an answer posted in a
channel, so it must be current: it is cached only between Slack's `member_joined_channel` /
`member_left_channel` events for that channel (the listener calls `forget`), and for at most `ttl`
seconds in any case. Whether a channel is shared with another organisation comes from
conversations.info, cached the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.actions.policy import ChannelMembers


class Members:
    """conversations.members (paginated) and conversations.info, each cached per channel."""

    def __init__(self, client: AsyncWebClient, *, ttl: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client, self._ttl, self._clock = client, ttl, clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._shared: dict[str, tuple[float, bool]] = {}

    def forget(self, channel: str) -> None:
        """Someone joined or left: the next question about this channel asks Slack again."""
        self._cache.pop(channel, None)
        self._shared.pop(channel, None)

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

    async def is_shared(self, channel: str | None) -> bool:
        """True when the channel is shared with another organisation; unknown channels count as shared."""
        if not channel or channel.startswith("D"):
            return False  # a DM with the bot (whoever the other party is, the door checks them)
        cached = self._shared.get(channel)
        if cached and self._clock() - cached[0] < self._ttl:
            return cached[1]
        try:
            info = (await self._client.conversations_info(channel=channel)).get("channel") or {}
        except SlackApiError:
            return True  # cannot tell: fail closed
        shared = bool(info.get("is_ext_shared") or info.get("is_pending_ext_shared"))
        self._shared[channel] = (self._clock(), shared)
        return shared

    async def checker(self, channel: str | None) -> ChannelMembers:
        """A synchronous membership test for the approval policy, answered from one lookup."""
        members = await self.of(channel) if channel else frozenset()
        return lambda ch, user: ch == channel and user in members

    async def checker_for(self, channels: set[str]) -> ChannelMembers:
        """One membership test covering several channels (for lists such as the App Home)."""
        members = {channel: await self.of(channel) for channel in channels}
        return lambda ch, user: user in members.get(ch, frozenset())
