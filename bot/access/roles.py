"""Roles: what a person may see (`own`, `team`, `all`) and do (propose, digests, audit), from [access]."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.access.settings import AccessSection, Visibility


@dataclass(frozen=True)
class Grant:
    """A person's role and what it allows."""

    role: str
    see: Visibility
    propose: bool
    digests: bool
    audit: bool

    def rights(self) -> list[str]:
        """The rights in words, for `access check` and refusals."""
        return [right for right, on in (("propose changes", self.propose), ("manage digests", self.digests),
                                        ("read audit trails", self.audit)) if on]


class Roles:
    """Finds a person's role: the first role of [access.members] that lists them (by id or group), else the default."""

    def __init__(self, access: AccessSection) -> None:
        self._access = access

    def of(self, user_id: str, groups: Iterable[str]) -> Grant:
        keys = {user_id, *(f"group:{g}" for g in groups)}
        name = next((role for role, members in self._access.members.items() if keys & set(members)),
                    self._access.default_role)
        role = self._access.roles[name]
        return Grant(name, role.see, role.propose, role.digests, role.audit)
