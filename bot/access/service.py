"""Access: the door, the roles and the scopes together, for every entry point (Slack and the terminal).

`admit()` answers who is asking and whether they may come in; `scope()` which records they may
read; `audience()` what every member of a conversation may read, so that what is posted where
several people read it carries only records all of them may see.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
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
    def __init__(self, people: People, settings: AccessSection, *, home_teams: Collection[str] = ()) -> None:
        self.people, self._settings, self._roles = people, settings, Roles(settings)
        self._home_teams = frozenset(home_teams)

    def with_home_teams(self, teams: Iterable[str]) -> Access:
        """The same access rules for a bot installed in these teams (known after auth.test)."""
        return Access(self.people, self._settings, home_teams={*teams, *self._settings.allowed_teams})

    async def admit(self, user_id: str, *, user_team: str | None = None,
                    channel_shared: bool = False) -> Admitted | Refused:
        person = await self.people.get(user_id)
        reason = door.refusal(person, self._settings, home_teams=self._home_teams, user_team=user_team,
                              channel_shared=channel_shared)
        if reason is not None or person is None:
            return Refused(reason or "unknown user")
        grant = self._roles.of(person.user_id, person.groups)
        return Admitted(person, grant, await self.scope(person, grant))

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
        """The scope of a user who passes the door; None for anyone the door refuses."""
        admitted = await self.admit(user_id)
        return admitted.scope if isinstance(admitted, Admitted) else None

    async def everyone_sees(self, user_ids: Iterable[str], owners: Collection[str | None]) -> bool:
        """True when every human member may read records of all these (effective) owners.

        Bots are not readers; a member the door refuses (a guest, say) may read no record at all.
        """
        if not owners:
            return True
        for user_id in user_ids:
            person = await self.people.get(user_id)
            if person is not None and person.profile.bot:
                continue
            scope = await self.scope_of(user_id)
            if scope is None or not scope.sees_all(set(owners)):
                return False
        return True
