"""Lists filtered by several records at once (`company_ids`, `contact_ids`), in as few searches as fit.

Scoring a digest's fifty accounts one by one cost HubSpot a search per account and list, and the
search endpoint allows about four requests a second. Here each record's filter groups are packed
into as few searches as HubSpot takes (it ORs at most 5 filter groups of at most 6 filters, 18
filters in all), so five accounts share one search.

Guarantees: a record matches exactly when the single-record filter would match it; a search answer
does not say which group matched, so one association batch per 100 results reads each result's
companies (or contacts), and a result linked to several of the records asked for is listed once per
record, carrying that record's id (as the CrmAdapter protocol says). Counts and totals count each
matching object once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, datetime, timezone
from typing import Any

from adapters.crm.base import ActivityFilter, DealFilter, Record, RecordKind, TicketFilter
from adapters.crm.hubspot import filters
from adapters.crm.hubspot.calls import Calls, Filter, flt
from adapters.crm.hubspot.mapping import ACTIVITY_TYPES, SLA_PROPERTY, HsObject, Stages, to_millis, to_record

MAX_GROUPS = 5  # HubSpot's search limits
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18

Groups = list[list[Filter]]
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def pack(per_id: Sequence[tuple[int, Groups]]) -> list[tuple[list[int], Groups]]:
    """The records' filter groups packed into searches HubSpot accepts, in the records' order."""
    packed: list[tuple[list[int], Groups]] = []
    ids: list[int] = []
    groups: Groups = []
    count = 0
    for record_id, own in per_id:
        size = sum(len(g) for g in own)
        if len(own) > MAX_GROUPS or size > MAX_FILTERS or any(len(g) > MAX_FILTERS_PER_GROUP for g in own):
            raise ValueError("one record's filter is larger than one HubSpot search takes")
        if ids and (len(groups) + len(own) > MAX_GROUPS or count + size > MAX_FILTERS):
            packed.append((ids, groups))
            ids, groups, count = [], [], 0
        ids.append(record_id)
        groups = groups + own
        count += size
    if ids:
        packed.append((ids, groups))
    return packed


def matching(search: Callable[[Groups], list[Any]], packed: Sequence[tuple[list[int], Groups]]) -> list[Any]:
    """Every object any packed search finds, once each, in the order found."""
    found: dict[int, Any] = {}
    for _ids, groups in packed:
        for obj in search(groups):
            found.setdefault(obj.id, obj)
    return list(found.values())


def each_match(calls: Calls, object_type: str, to_type: str, objects: Sequence[Any],
               wanted: Sequence[int]) -> Iterator[tuple[Any, int]]:
    """(object, record id) for every object and every wanted record (of to_type) it is linked to."""
    links = calls.associated(object_type, to_type, [o.id for o in objects]) if objects else {}
    asked = set(wanted)
    for obj in objects:
        for record_id in links.get(obj.id, ()):
            if record_id in asked:
                yield obj, record_id


class ManyLists:
    """The lists of HubSpotCrm for several records at once; `search_list(type, groups, sort,
    direction, limit)` is the adapter's paged search."""

    def __init__(self, calls: Calls, stages: Stages, search_list: Callable[..., list[HsObject]],
                 pool: ThreadPoolExecutor) -> None:
        self.calls, self.stages, self._search_list, self._pool = calls, stages, search_list, pool

    def deals(self, f: DealFilter, limit: int) -> list[Record]:
        objects = matching(lambda g: self._search_list("deals", g, "closedate", "ASCENDING", limit), self._deal_packs(f))
        deals = self._of_many("deal", "deals", objects, "companies", f.company_ids or (), ("contacts",))
        deals.sort(key=lambda d: (d.close_date is None, d.close_date or date.min, d.id))  # type: ignore[union-attr]
        return deals[:limit]

    def deal_objects(self, f: DealFilter, properties: Sequence[str]) -> list[HsObject]:
        """Every deal of the filter, once each (for counts and totals)."""
        return matching(lambda g: list(self.calls.search_all("deals", g, properties)), self._deal_packs(f))

    def tickets(self, f: TicketFilter, limit: int) -> list[Record]:
        packs = _packs(f.company_ids or (), lambda c: filters.ticket_groups(
            replace(f, company_ids=None, company_id=c), self.stages))
        objects = matching(lambda g: self._search_list("tickets", g, SLA_PROPERTY, "ASCENDING", limit), packs)
        tickets = self._of_many("ticket", "tickets", objects, "companies", f.company_ids or (), ("contacts",))
        tickets.sort(key=lambda t: (t.sla_due_at is None, t.sla_due_at or _EPOCH, t.id))  # type: ignore[union-attr]
        return tickets[:limit]

    def activities(self, f: ActivityFilter, limit: int) -> list[Record]:
        if f.company_ids is not None and f.contact_ids is not None:
            raise ValueError("HubSpot lists activities of several companies or of several contacts, not both")
        prop, to_type, wanted = (("associations.company", "companies", f.company_ids) if f.company_ids is not None
                                 else ("associations.contact", "contacts", f.contact_ids))
        base = [flt(p, "EQ", v) for p, v in (("associations.company", f.company_id),
                                             ("associations.contact", f.contact_id),
                                             ("associations.deal", f.deal_id)) if v]
        if f.since:
            base.append(flt("hs_timestamp", "GTE", to_millis(f.since)))
        packs = _packs(wanted or (), lambda i: [[*base, flt(prop, "EQ", i)]])
        found: list[Record] = []
        for kind in f.kinds or tuple(ACTIVITY_TYPES):
            object_type = ACTIVITY_TYPES[kind]
            objects = matching(lambda g, t=object_type: self._search_list(t, g, "hs_timestamp", "DESCENDING", limit),
                               packs)
            found += self._of_many("activity", object_type, objects, to_type, wanted or (), ())
        found.sort(key=lambda a: (a.occurred_at, a.id), reverse=True)  # type: ignore[union-attr]
        return found[:limit]

    def _deal_packs(self, f: DealFilter) -> list[tuple[list[int], Groups]]:
        return _packs(f.company_ids or (), lambda c: filters.deal_groups(
            replace(f, company_ids=None, company_id=c), self.stages))

    def _of_many(self, kind: RecordKind, object_type: str, objects: list[HsObject], to_type: str,
                 wanted: tuple[int, ...], others: tuple[str, ...]) -> list[Record]:
        """A record per object and per wanted record of to_type it is linked to, with that id; the
        first linked object of each type in `others` is read too (one association batch each)."""
        futures = {t: self._pool.submit(self.calls.associated, object_type, t, [o.id for o in objects])
                   for t in others if objects}
        pairs = list(each_match(self.calls, object_type, to_type, objects, wanted))
        links = {t: f.result() for t, f in futures.items()}
        return [to_record(kind, o, self.stages, related={
            to_type: record_id, **{t: ids[0] for t in others if (ids := links[t].get(o.id))}})
            for o, record_id in pairs]


def _packs(ids: tuple[int, ...], groups_of: Callable[[int], Groups]) -> list[tuple[list[int], Groups]]:
    """Searches for the records' filters together (none when no record, or when the filter
    matches nothing whatever the record)."""
    try:
        return pack([(i, groups_of(i)) for i in dict.fromkeys(ids)])
    except filters.NothingMatches:
        return []
