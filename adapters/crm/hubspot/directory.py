"""The masking directory and the owners, read through HubSpot's list endpoints.

Guarantees: the first directory read (and one every FULL_SYNC_SECONDS, which also drops deleted
records) pages through `/crm/v3/objects/{contacts,companies}` (100 per request, no cap, outside
the search limit), never through search, whose 10,000-result cap would hide records. Later reads
ask search only for what changed since the newest modification seen, less an overlap for
HubSpot's indexing delay: two requests when nothing changed, instead of 1,200 for an account of
100,000 contacts and 20,000 companies. When more changed than one search may return, it falls
back to the full read. Owners come from `/crm/v3/owners` with their e-mails and team names, so
people can be matched to Slack users by e-mail.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

from adapters.crm.base import DirectoryEntry, Owner
from adapters.crm.hubspot.calls import SEARCH_CAP, SEARCH_PAGE, Calls, flt
from adapters.crm.hubspot.mapping import ALIASES, MODIFIED, HsObject, split_aliases, to_millis

CONTACT_PROPERTIES = ("firstname", "lastname", "email", "phone", "mobilephone", ALIASES, "lastmodifieddate")
COMPANY_PROPERTIES = ("name", "phone", "hs_lastmodifieddate")
FULL_SYNC_SECONDS = 6 * 3600
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
OVERLAP = timedelta(minutes=2)  # search sees a change a few seconds after it is made


class Directory:
    """Reads every contact's and company's identifying values (kept, then refreshed), and the owners."""

    def __init__(self, calls: Calls, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.calls = calls
        self._clock = clock
        self._entries: dict[tuple[str, int], DirectoryEntry] = {}
        self._watermark: dict[str, object] = {}
        self._synced_at: float | None = None
        self._lock = threading.Lock()

    def entries(self) -> Iterator[DirectoryEntry]:
        with self._lock:
            now = self._clock()
            if self._synced_at is None or now - self._synced_at >= FULL_SYNC_SECONDS or not self._refresh():
                self._full()
                self._synced_at = now
            return iter(list(self._entries.values()))

    def _full(self) -> None:
        entries: dict[tuple[str, int], DirectoryEntry] = {}
        for object_type, properties in (("contacts", CONTACT_PROPERTIES), ("companies", COMPANY_PROPERTIES)):
            newest = None
            for obj in self._all(object_type, properties):
                entry = _entry(obj)
                if entry:
                    entries[(entry.kind, entry.id)] = entry
                newest = max(newest or obj.updated_at, obj.updated_at)
            self._watermark[object_type] = newest
        self._entries = entries

    def _refresh(self) -> bool:
        """Apply what changed since the last read; False when a full read is needed instead."""
        for object_type, properties in (("contacts", CONTACT_PROPERTIES), ("companies", COMPANY_PROPERTIES)):
            # Nothing there at the last read: everything there now is new.
            since = self._watermark.get(object_type) or EPOCH + OVERLAP
            modified = MODIFIED.get(object_type, "hs_lastmodifieddate")
            group = [flt(modified, "GTE", to_millis(since - OVERLAP))]  # type: ignore[operator]
            after: int | None = 0
            while after is not None:
                if after + SEARCH_PAGE > SEARCH_CAP:
                    return False
                objects, _total, after = self.calls.search(object_type, [group], properties, after=after,
                                                           sorts=[{"propertyName": modified, "direction": "ASCENDING"}])
                for obj in objects:
                    entry = _entry(obj)
                    if entry:
                        self._entries[(entry.kind, entry.id)] = entry
                    self._watermark[object_type] = max(self._watermark.get(object_type) or obj.updated_at,  # type: ignore[type-var]
                                                       obj.updated_at)
        return True

    def _all(self, object_type: str, properties: tuple[str, ...]) -> Iterator[HsObject]:
        after: str | None = None
        while True:
            objects, after = self.calls.page(object_type, properties, after)
            yield from objects
            if after is None:
                return

    def owners(self) -> list[Owner]:
        found = []
        for o in self.calls.owners():
            name = " ".join(p for p in (o.get("firstName"), o.get("lastName")) if p) or (o.get("email") or str(o["id"]))
            teams = tuple(t["name"] for t in (o.get("teams") or ()) if t.get("name"))
            found.append(Owner(id=str(o["id"]), name=name, email=o.get("email") or None, teams=teams))
        return found


def _entry(obj: HsObject) -> DirectoryEntry | None:
    p = obj.properties
    if obj.type == "contacts":
        name = f"{p.get('firstname') or ''} {p.get('lastname') or ''}".strip()
        names = tuple(n for n in (name, *split_aliases(p.get(ALIASES))) if n)
        phones = tuple(v for v in (p.get("phone"), p.get("mobilephone")) if v)
        return DirectoryEntry("contact", obj.id, names, (p["email"],) if p.get("email") else (), phones)
    if not p.get("name"):
        return None
    return DirectoryEntry("company", obj.id, (p["name"],), (), (p["phone"],) if p.get("phone") else ())  # type: ignore[arg-type]
