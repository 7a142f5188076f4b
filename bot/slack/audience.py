"""Who reads what is posted where: an answer in a channel may carry only records every member may see.

Membership is read from Slack at the moment of posting (see Members). A membership Slack does not
tell (an error, an empty list) counts as "not everyone": the answer then goes to the asker alone.
"""

from __future__ import annotations

from collections.abc import Collection

from bot.access.service import Access
from bot.slack.members import Members


class Audience:
    def __init__(self, access: Access, members: Members, *, bot_user_id: str) -> None:
        self._access, self._members, self._bot = access, members, bot_user_id

    async def everyone_may_read(self, channel: str, owners: Collection[str | None]) -> bool:
        """May every human member of the channel read records of these (effective) owners?"""
        if not owners or channel.startswith("D"):
            return True  # nothing from the CRM, or a DM: the asker is the only reader
        members = await self._members.of(channel)
        if not members:
            return False  # unknown: fail closed
        return await self._access.everyone_sees(members - {self._bot}, owners)
