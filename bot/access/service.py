"""Access: the door, the roles and the scopes together, for every entry point (Slack and the terminal).

`admit()` answers who is asking and whether they may come in; `scope()` which records they may
read; `audience()` what every member of a conversation may read, so that what is posted where
several people read it carries only records all of them may see.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from bot.access import door
from bot.access.people import People, Person
from bot.access.roles import Grant, Roles
from bot.access.scope import Scope
from bot.access.settings import AccessSection


@dataclass(frozen=True)
class Admitted:
    person: Person
    grant: Grant
    scope: Scope

    @property
    def user_id(self) -> str:
        return self.person.user_id


@dataclass(frozen=True)
class Refused:
    reason: str  # for the audit log and the operator
    message: str = door.REFUSAL  # for the person


class Access:
    """Admissions are cached as long as the profiles they come from ([people].cache_seconds)."""

    def __init__(self, people: People, settings: AccessSection, *, home_teams: Collection[str] = (),
                 ttl: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.people, self._settings, self._roles = people, settings, Roles(settings)
        self._home_teams = frozenset(home_teams)
        self._ttl, self._clock = ttl, clock
        self._admitted: dict[str, tuple[float, Admitted | Refused]] = {}

    def forget(self, user_id: str) -> None:
        """Drop what is known of a person (their profile changed in Slack)."""
        self.people.forget(user_id)
        self._admitted.pop(user_id, None)

    async def admit(self, user_id: str, *, user_team: str | None = None,
                    channel_shared: bool = False) -> Admitted | Refused:
        """Who is asking and whether they may come in: the person is checked from the cache (as fresh
        as the profile cache); where they ask from (team of the event, shared channel) every time."""
        known = await self._admission(user_id)
        if isinstance(known, Refused):
            return known
        reason = door.refusal(known.person, self._settings, home_teams=self._home_teams, user_team=user_team,
                              channel_shared=channel_shared)
        return known if reason is None else Refused(reason)

    async def _admission(self, user_id: str) -> Admitted | Refused:
        now = self._clock()
        cached = self._admitted.get(user_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        person = await self.people.get(user_id)
        reason = door.refusal(person, self._settings, home_teams=self._home_teams)
        result: Admitted | Refused
        if reason is not None or person is None:
            result = Refused(reason or "unknown user")
        else:
            grant = self._roles.of(person.user_id, person.groups)
            result = Admitted(person, grant, await self.scope(person, grant))
        self._admitted[user_id] = (now, result)
        return result

    def grant(self, person: Person) -> Grant:
        return self._roles.of(person.user_id, person.groups)

    async def scope(self, person: Person, grant: Grant | None = None) -> Scope:
        grant = grant or self.grant(person)
        unowned = self._settings.unowned
        if grant.see == "all":
            return Scope(None, unowned)
        own = {person.owner.id} if person.owner is not None else set()
        if grant.see == "own":
            return Scope(frozenset(own), unowned)
        groups = await self.people.groups()
        teammates = {member for name in person.groups for member in groups.get(name, ())}
        return Scope(frozenset(own | await self.people.owner_ids_of(teammates)), unowned)

    async def scope_of(self, user_id: str) -> Scope | None:
        """The scope of a user who passes the door (None for anyone it refuses)."""
        admitted = await self._admission(user_id)
        return admitted.scope if isinstance(admitted, Admitted) else None

    async def everyone_sees(self, user_ids: Iterable[str], owners: Collection[str | None]) -> bool:
        """True when every human member may read records of all these (effective) owners.

        Bots are not readers; a member the door refuses (a guest, say) may read no record at all.
        """
        if not owners:
            return True
        wanted = set(owners)
        for user_id in user_ids:
            scope = await self.scope_of(user_id)
            if scope is not None and scope.sees_all(wanted):
                continue
            person = await self.people.get(user_id)
            if person is not None and person.profile.bot:
                continue  # bots are not readers
            return False
        return True
