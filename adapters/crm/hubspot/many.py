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
from typing import Any

from adapters.crm.hubspot.calls import Calls, Filter

MAX_GROUPS = 5  # HubSpot's search limits
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18

Groups = list[list[Filter]]


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
