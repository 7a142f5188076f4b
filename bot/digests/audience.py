"""What every reader of a digest's channel may see: the scope a digest's CRM sections are built in.

A digest is read by every human member of its channel, so it may carry only records all of them
may read: the owners every member sees (a member who sees everything does not narrow it), and
records without an owner only when every member sees those. A member the door refuses (a guest, a
stranger) sees nothing, so the digest then carries no CRM record at all. A membership that cannot
be read (an error, an empty list, a channel named "#name" rather than by id) counts as a reader who
sees nothing: fail closed. Membership is read at every run, never kept from an earlier one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable

from bot.access.scope import Scope
from bot.access.service import Access

NOTHING = Scope(frozenset(), unowned=False)


class AudienceUnavailable(Exception):
    """The channel's members cannot be asked at all (Slack refuses the token or is unreachable)."""


def shared(scopes: Iterable[Scope]) -> Scope:
    """The records every one of these scopes sees (everything for no scope at all)."""
    owners: frozenset[str] | None = None
    unowned = True
    for scope in scopes:
        unowned = unowned and scope.unowned
        if scope.owners is not None:
            owners = scope.owners if owners is None else owners & scope.owners
    return Scope(owners, unowned)


class ChannelAudience:
    """`await audience(channel)`: the scope every human member of the channel shares, read now.

    `members` answers a channel's member ids (empty when unknown); the bot's own id is left out.
    """

    def __init__(self, access: Access, members: Callable[[str], Awaitable[Collection[str]]], *,
                 bot_user_id: str = "") -> None:
        self._access, self._members, self._bot = access, members, bot_user_id

    async def __call__(self, channel: str) -> Scope:
        members = set(await self._members(channel)) - {self._bot}
        if not members:
            return NOTHING
        scopes = []
        for user_id in sorted(members):
            scope = await self._access.scope_of(user_id)
            if scope is None:
                person = await self._access.people.get(user_id)
                if person is not None and person.profile.bot:
                    continue  # another app in the channel: not a reader
                return NOTHING  # refused by the door: may read no record
            scopes.append(scope)
        return shared(scopes) if scopes else NOTHING
