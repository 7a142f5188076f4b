"""Scopes: which CRM records one person may read, as a set of owners.

A record is visible when its owner is in the scope; a record without an owner follows its parent
(an activity's deal or company, a ticket's company, a contact's company) and, with no owner
anywhere, `[access].unowned`. The same rule decides what the agent may read for a person, what
`/crm find`, the App Home and digests show, and whether an approver may see the record.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    """owners is None for "every record"; otherwise the owner ids whose records are visible."""

    owners: frozenset[str] | None
    unowned: bool = True

    @classmethod
    def everything(cls) -> Scope:
        return cls(None, True)

    @property
    def unrestricted(self) -> bool:
        return self.owners is None

    def sees(self, owner: str | None) -> bool:
        """May a record with this (effective) owner be read?"""
        if self.owners is None:
            return True
        return self.unowned if owner is None else owner in self.owners

    def sees_all(self, owners: set[str | None] | frozenset[str | None]) -> bool:
        return all(self.sees(owner) for owner in owners)
