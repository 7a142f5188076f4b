"""People: a Slack user id resolved to who they are, what groups they are in, and whose CRM records are theirs.

Slack profiles come from a `UserSource` (users.info in Slack, a fixed table in the terminal) and
are cached for `[people].cache_seconds`; `forget()` drops one when Slack says it changed
(`user_change`). A person's CRM owner identity is the CRM owner with the same e-mail
(case-insensitive), so nobody is mapped to records by a name that merely looks alike. Groups come
from `[people.groups]` and, where configured, from Slack user groups.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from adapters.crm.base import Owner


@dataclass(frozen=True)
class Profile:
    """What Slack says about a user (users.info)."""

    user_id: str
    name: str
    email: str | None = None
    tz: str | None = None
    team_id: str | None = None
    guest: bool = False  # is_restricted or is_ultra_restricted
    stranger: bool = False  # is_stranger: a Slack Connect user of another organisation
    bot: bool = False
    deleted: bool = False


@dataclass(frozen=True)
class Person:
    """A profile with the person's groups and CRM owner identity (None when no owner has their e-mail)."""

    profile: Profile
    groups: frozenset[str]
    owner: Owner | None

    @property
    def user_id(self) -> str:
        return self.profile.user_id

    @property
    def name(self) -> str:
        return self.profile.name


class UserSource(Protocol):
    async def profile(self, user_id: str) -> Profile | None:
        """The user's profile; None when the user does not exist (or cannot be looked up)."""
        ...

    async def group_members(self, handle: str) -> frozenset[str]:
        """Members of a Slack user group by handle; empty when unknown."""
        ...


class People:
    """Cached look-ups of people; everything the door, the roles and the names on cards need."""

    def __init__(self, source: UserSource, owners: Callable[[], Iterable[Owner]], *,
                 groups: Mapping[str, tuple[str, ...]], slack_groups: Mapping[str, str] | None = None,
                 ttl: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._source, self._load_owners, self._ttl, self._clock = source, owners, ttl, clock
        self._static_groups = {name: frozenset(members) for name, members in groups.items()}
        self._slack_groups = dict(slack_groups or {})
        self._profiles: dict[str, tuple[float, Profile | None]] = {}
        self._group_cache: tuple[float, dict[str, frozenset[str]]] | None = None
        self._owners_by_email: dict[str, Owner] | None = None
        self._owners_by_id: dict[str, Owner] = {}

    async def get(self, user_id: str) -> Person | None:
        """The person, or None when Slack does not know the user."""
        profile = await self._profile(user_id)
        if profile is None:
            return None
        groups = await self.groups()
        owner = await self._owner_for(profile.email)
        return Person(profile, frozenset(name for name, members in groups.items() if user_id in members), owner)

    def forget(self, user_id: str) -> None:
        """Drop a cached profile (its user changed in Slack)."""
        self._profiles.pop(user_id, None)

    async def groups(self) -> dict[str, frozenset[str]]:
        """Every group and its members: app.toml's, plus Slack user groups (cached like profiles)."""
        if not self._slack_groups:
            return self._static_groups
        now = self._clock()
        if self._group_cache is None or now - self._group_cache[0] >= self._ttl:
            merged = dict(self._static_groups)
            for name, handle in self._slack_groups.items():
                members = await self._source.group_members(handle.lstrip("@"))
                merged[name] = merged.get(name, frozenset()) | members
            self._group_cache = (now, merged)
        return self._group_cache[1]

    async def owner_ids_of(self, user_ids: Iterable[str]) -> frozenset[str]:
        """The CRM owner ids of these Slack users (those who have one)."""
        found = set()
        for user_id in user_ids:
            profile = await self._profile(user_id)
            owner = await self._owner_for(profile.email if profile else None)
            if owner is not None:
                found.add(owner.id)
        return frozenset(found)

    async def owner(self, owner_id: str | None) -> Owner | None:
        """A CRM owner by id, for showing names instead of ids."""
        if owner_id is None:
            return None
        await self._owners()
        return self._owners_by_id.get(owner_id)

    async def owner_names(self) -> dict[str, str]:
        """CRM owner id -> name, for showing owners by name."""
        await self._owners()
        return {owner_id: owner.name for owner_id, owner in self._owners_by_id.items()}

    async def _profile(self, user_id: str) -> Profile | None:
        cached = self._profiles.get(user_id)
        now = self._clock()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        profile = await self._source.profile(user_id)
        self._profiles[user_id] = (now, profile)
        return profile

    async def _owner_for(self, email: str | None) -> Owner | None:
        if not email:
            return None
        return (await self._owners()).get(email.strip().lower())

    async def _owners(self) -> dict[str, Owner]:
        if self._owners_by_email is None:
            owners = await asyncio.to_thread(lambda: list(self._load_owners()))
            self._owners_by_id = {o.id: o for o in owners}
            self._owners_by_email = {o.email.strip().lower(): o for o in owners if o.email}
        return self._owners_by_email


class FixedUsers:
    """A UserSource from a fixed table: the terminal's (no Slack) and the tests'."""

    def __init__(self, profiles: Iterable[Profile] = (), groups: Mapping[str, Iterable[str]] | None = None,
                 *, unknown_is_member: bool = False) -> None:
        self._profiles = {p.user_id: p for p in profiles}
        self._groups = {handle: frozenset(members) for handle, members in (groups or {}).items()}
        self._unknown_is_member = unknown_is_member

    async def profile(self, user_id: str) -> Profile | None:
        if user_id in self._profiles:
            return self._profiles[user_id]
        return Profile(user_id, user_id) if self._unknown_is_member else None

    async def group_members(self, handle: str) -> frozenset[str]:
        return self._groups.get(handle, frozenset())
