"""The masking directory and the owners, read through HubSpot's list endpoints.

Guarantees: the directory pages through `/crm/v3/objects/{contacts,companies}` (100 per request,
no cap, outside the search limit), never through search, whose 10,000-result cap would hide
records; owners come from `/crm/v3/owners` with their e-mails and team names, so people can be
matched to Slack users by e-mail.
"""

from __future__ import annotations

from collections.abc import Iterator

from adapters.crm.base import DirectoryEntry, Owner
from adapters.crm.hubspot.calls import Calls
from adapters.crm.hubspot.mapping import ALIASES, split_aliases

CONTACT_PROPERTIES = ("firstname", "lastname", "email", "phone", "mobilephone", ALIASES)
COMPANY_PROPERTIES = ("name", "phone")


class Directory:
    """Reads every contact's and company's identifying values, and the owners."""

    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    def entries(self) -> Iterator[DirectoryEntry]:
        for obj in self._all("contacts", CONTACT_PROPERTIES):
            p = obj.properties
            name = f"{p.get('firstname') or ''} {p.get('lastname') or ''}".strip()
            names = tuple(n for n in (name, *split_aliases(p.get(ALIASES))) if n)
            phones = tuple(v for v in (p.get("phone"), p.get("mobilephone")) if v)
            yield DirectoryEntry("contact", obj.id, names, (p["email"],) if p.get("email") else (), phones)
        for obj in self._all("companies", COMPANY_PROPERTIES):
            p = obj.properties
            if p.get("name"):
                yield DirectoryEntry("company", obj.id, (p["name"],), (), (p["phone"],) if p.get("phone") else ())

    def _all(self, object_type: str, properties: tuple[str, ...]):  # type: ignore[no-untyped-def]
        after: str | None = None
        while True:
            objects, after = self.calls.page(object_type, properties, after)
            yield from objects
            if after is None:
                return

    def owners(self) -> list[Owner]:
        found = []
        for o in self.calls.owners():
            name = " ".join(p for p in (o.first_name, o.last_name) if p) or (o.email or str(o.id))
            teams = tuple(t.name for t in (o.teams or ()) if t.name)
            found.append(Owner(id=str(o.id), name=name, email=(o.email or None), teams=teams))
        return found
